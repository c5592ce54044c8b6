//! Purges results and stored files a retention period after a job finished.
//! The job row stays, so that its results answer 410 Gone instead of 404.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::db;
use crate::state::AppState;
use crate::storage::keys;

const BATCH: u64 = 100;

/// Runs until cancelled, purging every `retention_interval`.
pub async fn run(state: AppState, token: CancellationToken) {
    loop {
        match purge_expired(&state).await {
            Ok(n) if n > 0 => tracing::info!(jobs = n, "purged expired results"),
            Ok(_) => {}
            Err(e) => tracing::error!(error.cause_chain = ?e, "retention purge failed"),
        }
        if let Err(e) = db::sessions::purge_expired(&state.db).await {
            tracing::warn!(error = %e, "dropping expired dashboard sessions failed");
        }
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(state.settings.retention_interval.max(Duration::from_millis(100))) => {}
        }
    }
}

/// Purges every job that finished more than the retention period ago; returns how many.
pub async fn purge_expired(state: &AppState) -> anyhow::Result<usize> {
    let cutoff = db::now_ms() - state.settings.retention.as_millis() as i64;
    let mut total = 0;
    loop {
        let jobs = db::jobs::expired(&state.db, cutoff, BATCH).await?;
        if jobs.is_empty() {
            return Ok(total);
        }
        for job in &jobs {
            // Blobs first: a crash in between leaves rows pointing at nothing, never orphaned files.
            state
                .blobs
                .delete_prefix(&keys::job_prefix(&job.id))
                .await?;
            db::jobs::mark_purged(&state.db, &job.id).await?;
            db::deliveries::purge_job(&state.db, &job.id).await?;
        }
        total += jobs.len();
    }
}
