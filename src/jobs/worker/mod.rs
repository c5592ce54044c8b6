//! Job workers: claim a job under a lease, keep the lease while the job runs,
//! and give the job back (at once, or after a delay when the database or the
//! blob store failed for a while) when a step fails.
//!
//! Every step is recorded, so a job whose worker died resumes where it stopped
//! once its lease expires: [`pipeline`] moves one job through its statuses,
//! [`outcome`] writes one document's result, charge and event.

mod outcome;
mod pipeline;

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::db;
use crate::state::AppState;
use crate::transient;

/// Delays for jobs put back after a passing failure.
static BACKOFF: std::sync::LazyLock<transient::Backoff> =
    std::sync::LazyLock::new(transient::Backoff::default);

/// What one call of [`try_run_one`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Processed,
    Idle,
}

/// Starts `workers` loops that process jobs until `token` is cancelled.
pub fn spawn(state: &AppState, token: &CancellationToken, tracker: &TaskTracker) {
    for n in 0..state.settings.workers {
        let state = state.clone();
        let token = token.clone();
        let owner = format!("job-{}-{n}", uuid::Uuid::new_v4().simple());
        tracker.spawn(async move {
            loop {
                if token.is_cancelled() {
                    break;
                }
                // The job in hand is finished even when shutdown starts meanwhile.
                let outcome = try_run_one(&state, &owner).await;
                let pause = match outcome {
                    Ok(Outcome::Processed) => continue,
                    Ok(Outcome::Idle) => Duration::from_millis(500),
                    Err(e) => {
                        tracing::error!(error.cause_chain = ?e, "job worker step failed");
                        Duration::from_secs(1)
                    }
                };
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = state.jobs_ready.notified() => {}
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        });
    }
}

/// Claims and processes one job, if any is waiting.
pub async fn try_run_one(state: &AppState, owner: &str) -> anyhow::Result<Outcome> {
    let lease_ms = state.settings.job_lease.as_millis() as i64;
    let Some(job) = db::jobs::claim_next(&state.db, owner, lease_ms).await? else {
        return Ok(Outcome::Idle);
    };
    let span = tracing::info_span!("job", job_id = %job.id, claims = job.claims);
    let lost = CancellationToken::new();
    let heartbeat = tokio::spawn(keep_lease(
        state.clone(),
        job.id.clone(),
        owner.to_string(),
        lost.clone(),
    ));
    let result = pipeline::process(state, owner, &job, &lost)
        .instrument(span)
        .await;
    heartbeat.abort();
    match &result {
        Ok(()) => BACKOFF.succeeded(&job.id),
        Err(e) if transient::is_transient(e) => {
            let wait = BACKOFF.failed(&job.id);
            tracing::warn!(job_id = %job.id, error.cause_chain = ?e, retry_in_ms = wait.as_millis() as u64,
                "job step met a passing failure; it will be resumed");
            let retry_at = db::now_ms() + wait.as_millis() as i64;
            db::jobs::put_back(&state.db, &job.id, owner, retry_at)
                .await
                .ok();
        }
        Err(e) => {
            tracing::error!(job_id = %job.id, error.cause_chain = ?e, "job step failed; releasing it for a retry");
            db::jobs::release(&state.db, &job.id, owner).await.ok();
        }
    }
    result.map(|_| Outcome::Processed)
}

async fn keep_lease(state: AppState, job_id: String, owner: String, lost: CancellationToken) {
    let lease = state.settings.job_lease;
    loop {
        tokio::time::sleep(lease / 3).await;
        match db::jobs::renew_lease(&state.db, &job_id, &owner, lease.as_millis() as i64).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job_id, "lease lost; another worker owns the job now");
                lost.cancel();
                return;
            }
            Err(e) => tracing::warn!(job_id, error = %e, "lease renewal failed"),
        }
    }
}
