//! One document: read it, then write its result or error, its credit
//! deduction and its event in one transaction guarded by a compare-and-set on
//! the file's status, so a document is charged and announced exactly once.

use std::future::Future;
use std::time::Duration;

use sea_orm::{DatabaseTransaction, TransactionTrait};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::Worker;
use crate::db::{
    self,
    entities::{files, jobs},
};
use crate::delivery::{self, Emitted, NewEvent};
use crate::extraction::{rules, Extracted};
use crate::jobs::service::static_values_for_event;
use crate::jobs::JobError;
use crate::stages::Stage;
use crate::storage::StorageError;
use crate::targets::TemplateWebhook;
use crate::templates::choice::Candidates;
use crate::templates::LoadedTemplate;
use crate::types::{EventType, FileId, JobStatus, Origin, TemplateChoice};

/// What a document fails with when `auto` finds no template for it.
pub const NO_TEMPLATE_MATCHED: &str = "NO TEMPLATE MATCHED";

/// The template a job reads its documents with: its own, or each document's
/// chosen by keywords (`auto`).
pub(super) enum JobTemplate {
    Fixed(Box<LoadedTemplate>),
    Auto(std::sync::Arc<Candidates>),
}

impl JobTemplate {
    /// The webhook of the job's own template; `auto` jobs have none.
    pub fn webhook(&self) -> Option<&TemplateWebhook> {
        match self {
            JobTemplate::Fixed(t) => t.webhook.as_ref(),
            JobTemplate::Auto(_) => None,
        }
    }
}

/// How long a reading runs before its start and its pages are written for
/// `GET /job-status` to show. Most documents are read well within it and are
/// written once, when their outcome is; a poll in between sees them waiting.
const QUIET: Duration = Duration::from_millis(200);

/// What reading one document came to.
pub(super) enum Reading {
    Read {
        pages: i64,
        extracted: Box<Extracted>,
        /// The template `auto` chose for it.
        chosen: Option<Box<LoadedTemplate>>,
    },
    /// Read (and so charged), but no template's keywords matched.
    Unmatched {
        pages: i64,
    },
    Failed(String),
}

impl Reading {
    /// The webhook of the template the document was read with, else the job's.
    pub fn webhook<'a>(&'a self, job: Option<&'a JobTemplate>) -> Option<&'a TemplateWebhook> {
        match self {
            Reading::Read {
                chosen: Some(t), ..
            } => t.webhook.as_ref(),
            _ => job.and_then(JobTemplate::webhook),
        }
    }
}

/// Reads one document. A reading still going after [`QUIET`] runs `shown`
/// (the writes that tell a poller it started) beside it; the flag says whether
/// it did.
pub(super) async fn read_file(
    w: &Worker,
    template: &JobTemplate,
    file: &files::Model,
    lost: &CancellationToken,
    shown: impl Future<Output = Result<(), JobError>>,
) -> Result<(Reading, bool), JobError> {
    let stored = match file.blob_key.as_deref() {
        Some(key) => {
            w.jobs
                .stages
                .time(Stage::BlobRead, w.jobs.blobs.get(key))
                .await
        }
        None => Err(StorageError::NotFound(format!("file {}", file.id))),
    };
    let bytes = match stored {
        Ok(b) => b,
        Err(StorageError::NotFound(_)) => {
            let missing = Reading::Failed("the stored document is missing".into());
            return Ok((missing, false));
        }
        Err(e) => return Err(e.into()),
    };
    let reading = w.jobs.stages.time(
        Stage::Extract,
        extract_with_progress(w, file, bytes, template),
    );
    // Dropping the reading stops its pages from reaching the OCR threads: a
    // worker whose lease went to another stops within a page, not a document.
    let (read, was_shown) = tokio::select! {
        read = after_quiet(reading, shown) => read?,
        _ = lost.cancelled() => return Err(JobError::LeaseLost(file.job_id.clone())),
    };
    Ok((read?, was_shown))
}

/// Runs `work`; once it has taken longer than [`QUIET`], runs `shown` beside it.
async fn after_quiet<T>(
    work: impl Future<Output = T>,
    shown: impl Future<Output = Result<(), JobError>>,
) -> Result<(T, bool), JobError> {
    tokio::pin!(work);
    tokio::select! {
        out = &mut work => return Ok((out, false)),
        _ = tokio::time::sleep(QUIET) => {}
    }
    let (out, was_shown) = tokio::join!(work, shown);
    was_shown?;
    Ok((out, true))
}

/// A document's outcome as written: its status and the event that announces it.
pub(super) struct Recorded {
    pub status: JobStatus,
    pub event: EventType,
    /// The template the event is about: the document's, or the job's.
    pub template: TemplateChoice,
    pub data: Value,
    /// The file row as it now stands.
    pub file: files::Model,
}

/// Writes one document's outcome (and charge) in `txn`; `None` when an
/// earlier owner already wrote it.
pub(super) async fn record(
    txn: &DatabaseTransaction,
    job: &jobs::Model,
    file: &files::Model,
    reading: Reading,
) -> Result<Option<Recorded>, JobError> {
    let (pages, extracted, chosen) = match reading {
        Reading::Failed(error) => return failed_outcome(txn, job, file, None, &error).await,
        Reading::Unmatched { pages } => (pages, None, None),
        Reading::Read {
            pages,
            extracted,
            chosen,
        } => (pages, Some(extracted), chosen.map(|t| t.id.clone())),
    };
    if !db::accounts::charge(txn, &job.account_id, &job.id, &file.id, pages).await? {
        let balance = db::accounts::balance(txn, &job.account_id).await?;
        let error = format!("INSUFFICIENT CREDITS: {pages} page(s) needed, {balance} available");
        return failed_outcome(txn, job, file, Some(pages), &error).await;
    }
    // A document no template matched was read: it is charged like any other.
    let Some(extracted) = extracted else {
        return failed_outcome(txn, job, file, Some(pages), NO_TEMPLATE_MATCHED).await;
    };
    let template = chosen
        .clone()
        .map_or_else(|| job.template_id.clone(), TemplateChoice::Fixed);
    let result_status = extracted.result_status();
    let outcome = db::files::Outcome {
        status: JobStatus::ProcessImageSuccess,
        pages: Some(pages),
        error: None,
        result: Some(Value::Object(extracted.values.clone()).to_string()),
        warnings: Some(serde_json::to_string(&extracted.warnings).expect("warnings serialise")),
        result_status: Some(result_status),
        confidences: Some(Value::Object(extracted.confidences.clone()).to_string()),
        boxes: Some(Value::Object(extracted.boxes.clone()).to_string()),
        template_id: chosen.clone(),
    };
    if !db::files::finish(txn, &file.id, outcome).await? {
        return Ok(None);
    }
    let mut now = file.clone();
    now.status = JobStatus::ProcessImageSuccess;
    now.pages = Some(pages);
    now.result_status = Some(result_status);
    now.template_id = chosen;
    Ok(Some(Recorded {
        status: JobStatus::ProcessImageSuccess,
        event: EventType::ExtractionProcessed,
        data: event_data(job, file, &template, Some(pages), Some(&extracted), None),
        template,
        file: now,
    }))
}

/// Writes a failed outcome; `None` when the file was already finished.
async fn failed_outcome(
    txn: &DatabaseTransaction,
    job: &jobs::Model,
    file: &files::Model,
    pages: Option<i64>,
    error: &str,
) -> Result<Option<Recorded>, JobError> {
    let outcome = db::files::Outcome {
        status: JobStatus::ProcessImageFailed,
        pages,
        error: Some(error),
        result: None,
        warnings: None,
        result_status: None,
        confidences: None,
        boxes: None,
        template_id: None,
    };
    if !db::files::finish(txn, &file.id, outcome).await? {
        return Ok(None);
    }
    tracing::warn!(error, "document failed");
    let mut now = file.clone();
    now.status = JobStatus::ProcessImageFailed;
    now.pages = pages;
    now.error = Some(error.into());
    Ok(Some(Recorded {
        status: JobStatus::ProcessImageFailed,
        event: EventType::ExtractionFailed,
        data: event_data(job, file, &job.template_id, pages, None, Some(error)),
        template: job.template_id.clone(),
        file: now,
    }))
}

impl Recorded {
    /// The event that announces this outcome.
    pub fn event<'a>(&'a self, job: &'a jobs::Model, file_id: &'a FileId) -> NewEvent<'a> {
        NewEvent {
            event_type: self.event,
            account_id: &job.account_id,
            job_id: Some(&job.id),
            file_id: Some(file_id),
            template_id: &self.template,
            about: None,
            origin: Origin::System,
            data: self.data.clone(),
        }
    }

    /// Deletes the upload once its outcome is written, when nothing is left
    /// that needs it: a result with no delivery to wait for and no review.
    /// (Delivered ones are deleted as their deliveries succeed.)
    pub async fn release_upload(&self, w: &Worker, emitted: &Emitted) -> Result<(), JobError> {
        if self.event == EventType::ExtractionProcessed && emitted.deliveries == 0 {
            let file = vec![self.file.id.clone()];
            delivery::release_uploads(&w.jobs.db, &w.jobs.blobs, file).await?;
        }
        Ok(())
    }
}

/// Fails one document with `reason` and announces it.
pub(super) async fn fail_file(
    w: &Worker,
    job: &jobs::Model,
    template: Option<&JobTemplate>,
    file: &files::Model,
    reason: &str,
) -> Result<(), JobError> {
    write_outcome(w, job, template, file, Reading::Failed(reason.into())).await
}

/// Reads one document of a batch and writes its outcome.
#[tracing::instrument(skip_all, fields(file_id = %file.id, file_name = %file.file_name))]
pub(super) async fn process_file(
    w: &Worker,
    job: &jobs::Model,
    template: &JobTemplate,
    file: &files::Model,
    lost: &CancellationToken,
) -> Result<(), JobError> {
    let started = async { Ok(db::files::start(&w.jobs.db, &file.id).await?) };
    let (reading, _) = read_file(w, template, file, lost, started).await?;
    write_outcome(w, job, Some(template), file, reading).await
}

/// Writes a document's outcome and event in one transaction, and wakes the
/// delivery dispatcher.
async fn write_outcome(
    w: &Worker,
    job: &jobs::Model,
    template: Option<&JobTemplate>,
    file: &files::Model,
    reading: Reading,
) -> Result<(), JobError> {
    let _recording = w.jobs.stages.start(Stage::Record);
    let webhook = reading.webhook(template).cloned();
    let txn = w.jobs.db.begin().await?;
    let Some(recorded) = record(&txn, job, file, reading).await? else {
        return Ok(()); // already finished by an earlier owner; the transaction rolls back
    };
    let webhook = webhook.as_ref();
    let emitted = delivery::emit_all(&txn, vec![recorded.event(job, &file.id)], webhook).await?;
    txn.commit().await?;
    w.jobs.deliveries_ready.notify_one();
    tracing::info!(status = %recorded.status, "document finished");
    match emitted.first() {
        Some(emitted) => recorded.release_upload(w, emitted).await,
        None => Ok(()),
    }
}

fn event_data(
    job: &jobs::Model,
    file: &files::Model,
    template: &TemplateChoice,
    pages: Option<i64>,
    extracted: Option<&rules::Extracted>,
    error: Option<&str>,
) -> Value {
    json!({
        "job_id": job.id,
        "template_id": template,
        "file_id": file.id,
        "file_name": file.file_name,
        "pages": pages,
        "static_values": static_values_for_event(job),
        "result": extracted.map_or(Value::Null, |e| Value::Object(e.values.clone())),
        "confidences": extracted.map_or(Value::Null, |e| Value::Object(e.confidences.clone())),
        "boxes": extracted.map_or(Value::Null, |e| Value::Object(e.boxes.clone())),
        "result_status": extracted.map(|e| e.result_status()),
        "warnings": extracted.map_or(&[][..], |e| &e.warnings),
        "error": error,
    })
}

/// Reads a document and applies the template (for `auto`, the one its text
/// chooses). Its page progress is written for `GET /job-status` once the
/// reading has taken longer than [`QUIET`].
async fn extract_with_progress(
    w: &Worker,
    file: &files::Model,
    bytes: Vec<u8>,
    template: &JobTemplate,
) -> Result<Reading, JobError> {
    let (tx, mut rx) = tokio::sync::watch::channel((0u32, 0u32));
    let progress: crate::extraction::Progress = std::sync::Arc::new(move |done, total| {
        let _ = tx.send((done, total));
    });
    let db = w.jobs.db.clone();
    let file_id = file.id.clone();
    let recorder = tokio::spawn(async move {
        let quiet = tokio::time::sleep(QUIET);
        tokio::pin!(quiet);
        loop {
            tokio::select! {
                _ = &mut quiet => break,
                changed = rx.changed() => if changed.is_err() { return },
            }
        }
        rx.mark_changed();
        while rx.changed().await.is_ok() {
            let (done, total) = *rx.borrow_and_update();
            if total == 0 {
                continue;
            }
            if let Err(e) = db::files::set_progress(&db, &file_id, done, total).await {
                tracing::warn!(error = %e, "recording page progress failed");
            }
        }
    });
    let read = match template {
        JobTemplate::Fixed(t) => w
            .jobs
            .reader
            .extract(file.kind, bytes, t.compiled.clone(), &t.options, progress)
            .await
            .map(|(doc, extracted)| Reading::Read {
                pages: doc.pages.len() as i64,
                extracted: Box::new(extracted),
                chosen: None,
            }),
        JobTemplate::Auto(candidates) => {
            return match super::choosing::choose_and_extract(w, file, bytes, candidates, progress)
                .await
            {
                Ok(reading) => {
                    recorder.await.ok();
                    Ok(reading)
                }
                Err(e) => Err(e),
            }
        }
    };
    recorder.await.ok();
    Ok(read.unwrap_or_else(|e| Reading::Failed(e.to_string())))
}
