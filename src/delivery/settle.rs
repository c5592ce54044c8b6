//! Recording attempts: one writer per dispatcher takes every finished attempt
//! and writes them in batches, one transaction each (the attempt log, the
//! successes in one statement, each retry or dead letter, destination
//! health), then deletes the uploads nothing needs any more.

use std::time::Duration;

use rand::Rng;
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use sea_orm::DatabaseConnection;

use super::attempt::Finished;
use super::health;
use super::worker::Dispatcher;
use super::DeliveryError;
use crate::backoff::Backoff;
use crate::db::{self, deliveries as q};
use crate::stages::Stage;
use crate::storage::BlobStore;
use crate::types::{DeliveryStatus, FileId, ResultStatus};

/// Attempts written in one transaction at most.
const BATCH: usize = 256;

/// Hands finished attempts to the writer task.
#[derive(Clone)]
pub(super) struct Settler {
    tx: mpsc::UnboundedSender<Finished>,
    owner: std::sync::Arc<str>,
}

impl Settler {
    /// Starts the writer; it ends once every `Settler` clone is dropped and
    /// what they sent is written.
    pub fn start(state: &Dispatcher, owner: &str, tracker: &TaskTracker) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Finished>();
        let (state, owner) = (state.clone(), owner.to_string());
        let shared: std::sync::Arc<str> = owner.as_str().into();
        tracker.spawn(async move {
            let backoff = Backoff::default();
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(f) => batch.push(f),
                        Err(_) => break,
                    }
                }
                write_until_done(&state, &owner, batch, &backoff).await;
            }
        });
        Self { tx, owner: shared }
    }

    /// The lease owner of the dispatcher this writer records for.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn send(&self, finished: Finished) {
        if self.tx.send(finished).is_err() {
            // Only after shutdown: the lease runs out and the delivery is sent again.
            tracing::warn!("an attempt could not be recorded: the writer has stopped");
        }
    }
}

/// Retries a batch the database refused for a passing reason, for as long
/// as the claims last; after that the deliveries are claimed and sent again.
async fn write_until_done(
    state: &Dispatcher,
    owner: &str,
    batch: Vec<Finished>,
    backoff: &Backoff,
) {
    let give_up = tokio::time::Instant::now() + Duration::from_millis(lease_margin(state));
    loop {
        match record(state, owner, &batch).await {
            Ok(()) => {
                backoff.succeeded("settle");
                return;
            }
            Err(e) if e.blame().is_retryable() && tokio::time::Instant::now() < give_up => {
                let wait = backoff.failed("settle");
                tracing::warn!(error.cause_chain = ?e, attempts = batch.len(), retry_in_ms = wait.as_millis() as u64,
                    "recording attempts failed; trying again");
                tokio::time::sleep(wait).await;
            }
            Err(e) if batch.len() > 1 => {
                // One row the database refuses must not hold up the others.
                tracing::warn!(error.cause_chain = ?e, "recording a batch failed; recording its attempts one by one");
                for f in batch {
                    Box::pin(write_until_done(state, owner, vec![f], backoff)).await;
                }
                return;
            }
            Err(e) => {
                tracing::error!(error.cause_chain = ?e, delivery_id = %batch[0].delivery.id,
                    "recording an attempt failed; the delivery is sent again once its claim expires");
                return;
            }
        }
    }
}

fn lease_margin(state: &Dispatcher) -> u64 {
    super::worker::lease_ms(state) as u64 / 2
}

/// Writes one batch of finished attempts.
pub(super) async fn record(
    state: &Dispatcher,
    owner: &str,
    batch: &[Finished],
) -> Result<(), DeliveryError> {
    if batch.is_empty() {
        return Ok(());
    }
    let _timer = state.stages.start(Stage::DeliveryRecord);
    let schedule = &state.settings.retry_schedule;
    let txn = sea_orm::TransactionTrait::begin(&state.db).await?;
    q::record_attempts(
        &txn,
        batch
            .iter()
            .map(|f| q::Attempt {
                delivery_id: f.delivery.id.clone(),
                attempted_at: f.attempted_at,
                status_code: f.result.status().map(i64::from),
                latency_ms: f.result.latency.as_millis() as i64,
                // PostgreSQL's text refuses NUL, which a receiver may send.
                response_body: f.result.body().map(without_nul),
                error: f.result.error().as_deref().map(without_nul),
            })
            .collect(),
    )
    .await?;
    let ok_ids: Vec<_> = batch
        .iter()
        .filter(|f| f.result.is_delivered())
        .map(|f| f.delivery.id.clone())
        .collect();
    let succeeded = q::settle_succeeded(&txn, owner, &ok_ids).await?;
    let mut retries = false;
    let mut unsuccessful = Vec::new();
    let mut exhausted = Vec::new();
    for f in batch.iter().filter(|f| !f.result.is_delivered()) {
        let attempts = f.delivery.attempts as usize + 1;
        let delay = retry_delay(
            schedule,
            attempts,
            f.result.retry_after(),
            f.result.is_throttled(),
        )
        .filter(|_| !f.final_failure && !f.result.is_gone());
        let (status, next_attempt_at) = match delay {
            Some(delay) => {
                retries = true;
                (
                    DeliveryStatus::Pending,
                    db::now_ms() + delay.as_millis() as i64,
                )
            }
            None => {
                tracing::warn!(delivery_id = %f.delivery.id, attempts, "delivery dead-lettered");
                // A target gone or disabled is announced as such, not delivery by delivery.
                if !f.final_failure && !f.result.is_gone() {
                    exhausted.push((f, attempts));
                }
                (DeliveryStatus::Failed, db::now_ms())
            }
        };
        unsuccessful.push(q::Unsuccessful {
            id: &f.delivery.id,
            status,
            next_attempt_at,
            last_error: f.result.error().as_deref().map(without_nul),
        });
    }
    let settled = q::settle_unsuccessful(&txn, owner, &unsuccessful).await?;
    for (f, attempts) in exhausted {
        if settled.contains(&f.delivery.id) {
            health::exhausted(&txn, f, attempts).await?;
        }
    }
    let default_disable_after = state.settings.disable_after;
    let to_disable = health::note(&txn, health::tally(batch), default_disable_after).await?;
    txn.commit().await?;
    if retries {
        // The dispatcher may be idle since before these were scheduled (they
        // were held then, so not due): it sleeps until the soonest of them now.
        state.ready.notify_here();
    }

    // What follows the commit is not repeated if it fails: recording again
    // would log the attempts twice.
    for (id, reason) in to_disable {
        if let Err(e) = health::disable(&state.db, &id, &reason).await {
            tracing::error!(destination_id = %id, error = %e, "disabling the destination failed");
        }
    }
    let files: Vec<FileId> = batch
        .iter()
        .filter(|f| succeeded.contains(&f.delivery.id) && f.delivery.event_type.carries_document())
        .filter_map(|f| f.delivery.file_id.clone())
        .collect();
    if let Err(e) = release_uploads(&state.db, &state.blobs, files).await {
        tracing::warn!(error.cause_chain = ?e, "deleting delivered uploads failed; the retention purge deletes them");
    }
    Ok(())
}

fn without_nul(text: &str) -> String {
    text.replace('\0', "")
}

/// Deletes the uploads of `file_ids` that nothing needs any more: every
/// delivery of their `extraction.processed` and `extraction.confirmed` (an S3
/// destination may write the document) succeeded, and their result does not
/// wait for a reviewer (who is shown its pages) to confirm it.
pub async fn release_uploads(
    db: &DatabaseConnection,
    blobs: &BlobStore,
    mut file_ids: Vec<FileId>,
) -> Result<(), DeliveryError> {
    if file_ids.is_empty() {
        return Ok(());
    }
    file_ids.sort();
    file_ids.dedup();
    let events: Vec<_> = crate::types::EventType::ALL
        .iter()
        .copied()
        .filter(|e| e.carries_document())
        .collect();
    let unsettled = q::files_with_unsettled(db, &file_ids, &events).await?;
    file_ids.retain(|id| !unsettled.contains(id));
    let mut released = Vec::new();
    let mut failed = None;
    for f in db::files::by_ids(db, &file_ids).await? {
        if f.result_status.is_some_and(ResultStatus::awaits_review) {
            continue;
        }
        if let Some(key) = &f.blob_key {
            if let Err(e) = blobs.delete(key).await {
                failed = Some(e);
                break;
            }
            released.push(f.id);
        }
    }
    // Those deleted are forgotten even when a later delete failed.
    db::files::clear_blobs(db, &released).await?;
    tracing::debug!(files = released.len(), "uploads deleted");
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// The delay before retry number `attempts` (1-based), with ±10 % jitter; `None`
/// when the schedule is spent. A throttled receiver (429, 503, timeout) gets
/// twice the delay; its `Retry-After` is honoured up to an hour.
pub fn retry_delay(
    schedule: &[Duration],
    attempts: usize,
    retry_after: Option<Duration>,
    throttled: bool,
) -> Option<Duration> {
    let base = *schedule.get(attempts.checked_sub(1)?)?;
    let jitter = rand::thread_rng().gen_range(0.9..=1.1);
    let delay = base.mul_f64(if throttled { 2.0 * jitter } else { jitter });
    let floor = retry_after
        .map(|r| r.min(Duration::from_secs(3600)))
        .unwrap_or_default();
    Some(delay.max(floor))
}
