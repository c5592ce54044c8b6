//! Job workers: claim a job under a lease, keep the lease while the job runs,
//! and give the job back (at once, or after a delay when the database or the
//! blob store failed for a while) when a step fails.
//!
//! Every step is recorded, so a job whose worker died resumes where it stopped
//! once its lease expires: [`pipeline`] moves one job through its statuses,
//! [`outcome`] writes one document's result, charge and event.

pub(crate) mod batch_events;
mod choosing;
mod identity;
mod outcome;
mod pipeline;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::{JobError, Jobs};
use crate::backoff::Backoff;
use crate::db;
use crate::stages::Stage;
use crate::types::JobId;

/// What the job workers use: the jobs service (database, blobs, templates,
/// the reader, limits, wake-ups), the lease and the delays of passing failures.
#[derive(Clone)]
pub struct Worker {
    jobs: Jobs,
    /// How long a claim lasts without being renewed.
    lease: Duration,
    /// Delays for jobs put back after a passing failure.
    backoff: Arc<Backoff>,
}

impl Worker {
    pub fn new(jobs: Jobs, lease: Duration) -> Self {
        Self {
            jobs,
            lease,
            backoff: Arc::default(),
        }
    }
}

/// What one call of [`try_run_one`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Processed,
    Idle,
}

/// Starts `workers` loops that process jobs until `token` is cancelled;
/// lease owners are named after `data_dir` (see [`identity`]).
pub fn spawn(
    state: &Worker,
    workers: usize,
    data_dir: &Path,
    token: &CancellationToken,
    tracker: &TaskTracker,
) {
    let identity = identity::of_data_dir(data_dir);
    if let Some(earlier) = identity.earlier {
        let (state, ours) = (state.clone(), format!("{}%", identity.prefix));
        tracker.spawn(async move {
            match db::jobs::free_leases(&state.jobs.db, &earlier, &ours).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(
                        jobs = n,
                        "resuming the jobs this data dir's previous start left"
                    );
                    (0..n).for_each(|_| state.jobs.jobs_ready.notify_one());
                }
                Err(e) => tracing::warn!(error = %e, "freeing the previous start's leases failed"),
            }
        });
    }
    for n in 0..workers {
        let state = state.clone();
        let token = token.clone();
        let owner = format!("{}{n}", identity.prefix);
        tracker.spawn(async move {
            loop {
                if token.is_cancelled() {
                    break;
                }
                // The job in hand is finished even when shutdown starts meanwhile.
                let outcome = try_run_one(&state, &owner).await;
                let pause = match outcome {
                    Ok(Outcome::Processed) => continue,
                    Ok(Outcome::Idle) => state.jobs.jobs_ready.idle_poll(),
                    Err(e) => {
                        tracing::error!(error.cause_chain = ?e, "job worker step failed");
                        Duration::from_secs(1)
                    }
                };
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = state.jobs.jobs_ready.notified() => {}
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        });
    }
}

/// Claims and processes one job, if any is waiting. A step that failed
/// gives the job back: after a growing delay, and without counting the
/// claim, when its error was a passing fault of a dependency.
pub async fn try_run_one(state: &Worker, owner: &str) -> Result<Outcome, JobError> {
    let lease_ms = state.lease.as_millis() as i64;
    let claiming = db::jobs::claim_next(&state.jobs.db, owner, lease_ms);
    let Some(job) = state.jobs.stages.time(Stage::Claim, claiming).await? else {
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
        Ok(()) => state.backoff.succeeded(job.id.as_str()),
        Err(e) if e.is_retryable() => {
            let wait = state.backoff.failed(job.id.as_str());
            tracing::warn!(job_id = %job.id, error.cause_chain = ?e, retry_in_ms = wait.as_millis() as u64,
                "job step met a passing failure; it will be resumed");
            put_back(state, &job.id, owner, wait, false).await;
        }
        Err(e) => {
            let wait = failed_step_delay(job.claims);
            tracing::error!(job_id = %job.id, error.cause_chain = ?e, retry_in_ms = wait.as_millis() as u64,
                "job step failed; it will be tried again");
            put_back(state, &job.id, owner, wait, true).await;
        }
    }
    result.map(|_| Outcome::Processed)
}

/// Gives the job back. The failure that stopped the job often stops this
/// too (the database is down), so it is tried again every second or two
/// while the lease lasts: the job then resumes moments after the database
/// returns, instead of when its lease runs out.
async fn put_back(state: &Worker, job_id: &JobId, owner: &str, wait: Duration, counted: bool) {
    let gave_up_at = tokio::time::Instant::now() + state.lease;
    let mut pause = Duration::from_millis(250);
    let mut told = false;
    loop {
        let given = db::jobs::put_back(&state.jobs.db, job_id, owner, wait, counted).await;
        let Err(e) = given else {
            if told {
                tracing::info!(%job_id, "the job was given back once the database answered again");
            }
            return;
        };
        let next = tokio::time::Instant::now() + pause;
        if !e.blame().is_retryable() || next >= gave_up_at {
            tracing::warn!(%job_id, error = %e, "giving the job back failed; it is taken up again once its lease expires");
            return;
        }
        if !told {
            tracing::warn!(%job_id, error = %e, "giving the job back failed; trying again while its lease lasts");
            told = true;
        }
        tokio::time::sleep_until(next).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// 1 s after the first failed claim, doubling up to a minute: the claims a
/// job is allowed then span minutes, not the seconds a brief outage lasts.
fn failed_step_delay(claims: i64) -> Duration {
    let doublings = claims.saturating_sub(1).clamp(0, 6) as u32;
    Duration::from_secs(1 << doublings).min(Duration::from_secs(60))
}

async fn keep_lease(state: Worker, job_id: JobId, owner: String, lost: CancellationToken) {
    let lease = state.lease;
    loop {
        tokio::time::sleep(lease / 3).await;
        let renewed =
            db::jobs::renew_lease(&state.jobs.db, &job_id, &owner, lease.as_millis() as i64);
        match renewed.await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(%job_id, "lease lost; another worker owns the job now");
                lost.cancel();
                return;
            }
            Err(e) => tracing::warn!(%job_id, error = %e, "lease renewal failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_step_waits_longer_each_claim_up_to_a_minute() {
        let waits: Vec<u64> = (1..=9).map(|c| failed_step_delay(c).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(failed_step_delay(0), Duration::from_secs(1));
    }
}
