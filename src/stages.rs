//! Time spent in each stage of a document's way through the service, summed
//! over one app: the benchmarks print it per document, so that a slow stage
//! shows itself instead of being guessed at.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
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
}

/// Each stage's total time in one app, shared by its services.
#[derive(Clone, Default)]
pub struct Stages {
    nanos: Arc<[AtomicU64; ALL.len()]>,
}

impl Stages {
    pub fn add(&self, stage: Stage, spent: Duration) {
        self.nanos[stage as usize].fetch_add(spent.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Runs `work`, adding its wall time to `stage`.
    pub async fn time<T>(&self, stage: Stage, work: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let out = work.await;
        self.add(stage, started.elapsed());
        out
    }

    /// Adds the time from now to the returned timer's drop to `stage`,
    /// whichever way the measured code returns.
    pub fn start(&self, stage: Stage) -> Timer {
        Timer {
            stages: self.clone(),
            stage,
            started: Instant::now(),
        }
    }

    /// Each stage's total so far.
    pub fn totals(&self) -> Vec<(Stage, Duration)> {
        ALL.iter()
            .map(|&s| {
                (
                    s,
                    Duration::from_nanos(self.nanos[s as usize].load(Ordering::Relaxed)),
                )
            })
            .collect()
    }
}

pub struct Timer {
    stages: Stages,
    stage: Stage,
    started: Instant,
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.stages.add(self.stage, self.started.elapsed());
    }
}
