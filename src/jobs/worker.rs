//! Job workers: claim a job under a lease, move it through its statuses, extract
//! each document and queue its events.
//!
//! Every step is recorded, so a job whose worker died resumes where it stopped
//! once its lease expires. A file's outcome, its credit deduction and its event
//! are written in one transaction guarded by a compare-and-set on the file's
//! status: a document is charged and announced exactly once.

use std::time::Duration;

use sea_orm::TransactionTrait;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::service::new_file;
use super::status::JobStatus;
use super::unzip;
use crate::db::{
    self,
    entities::{files, jobs},
};
use crate::delivery::{self, events::EventType, NewEvent};
use crate::error::AppError;
use crate::extraction::{rules, DocKind};
use crate::state::AppState;
use crate::storage::{keys, StorageError};
use crate::templates::service::LoadedTemplate;
use crate::transient;

/// A job claimed this many times without finishing is failed instead of retried again.
/// (Claims given back after a passing database or storage failure do not count.)
const MAX_CLAIMS: i64 = 10;

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
    let result = process(state, owner, &job, &lost).instrument(span).await;
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

async fn process(
    state: &AppState,
    owner: &str,
    job: &jobs::Model,
    lost: &CancellationToken,
) -> anyhow::Result<()> {
    let mut status: JobStatus = job.status.parse().map_err(anyhow::Error::msg)?;
    let template = match state.load_template(&job.template_id).await {
        Ok(t) => t,
        Err(AppError::NotFound(_)) => {
            let reason = "the job's template no longer exists";
            return abandon(state, owner, job, None, status, reason).await;
        }
        Err(AppError::Unprocessable(reason)) => {
            return abandon(state, owner, job, None, status, &reason).await;
        }
        Err(e) => {
            let e = anyhow::Error::new(e).context("loading the job's template");
            // The database may be back in a moment: the job is put back, not failed.
            if transient::is_transient(&e) {
                return Err(e);
            }
            tracing::error!(error.cause_chain = ?e, "the job's template cannot be used");
            let reason = "the job's template cannot be read; see the service log";
            return abandon(state, owner, job, None, status, reason).await;
        }
    };
    if job.claims > MAX_CLAIMS {
        let reason = format!(
            "processing stopped after {MAX_CLAIMS} attempts; see the service log for job {}",
            job.id
        );
        return abandon(state, owner, job, Some(&template), status, &reason).await;
    }
    let kind: DocKind = job.source_kind.parse().map_err(anyhow::Error::msg)?;

    if status == JobStatus::New && kind == DocKind::Zip {
        step(state, job, owner, status, JobStatus::UnzippingFile, None).await?;
        status = JobStatus::UnzippingFile;
    }
    if status == JobStatus::UnzippingFile {
        status = unpack(state, owner, job, &template).await?;
        if status.is_final() {
            return Ok(());
        }
    }
    if matches!(status, JobStatus::New | JobStatus::UnzipFileSuccess) {
        step(state, job, owner, status, JobStatus::ProcessingImage, None).await?;
        status = JobStatus::ProcessingImage;
    }
    if status == JobStatus::ProcessingImage {
        for file in db::jobs::files_of(&state.db, &job.id).await? {
            if lost.is_cancelled() {
                anyhow::bail!("lease lost while processing");
            }
            let file_status: JobStatus = file.status.parse().map_err(anyhow::Error::msg)?;
            if matches!(file_status, JobStatus::New | JobStatus::ProcessingImage) {
                process_file(state, job, &template, &file).await?;
            }
        }
        let files = db::jobs::files_of(&state.db, &job.id).await?;
        let ok = files
            .iter()
            .filter(|f| f.status == JobStatus::ProcessImageSuccess.as_str())
            .count();
        let error = match (ok, files.as_slice()) {
            (0, [only]) => only.error.clone(),
            (0, []) => Some("the archive holds no document to process".into()),
            (0, _) => Some("no document of the batch could be extracted".into()),
            _ => None,
        };
        let next = if ok > 0 {
            JobStatus::ProcessImageSuccess
        } else {
            JobStatus::ProcessImageFailed
        };
        step(state, job, owner, status, next, error.as_deref()).await?;
        status = next;
    }
    let last = match status {
        JobStatus::ProcessImageSuccess => JobStatus::Success,
        JobStatus::ProcessImageFailed => JobStatus::Failed,
        other => anyhow::bail!("job {} is in {other}, which has no next step", job.id),
    };
    finish(state, owner, job, &template, status, last, None).await
}

/// One status move that must succeed: failing means the lease was lost.
async fn step(
    state: &AppState,
    job: &jobs::Model,
    owner: &str,
    from: JobStatus,
    to: JobStatus,
    error: Option<&str>,
) -> anyhow::Result<()> {
    if !db::jobs::move_status(&state.db, &job.id, owner, from, to, error).await? {
        anyhow::bail!(
            "job {} moved on without us ({from} -> {to} refused)",
            job.id
        );
    }
    tracing::info!(status = %to, "job status");
    Ok(())
}

/// The final move, with `batch.completed`, in one transaction.
async fn finish(
    state: &AppState,
    owner: &str,
    job: &jobs::Model,
    template: &LoadedTemplate,
    from: JobStatus,
    to: JobStatus,
    error: Option<&str>,
) -> anyhow::Result<()> {
    let txn = state.db.begin().await?;
    if !db::jobs::move_status(&txn, &job.id, owner, from, to, error).await? {
        anyhow::bail!(
            "job {} moved on without us ({from} -> {to} refused)",
            job.id
        );
    }
    let files = db::jobs::files_of(&txn, &job.id).await?;
    delivery::emit(
        &txn,
        NewEvent {
            event_type: EventType::BatchCompleted,
            account_id: &job.account_id,
            job_id: &job.id,
            file_id: None,
            template_id: &job.template_id,
            data: json!({
                "job_id": job.id,
                "template_id": job.template_id,
                "status": to.as_str(),
                "static_values": static_values(job),
                "files": files.iter().map(|f| json!({
                    "file_id": f.id, "file_name": f.file_name, "status": f.status, "pages": f.pages, "error": f.error,
                })).collect::<Vec<_>>(),
            }),
        },
        template.webhook.as_ref(),
    )
    .await?;
    txn.commit().await?;
    state.deliveries_ready.notify_one();
    tracing::info!(status = %to, "job finished");
    Ok(())
}

/// Ends a job that cannot go on: unfinished documents fail with `reason`, the job fails.
async fn abandon(
    state: &AppState,
    owner: &str,
    job: &jobs::Model,
    template: Option<&LoadedTemplate>,
    mut status: JobStatus,
    reason: &str,
) -> anyhow::Result<()> {
    tracing::error!(reason, "abandoning the job");
    for file in db::jobs::files_of(&state.db, &job.id).await? {
        if matches!(
            file.status.parse(),
            Ok(JobStatus::New | JobStatus::ProcessingImage)
        ) {
            fail_file(state, job, template, &file, reason).await?;
        }
    }
    while !status.is_final() {
        let next = match status {
            JobStatus::New | JobStatus::UnzipFileSuccess => JobStatus::ProcessingImage,
            JobStatus::UnzippingFile => JobStatus::UnzipFileFailed,
            JobStatus::ProcessingImage => JobStatus::ProcessImageFailed,
            JobStatus::ProcessImageSuccess => JobStatus::Success,
            _ => JobStatus::Failed,
        };
        let err = matches!(
            next,
            JobStatus::UnzipFileFailed | JobStatus::ProcessImageFailed
        )
        .then_some(reason);
        step(state, job, owner, status, next, err).await?;
        status = next;
    }
    Ok(())
}

/// Fails one document with `reason` and announces it.
async fn fail_file(
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

fn static_values(job: &jobs::Model) -> Value {
    serde_json::from_str(&job.static_values).unwrap_or_else(|_| json!({}))
}

/// Opens a ZIP job into its documents, or fails the job with the reason.
async fn unpack(
    state: &AppState,
    owner: &str,
    job: &jobs::Model,
    template: &LoadedTemplate,
) -> anyhow::Result<JobStatus> {
    let key = job
        .blob_key
        .clone()
        .unwrap_or_else(|| keys::upload(&job.id));
    let bytes = state.blobs.get(&key).await?;
    let limits = state.settings.limits.clone();
    let (blobs, job_id) = (state.blobs.clone(), job.id.clone());
    let runtime = tokio::runtime::Handle::current();
    // Each entry goes to blob storage before the next is read.
    let unpacked = tokio::task::spawn_blocking(move || {
        let mut stored = Vec::new();
        let skipped = unzip::unzip(&bytes, &limits, |i, entry| {
            let entry_key = keys::entry(&job_id, i);
            runtime.block_on(blobs.put(&entry_key, &entry.bytes))?;
            stored.push((entry.name, entry.kind, entry_key));
            Ok(())
        })?;
        Ok::<_, unzip::UnzipError>((stored, skipped))
    })
    .await?;
    match unpacked {
        Err(unzip::UnzipError::Store(e)) => Err(e.context("storing the archive's entries")),
        Err(unzip::UnzipError::Unsafe(unsafe_archive)) => {
            let reason = unsafe_archive.to_string();
            tracing::warn!(reason, "archive refused");
            step(
                state,
                job,
                owner,
                JobStatus::UnzippingFile,
                JobStatus::UnzipFileFailed,
                Some(&reason),
            )
            .await?;
            finish(
                state,
                owner,
                job,
                template,
                JobStatus::UnzipFileFailed,
                JobStatus::Failed,
                None,
            )
            .await?;
            state.blobs.delete(&key).await?;
            db::jobs::clear_blob_key(&state.db, &job.id).await?;
            Ok(JobStatus::Failed)
        }
        Ok((stored, skipped)) => {
            let now = db::now_ms();
            let rows = stored
                .iter()
                .enumerate()
                .map(|(i, (name, kind, entry_key))| {
                    new_file(&job.id, i as i64, name, *kind, entry_key, now)
                })
                .collect();
            let txn = state.db.begin().await?;
            db::jobs::insert_files(&txn, rows).await?;
            db::jobs::set_skipped(&txn, &job.id, &serde_json::to_string(&skipped)?).await?;
            if !db::jobs::move_status(
                &txn,
                &job.id,
                owner,
                JobStatus::UnzippingFile,
                JobStatus::UnzipFileSuccess,
                None,
            )
            .await?
            {
                anyhow::bail!("job {} moved on while unzipping", job.id);
            }
            txn.commit().await?;
            state.blobs.delete(&key).await?;
            db::jobs::clear_blob_key(&state.db, &job.id).await?;
            tracing::info!(
                documents = stored.len(),
                skipped = skipped.len(),
                "archive unpacked"
            );
            Ok(JobStatus::UnzipFileSuccess)
        }
    }
}

#[tracing::instrument(skip_all, fields(file_id = %file.id, file_name = %file.file_name))]
async fn process_file(
    state: &AppState,
    job: &jobs::Model,
    template: &LoadedTemplate,
    file: &files::Model,
) -> anyhow::Result<()> {
    db::jobs::start_file(&state.db, &file.id).await?;
    let kind: DocKind = file.kind.parse().map_err(anyhow::Error::msg)?;
    let stored = match file.blob_key.as_deref() {
        Some(key) => state.blobs.get(key).await,
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
    let read = read_with_progress(state, file, kind, bytes, &template.options.language).await;
    let extracted = match read {
        Ok(doc) => {
            let pages = doc.pages.len() as i64;
            let fields = template.fields.clone();
            let options = template.options.clone();
            let ex = tokio::task::spawn_blocking(move || rules::extract(&doc, &fields, &options))
                .await?;
            Ok((pages, ex))
        }
        Err(e) => Err(e.to_string()),
    };

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
        "result_status": extracted.map(|e| e.result_status()),
        "warnings": extracted.map_or(&[][..], |e| &e.warnings),
        "error": error,
    })
}

/// Reads a document while recording its page progress for `GET /job-status`.
async fn read_with_progress(
    state: &AppState,
    file: &files::Model,
    kind: DocKind,
    bytes: Vec<u8>,
    language: &str,
) -> Result<crate::extraction::Document, crate::extraction::ExtractionError> {
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
    let read = state.reader.read(kind, bytes, language, progress).await;
    recorder.await.ok();
    read
}
