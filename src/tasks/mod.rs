//! Background tasks a client asks for and follows by id (SPEC §4: a
//! destination's `recover`). Each is stored before it is answered, worked by
//! one process at a time under a lease, and advanced in steps that record
//! their progress with their effect, so a restart resumes a task where it
//! stood and repeats nothing.

mod runner;

use serde::Serialize;
use utoipa::ToSchema;

use sea_orm::DatabaseConnection;

use crate::db::{self, entities::tasks, rfc3339, DbError};
use crate::types::{AccountId, DestinationId, TaskId, TaskStatus};
use crate::wake::Wake;

pub use runner::{run, try_run_step};

/// What `recover` tasks are called in the table.
const RECOVER: &str = "recover";

/// A task as clients follow it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    #[schema(value_type = String, example = "tsk_0193c2b8a1f37c2e9d4b5a6f7e8d9c0b")]
    pub task_id: TaskId,
    /// What it does: `recover`.
    pub kind: String,
    #[schema(value_type = String, example = "running")]
    pub status: TaskStatus,
    /// Items it covers (for `recover`: the failed deliveries in the window when it was asked for).
    pub total: i64,
    /// Items handled so far.
    pub done: i64,
    #[schema(value_type = String)]
    pub destination_id: DestinationId,
    pub since: String,
    pub until: Option<String>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<tasks::Model> for TaskView {
    fn from(t: tasks::Model) -> Self {
        Self {
            task_id: t.id,
            kind: t.kind,
            status: t.status,
            total: t.total,
            done: t.done,
            destination_id: t.destination_id,
            since: rfc3339(t.since),
            until: t.until.map(rfc3339),
            error: t.error,
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
        }
    }
}

/// The tasks of every account.
#[derive(Clone)]
pub struct Tasks {
    db: DatabaseConnection,
    /// Wakes the runners (in any process, on PostgreSQL) when a task is stored.
    ready: Wake,
    /// Wakes the delivery dispatchers when a step queued deliveries.
    deliveries_ready: Wake,
}

impl Tasks {
    pub fn new(db: DatabaseConnection, ready: Wake, deliveries_ready: Wake) -> Self {
        Self {
            db,
            ready,
            deliveries_ready,
        }
    }

    /// Stores a task that queues again every failed delivery of
    /// `destination_id` created in `[since, until)`; `Err(Ok(task))` when
    /// one of the destination's recoveries has not ended (one at a time, so
    /// that a client repeating the request cannot pile work up).
    pub async fn recover(
        &self,
        account_id: &AccountId,
        destination_id: &DestinationId,
        since: i64,
        until: Option<i64>,
    ) -> Result<Result<TaskView, TaskView>, DbError> {
        if let Some(open) = db::tasks::open_for(&self.db, destination_id).await? {
            return Ok(Err(open.into()));
        }
        let total = db::tasks::count_failed(&self.db, destination_id, since, until).await?;
        let now = db::now_ms();
        let t = tasks::Model {
            id: TaskId::new(),
            account_id: account_id.clone(),
            kind: RECOVER.into(),
            destination_id: destination_id.clone(),
            since,
            until,
            status: TaskStatus::Queued,
            total,
            done: 0,
            cursor_at: None,
            cursor_id: None,
            lease_owner: None,
            lease_expires_at: None,
            error: None,
            created_at: now,
            updated_at: now,
        };
        let t = db::tasks::insert(&self.db, t).await?;
        self.ready.notify_one();
        Ok(Ok(t.into()))
    }

    pub async fn get(
        &self,
        account_id: &AccountId,
        id: &TaskId,
    ) -> Result<Option<TaskView>, DbError> {
        Ok(db::tasks::get(&self.db, account_id, id)
            .await?
            .map(Into::into))
    }
}
