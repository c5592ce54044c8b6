//! Time spent in each stage of a document's way through the service, summed
//! over the process: `docpush bench` prints it per document, so that a slow
//! stage shows itself instead of being guessed at.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// `POST /process-job`: checks, blob write, rows and the `job.received` event.
    Submit,
    /// Claiming a job and loading its template.
    Claim,
    /// Status moves and the job's final transaction.
    Statuses,
    /// Reading the upload from the blob store.
    BlobRead,
    /// pdfium (or OCR) and the template's rules.
    Extract,
    /// The document's outcome, charge and event, in one transaction.
    Record,
    /// Claiming a due delivery and loading its event.
    DeliveryClaim,
    /// Sending to the receiver and waiting for its answer.
    Send,
    /// Writing the attempt and deleting the delivered upload.
    DeliveryRecord,
}

pub const ALL: [Stage; 9] = [
    Stage::Submit,
    Stage::Claim,
    Stage::Statuses,
    Stage::BlobRead,
    Stage::Extract,
    Stage::Record,
    Stage::DeliveryClaim,
    Stage::Send,
    Stage::DeliveryRecord,
];

static NANOS: [AtomicU64; ALL.len()] = [const { AtomicU64::new(0) }; ALL.len()];

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Submit => "submit",
            Stage::Claim => "claim",
            Stage::Statuses => "statuses",
            Stage::BlobRead => "blob_read",
            Stage::Extract => "extract",
            Stage::Record => "record",
            Stage::DeliveryClaim => "delivery_claim",
            Stage::Send => "send",
            Stage::DeliveryRecord => "delivery_record",
        }
    }

    pub fn add(self, spent: Duration) {
        NANOS[self as usize].fetch_add(spent.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Runs `work`, adding its wall time to this stage.
    pub async fn time<T>(self, work: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let out = work.await;
        self.add(started.elapsed());
        out
    }
}

/// Each stage's total so far.
pub fn totals() -> Vec<(Stage, Duration)> {
    ALL.iter()
        .map(|&s| {
            (
                s,
                Duration::from_nanos(NANOS[s as usize].load(Ordering::Relaxed)),
            )
        })
        .collect()
}

/// Adds the time from its start to its drop to a stage, whichever way the
/// measured code returns.
pub struct Timer(Stage, Instant);

impl Stage {
    pub fn start(self) -> Timer {
        Timer(self, Instant::now())
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.0.add(self.1.elapsed());
    }
}
