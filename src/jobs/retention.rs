//! Purges results and stored files a retention period after a job finished.
//! The job row stays, so that its results answer 410 Gone instead of 404.

use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use super::JobError;
use crate::accounts::Accounts;
use crate::db;
use crate::storage::{keys, BlobStore};

const BATCH: u64 = 100;

/// What the purge uses.
#[derive(Clone)]
pub struct Retention {
    pub db: DatabaseConnection,
    pub blobs: BlobStore,
    /// Whose expired dashboard sessions go with the same sweep.
    pub accounts: Accounts,
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
        let jobs = db::jobs::expired(&r.db, now, r.keep_for.as_millis() as i64, BATCH).await?;
        if jobs.is_empty() {
            return Ok(total);
        }
        for job in &jobs {
            // Blobs first: a crash in between leaves rows pointing at nothing, never orphaned files.
            r.blobs.delete_prefix(&keys::job_prefix(&job.id)).await?;
            db::jobs::mark_purged(&r.db, &job.id).await?;
            db::deliveries::purge_job(&r.db, &job.id).await?;
        }
        total += jobs.len();
    }
}
