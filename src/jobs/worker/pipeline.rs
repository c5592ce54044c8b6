//! One job's moves: unzip an archive into its documents, read each document,
//! and finish with `batch.completed`, or abandon the job with a reason.

use sea_orm::TransactionTrait;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::outcome::{fail_file, process_file, read_file, record, static_values};
use crate::db::jobs::Move;
use crate::db::{
    self,
    entities::{files, jobs},
};
use crate::delivery::{self, NewEvent};
use crate::error::AppError;
use crate::extraction::DocKind;
use crate::jobs::service::new_file;
use crate::jobs::status::JobStatus;
use crate::jobs::unzip;
use crate::outbound::EventType;
use crate::stages::Stage;
use crate::state::AppState;
use crate::storage::keys;
use crate::templates::service::LoadedTemplate;
use crate::transient;

/// A job claimed this many times without finishing is failed instead of retried again.
/// (Claims given back after a passing database or storage failure do not count.)
const MAX_CLAIMS: i64 = 10;

pub(super) async fn process(
    state: &AppState,
    owner: &str,
    job: &jobs::Model,
    lost: &CancellationToken,
) -> anyhow::Result<()> {
    let mut status: JobStatus = job.status.parse().map_err(anyhow::Error::msg)?;
    let template = match Stage::Claim
        .time(state.load_template(&job.template_id))
        .await
    {
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
    if status == JobStatus::New && kind != DocKind::Zip {
        return read_only_document(state, owner, job, &template, lost).await;
    }
    if status == JobStatus::UnzipFileSuccess {
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
                process_file(state, job, &template, &file, lost).await?;
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
        // Both of the job's last moves go in one transaction (each in its history).
        let last = final_status(job, next)?;
        let moves = [Move::now(next, error.as_deref()), Move::now(last, None)];
        return finish(state, owner, job, &template, status, &moves).await;
    }
    let last = final_status(job, status)?;
    finish(
        state,
        owner,
        job,
        &template,
        status,
        &[Move::now(last, None)],
    )
    .await
}

/// A job of one document that has not started: read it, then write its
/// outcome, charge, the job's moves and both events in one transaction.
/// Only a reading that takes a while writes its start first.
async fn read_only_document(
    state: &AppState,
    owner: &str,
    job: &jobs::Model,
    template: &LoadedTemplate,
    lost: &CancellationToken,
) -> anyhow::Result<()> {
    let files = db::jobs::files_of(&state.db, &job.id).await?;
    let [file] = files.as_slice() else {
        anyhow::bail!("job {} holds {} documents, not one", job.id, files.len());
    };
    let started = Move::now(JobStatus::ProcessingImage, None);
    let shown = async {
        step(state, job, owner, JobStatus::New, started.to, None).await?;
        Ok(db::jobs::start_file(&state.db, &file.id).await?)
    };
    let (reading, was_shown) = read_file(state, template, file, lost, shown).await?;

    let _recording = Stage::Record.start();
    let txn = state.db.begin().await?;
    let Some(recorded) = record(&txn, job, file, reading).await? else {
        anyhow::bail!("job {}: its document was finished without it", job.id);
    };
    let last = final_status(job, recorded.status)?;
    let error = recorded.file.error.as_deref();
    let (from, mut moves) = if was_shown {
        (started.to, vec![])
    } else {
        (JobStatus::New, vec![started])
    };
    moves.extend([Move::now(recorded.status, error), Move::now(last, None)]);
    if !db::jobs::advance(&txn, &job.id, owner, from, &moves).await? {
        anyhow::bail!(
            "job {} moved on without us ({from} -> {last} refused)",
            job.id
        );
    }
    let events = vec![
        recorded.event(job, &file.id),
        batch_completed(job, last, std::slice::from_ref(&recorded.file)),
    ];
    let emitted = delivery::emit_all(&txn, events, template.webhook.as_ref()).await?;
    txn.commit().await?;
    state.deliveries_ready.notify_one();
    tracing::info!(status = %last, "job finished");
    recorded.release_upload(state, &emitted[0]).await
}

fn final_status(job: &jobs::Model, status: JobStatus) -> anyhow::Result<JobStatus> {
    match status {
        JobStatus::ProcessImageSuccess => Ok(JobStatus::Success),
        JobStatus::ProcessImageFailed => Ok(JobStatus::Failed),
        other => anyhow::bail!("job {} is in {other}, which has no next step", job.id),
    }
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
    let moved = db::jobs::move_status(&state.db, &job.id, owner, from, to, error);
    if !Stage::Statuses.time(moved).await? {
        anyhow::bail!(
            "job {} moved on without us ({from} -> {to} refused)",
            job.id
        );
    }
    tracing::info!(status = %to, "job status");
    Ok(())
}

/// The last moves (the final one last), with `batch.completed`, in one transaction.
async fn finish(
    state: &AppState,
    owner: &str,
    job: &jobs::Model,
    template: &LoadedTemplate,
    from: JobStatus,
    moves: &[Move<'_>],
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let finished = finish_in_txn(state, owner, job, template, from, moves).await;
    Stage::Statuses.add(started.elapsed());
    let to = finished?;
    state.deliveries_ready.notify_one();
    tracing::info!(status = %to, "job finished");
    Ok(())
}

async fn finish_in_txn(
    state: &AppState,
    owner: &str,
    job: &jobs::Model,
    template: &LoadedTemplate,
    from: JobStatus,
    moves: &[Move<'_>],
) -> anyhow::Result<JobStatus> {
    let Some(to) = moves.last().map(|m| m.to) else {
        anyhow::bail!("job {}: no move to finish with", job.id);
    };
    let txn = state.db.begin().await?;
    if !db::jobs::advance(&txn, &job.id, owner, from, moves).await? {
        anyhow::bail!(
            "job {} moved on without us ({from} -> {to} refused)",
            job.id
        );
    }
    let files = db::jobs::files_of(&txn, &job.id).await?;
    let batch = batch_completed(job, to, &files);
    delivery::emit(&txn, batch, template.webhook.as_ref()).await?;
    txn.commit().await?;
    Ok(to)
}

/// `batch.completed` for a job that ended in `to` with these files.
fn batch_completed<'a>(
    job: &'a jobs::Model,
    to: JobStatus,
    files: &[files::Model],
) -> NewEvent<'a> {
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
    }
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
            runtime.block_on(blobs.put(&entry_key, entry.bytes.into()))?;
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
            let last = [Move::now(JobStatus::Failed, None)];
            finish(
                state,
                owner,
                job,
                template,
                JobStatus::UnzipFileFailed,
                &last,
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
