//! Purges results and stored files a retention period after a job finished
//! (or was put in the recycle bin): the system's erasure, announced as a
//! hard delete is. The job row stays, so that its results answer 410 Gone
//! instead of 404. The same sweep ends lapsed review locks.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{JobError, Jobs};
use crate::accounts::Accounts;
use crate::db::{self, erasure};
use crate::delivery::Deliveries;
use crate::types::Actor;

const BATCH: u64 = 100;

/// What the purge uses.
#[derive(Clone)]
pub struct Retention {
    pub jobs: Jobs,
    /// Whose expired dashboard sessions go with the same sweep.
    pub accounts: Accounts,
    /// Operational events (about destinations, not jobs) are kept as long as results.
    pub deliveries: Deliveries,
    /// How long a finished job's results are kept when its account set no retention.
    pub keep_for: Duration,
    /// How often the purge looks.
    pub every: Duration,
}

/// Runs until cancelled, purging every `every`.
pub async fn run(r: Retention, token: CancellationToken) {
    loop {
        match purge_expired(&r).await {
            Ok(n) if n > 0 => tracing::info!(jobs = n, "purged expired results"),
            Ok(_) => {}
            Err(e) => tracing::error!(error.cause_chain = ?e, "retention purge failed"),
        }
        match r.jobs.end_lapsed_locks().await {
            Ok(n) if n > 0 => tracing::info!(jobs = n, "review locks lapsed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "ending lapsed review locks failed"),
        }
        if let Err(e) = r.accounts.purge_expired_audit().await {
            tracing::warn!(error = %e, "dropping audit rows older than a year failed");
        }
        if let Err(e) = r.deliveries.purge_operational(r.keep_for).await {
            tracing::warn!(error = %e, "dropping old operational events failed");
        }
        if let Err(e) = r.accounts.purge_expired_sessions().await {
            tracing::warn!(error = %e, "dropping expired dashboard sessions failed");
        }
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(r.every.max(Duration::from_millis(100))) => {}
        }
    }
}

/// Purges every job that finished longer ago than its account keeps results
/// (`keep_for` for an account that set nothing); returns how many.
pub async fn purge_expired(r: &Retention) -> Result<usize, JobError> {
    let now = db::now_ms();
    let mut total = 0;
    loop {
        let keep = r.keep_for.as_millis() as i64;
        let jobs = db::jobs::expired(&r.jobs.db, now, keep, BATCH).await?;
        if jobs.is_empty() {
            return Ok(total);
        }
        for job in &jobs {
            r.jobs
                .erase(job, None, &Actor::System, erasure::Reason::Retention)
                .await?;
        }
        r.jobs.settler.after_erasure(&r.jobs.db).await?;
        total += jobs.len();
    }
}
