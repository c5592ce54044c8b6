//! One document's outcome: its result or error, its credit deduction and its
//! event, written in one transaction guarded by a compare-and-set on the
//! file's status, so a document is charged and announced exactly once.

use sea_orm::TransactionTrait;
use serde_json::{json, Value};

use crate::db::{
    self,
    entities::{files, jobs},
};
use crate::delivery::{self, NewEvent};
use crate::extraction::{rules, DocKind, Extracted};
use crate::jobs::status::JobStatus;
use crate::outbound::EventType;
use crate::stages::Stage;
use crate::state::AppState;
use crate::storage::StorageError;
use crate::templates::service::LoadedTemplate;
use tokio_util::sync::CancellationToken;

/// Fails one document with `reason` and announces it.
pub(super) async fn fail_file(
    state: &AppState,
    job: &jobs::Model,
    template: Option<&LoadedTemplate>,
    file: &files::Model,
    reason: &str,
) -> anyhow::Result<()> {
    let txn = state.db.begin().await?;
    let (_, event, data) = failed_outcome(&txn, job, file, None, reason).await?;
    if data.is_null() {
        return Ok(());
    }
    announce(state, txn, job, file, event, data, template).await
}

/// The job's static values as JSON (an object).
pub(super) fn static_values(job: &jobs::Model) -> Value {
    serde_json::from_str(&job.static_values).unwrap_or_else(|_| json!({}))
}

/// Reads one document and writes its outcome.
#[tracing::instrument(skip_all, fields(file_id = %file.id, file_name = %file.file_name))]
pub(super) async fn process_file(
    state: &AppState,
    job: &jobs::Model,
    template: &LoadedTemplate,
    file: &files::Model,
    lost: &CancellationToken,
) -> anyhow::Result<()> {
    db::jobs::start_file(&state.db, &file.id).await?;
    let kind: DocKind = file.kind.parse().map_err(anyhow::Error::msg)?;
    let stored = match file.blob_key.as_deref() {
        Some(key) => Stage::BlobRead.time(state.blobs.get(key)).await,
        None => Err(StorageError::NotFound(format!("file {}", file.id))),
    };
    let bytes = match stored {
        Ok(b) => b,
        Err(StorageError::NotFound(_)) => {
            let reason = "the stored document is missing";
            return fail_file(state, job, Some(template), file, reason).await;
        }
        Err(e) => return Err(e.into()),
    };
    // Dropping the reading stops its pages from reaching the OCR threads: a
    // worker whose lease went to another stops within a page, not a document.
    let read = tokio::select! {
        read = Stage::Extract.time(extract_with_progress(state, file, kind, bytes, template)) => read,
        _ = lost.cancelled() => anyhow::bail!("lease lost while reading file {}; its new owner reads it", file.id),
    };
    let extracted = match read {
        Ok((doc, ex)) => Ok((doc.pages.len() as i64, ex)),
        Err(e) => Err(e.to_string()),
    };
    let _recording = Stage::Record.start();

    let txn = state.db.begin().await?;
    let (outcome_status, event, data) = match extracted {
        Ok((pages, ex)) => {
            if db::accounts::charge(&txn, &job.account_id, &job.id, &file.id, pages).await? {
                let result = Value::Object(ex.values.clone());
                let outcome = db::jobs::FileOutcome {
                    status: JobStatus::ProcessImageSuccess,
                    pages: Some(pages),
                    error: None,
                    result: Some(result.to_string()),
                    warnings: Some(serde_json::to_string(&ex.warnings)?),
                    result_status: Some(ex.result_status()),
                    confidences: Some(Value::Object(ex.confidences.clone()).to_string()),
                    boxes: Some(Value::Object(ex.boxes.clone()).to_string()),
                };
                if !db::jobs::finish_file(&txn, &file.id, outcome).await? {
                    return Ok(()); // already finished by an earlier owner; the transaction rolls back
                }
                let data = event_data(job, file, Some(pages), Some(&ex), None);
                (
                    JobStatus::ProcessImageSuccess,
                    EventType::ExtractionProcessed,
                    data,
                )
            } else {
                let balance = db::accounts::get(&txn, &job.account_id)
                    .await?
                    .map_or(0, |a| a.credits);
                let error =
                    format!("INSUFFICIENT CREDITS: {pages} page(s) needed, {balance} available");
                failed_outcome(&txn, job, file, Some(pages), &error).await?
            }
        }
        Err(error) => failed_outcome(&txn, job, file, None, &error).await?,
    };
    if outcome_status == JobStatus::ProcessImageFailed && data.is_null() {
        return Ok(());
    }
    announce(state, txn, job, file, event, data, Some(template)).await?;
    tracing::info!(status = %outcome_status, "document finished");
    if event == EventType::ExtractionProcessed {
        // With nothing to deliver to (and nothing to review), nothing needs the upload now.
        crate::delivery::worker::release_upload(state, &file.id).await?;
    }
    Ok(())
}

/// Stores a document's event in the transaction that wrote its outcome, commits,
/// and wakes the delivery dispatcher.
async fn announce(
    state: &AppState,
    txn: sea_orm::DatabaseTransaction,
    job: &jobs::Model,
    file: &files::Model,
    event_type: EventType,
    data: Value,
    template: Option<&LoadedTemplate>,
) -> anyhow::Result<()> {
    let event = NewEvent {
        event_type,
        account_id: &job.account_id,
        job_id: &job.id,
        file_id: Some(&file.id),
        template_id: &job.template_id,
        data,
    };
    delivery::emit(&txn, event, template.and_then(|t| t.webhook.as_ref())).await?;
    txn.commit().await?;
    state.deliveries_ready.notify_one();
    Ok(())
}

/// Writes a failed outcome; returns `Value::Null` data when the file was already finished.
async fn failed_outcome(
    txn: &sea_orm::DatabaseTransaction,
    job: &jobs::Model,
    file: &files::Model,
    pages: Option<i64>,
    error: &str,
) -> anyhow::Result<(JobStatus, EventType, Value)> {
    let outcome = db::jobs::FileOutcome {
        status: JobStatus::ProcessImageFailed,
        pages,
        error: Some(error),
        result: None,
        warnings: None,
        result_status: None,
        confidences: None,
        boxes: None,
    };
    if !db::jobs::finish_file(txn, &file.id, outcome).await? {
        return Ok((
            JobStatus::ProcessImageFailed,
            EventType::ExtractionFailed,
            Value::Null,
        ));
    }
    tracing::warn!(error, "document failed");
    let data = event_data(job, file, pages, None, Some(error));
    Ok((
        JobStatus::ProcessImageFailed,
        EventType::ExtractionFailed,
        data,
    ))
}

fn event_data(
    job: &jobs::Model,
    file: &files::Model,
    pages: Option<i64>,
    extracted: Option<&rules::Extracted>,
    error: Option<&str>,
) -> Value {
    json!({
        "job_id": job.id,
        "template_id": job.template_id,
        "file_id": file.id,
        "file_name": file.file_name,
        "pages": pages,
        "static_values": static_values(job),
        "result": extracted.map_or(Value::Null, |e| Value::Object(e.values.clone())),
        "confidences": extracted.map_or(Value::Null, |e| Value::Object(e.confidences.clone())),
        "boxes": extracted.map_or(Value::Null, |e| Value::Object(e.boxes.clone())),
        "result_status": extracted.map(|e| e.result_status()),
        "warnings": extracted.map_or(&[][..], |e| &e.warnings),
        "error": error,
    })
}

/// Reads a document and applies the template while recording its page
/// progress for `GET /job-status`.
async fn extract_with_progress(
    state: &AppState,
    file: &files::Model,
    kind: DocKind,
    bytes: Vec<u8>,
    template: &LoadedTemplate,
) -> Result<(crate::extraction::Document, Extracted), crate::extraction::ExtractionError> {
    let (tx, mut rx) = tokio::sync::watch::channel((0u32, 0u32));
    let progress: crate::extraction::Progress = std::sync::Arc::new(move |done, total| {
        let _ = tx.send((done, total));
    });
    let db = state.db.clone();
    let file_id = file.id.clone();
    let recorder = tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let (done, total) = *rx.borrow_and_update();
            if let Err(e) = db::jobs::set_file_progress(&db, &file_id, done, total).await {
                tracing::warn!(error = %e, "recording page progress failed");
            }
        }
    });
    let read = state
        .reader
        .extract(kind, bytes, &template.fields, &template.options, progress)
        .await;
    recorder.await.ok();
    read
}
