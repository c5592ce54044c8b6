//! Works stored tasks: claims one, advances it a page at a time (each page's
//! effect and the task's progress in one transaction), and renews its lease
//! with every page, so that a process that stops mid-task leaves it to the
//! next one exactly where it stood.

use std::time::Duration;

use sea_orm::TransactionTrait;
use tokio_util::sync::CancellationToken;

use super::Tasks;
use crate::db::{self, entities::tasks, DbError};
use crate::types::TaskStatus;

/// Deliveries queued again per step.
const PAGE: u64 = 200;

/// How long a task stays with its process without a step: long enough for a
/// slow page, short enough that a stopped process's task resumes soon.
const LEASE: Duration = Duration::from_secs(30);

/// How often stored tasks are looked for when no wake-up came.
const POLL: Duration = Duration::from_secs(5);

/// Runs tasks until `token` is cancelled.
pub async fn run(tasks: Tasks, token: CancellationToken) {
    let owner = format!("tsk-{}", uuid::Uuid::new_v4().simple());
    loop {
        let next = match db::tasks::claim(&tasks.db, &owner, LEASE.as_millis() as i64).await {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(error = %e, "looking for tasks failed");
                None
            }
        };
        match next {
            Some(task) => {
                let id = task.id.clone();
                if let Err(e) = work(&tasks, &owner, task, &token).await {
                    // Its lease runs out and it is taken up again from its last step.
                    tracing::warn!(task_id = %id, error = %e, "a task step failed; it resumes later");
                }
                continue;
            }
            None => {
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tasks.ready.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
        }
        if token.is_cancelled() {
            return;
        }
    }
}

/// Advances `task` to its end, or until the process stops or the lease is lost.
async fn work(
    tasks: &Tasks,
    owner: &str,
    mut task: tasks::Model,
    token: &CancellationToken,
) -> Result<(), DbError> {
    tracing::info!(task_id = %task.id, kind = %task.kind, done = task.done, total = task.total, "task running");
    while !token.is_cancelled() {
        match step(tasks, owner, &mut task, PAGE, LEASE).await? {
            Some(TaskStatus::Running) => continue,
            Some(_) => tracing::info!(task_id = %task.id, done = task.done, "task done"),
            None => {
                tracing::warn!(task_id = %task.id, "a task's lease was lost; its new holder goes on")
            }
        }
        return Ok(());
    }
    Ok(())
}

/// Claims a task, if one is waiting, and advances it one step of `page`
/// items, leaving it leased to `owner` for `lease` (for tools and tests:
/// [`run`] is the runner). Returns where the task stands after the step.
pub async fn try_run_step(
    tasks: &Tasks,
    owner: &str,
    page: u64,
    lease: Duration,
) -> Result<Option<TaskStatus>, DbError> {
    let Some(mut task) = db::tasks::claim(&tasks.db, owner, lease.as_millis() as i64).await? else {
        return Ok(None);
    };
    step(tasks, owner, &mut task, page, lease).await
}

/// Queues again the next `page` failed deliveries of the task's window and
/// records how far it got, in one transaction. `None` when the lease was
/// lost: nothing of the step counts.
async fn step(
    tasks: &Tasks,
    owner: &str,
    task: &mut tasks::Model,
    page: u64,
    lease: Duration,
) -> Result<Option<TaskStatus>, DbError> {
    let txn = tasks.db.begin().await?;
    let cursor = task.cursor_at.zip(task.cursor_id.clone());
    let queued = db::tasks::requeue_failed_page(
        &txn,
        &task.destination_id,
        task.since,
        task.until,
        cursor,
        page,
    )
    .await?;
    let status = match queued {
        Some(((at, id), n)) => {
            task.cursor_at = Some(at);
            task.cursor_id = Some(id);
            task.done += n as i64;
            // Failures recorded after it was asked for may add to the window.
            task.total = task.total.max(task.done);
            TaskStatus::Running
        }
        None => {
            task.total = task.done;
            TaskStatus::Done
        }
    };
    let lease_ms = lease.as_millis() as i64;
    if !db::tasks::advance(&txn, task, owner, lease_ms, status).await? {
        return Ok(None);
    }
    txn.commit().await?;
    tasks.deliveries_ready.notify_one();
    Ok(Some(status))
}
