//! One job's moves: unzip an archive into its documents, read each document,
//! and finish with `batch.completed`, or abandon the job with a reason.

use sea_orm::TransactionTrait;

use tokio_util::sync::CancellationToken;

use super::outcome::{fail_file, process_file, read_file, record, JobTemplate};
use super::{batch_events, Worker};
use crate::db::jobs::Move;
use crate::db::{self, entities::jobs};
use crate::delivery;
use crate::extraction::DocKind;
use crate::jobs::service::new_file;
use crate::jobs::unzip;
use crate::jobs::JobError;
use crate::stages::Stage;
use crate::storage::keys;
use crate::templates::TemplateError;
use crate::types::{JobStatus, TemplateChoice};

/// A job claimed this many times without finishing is failed instead of retried again.
/// (Claims given back after a passing database or storage failure do not count.)
const MAX_CLAIMS: i64 = 10;

pub(super) async fn process(
    w: &Worker,
    owner: &str,
    job: &jobs::Model,
    lost: &CancellationToken,
) -> Result<(), JobError> {
    let mut status = job.status;
    let loading = async {
        match &job.template_id {
            TemplateChoice::Fixed(id) => w
                .jobs
                .templates
                .load(id)
                .await
                .map(|t| JobTemplate::Fixed(Box::new(t))),
            TemplateChoice::Auto => w
                .jobs
                .templates
                .candidates(&job.account_id)
                .await
                .map(JobTemplate::Auto),
        }
    };
    let template = match w.jobs.stages.time(Stage::Claim, loading).await {
        Ok(t) => t,
        // The database may be back in a moment: the job is put back, not failed.
        Err(e) if e.blame().is_retryable() => return Err(e.into()),
        Err(e @ (TemplateError::NotFound(_) | TemplateError::Stale { .. })) => {
            let reason = match e {
                TemplateError::NotFound(_) => "the job's template no longer exists".to_string(),
                stale => stale.to_string(),
            };
            return abandon(w, owner, job, None, status, &reason).await;
        }
        Err(e) => {
            tracing::error!(error.cause_chain = ?e, "the job's template cannot be used");
            let reason = "the job's template cannot be read; see the service log";
            return abandon(w, owner, job, None, status, reason).await;
        }
    };
    if job.claims > MAX_CLAIMS {
        let reason = format!(
            "processing stopped after {MAX_CLAIMS} attempts; see the service log for job {}",
            job.id
        );
        return abandon(w, owner, job, Some(&template), status, &reason).await;
    }
    let kind = job.source_kind;

    if status == JobStatus::New && kind == DocKind::Zip {
        step(w, job, owner, status, JobStatus::UnzippingFile, None).await?;
        status = JobStatus::UnzippingFile;
    }
    if status == JobStatus::UnzippingFile {
        status = unpack(w, owner, job, &template).await?;
        if status.is_final() {
            return Ok(());
        }
    }
    if status == JobStatus::New && kind != DocKind::Zip {
        return read_only_document(w, owner, job, &template, lost).await;
    }
    if status == JobStatus::UnzipFileSuccess {
        batch_events::start_processing(w, job, owner, status, &template).await?;
        status = JobStatus::ProcessingImage;
    }
    if status == JobStatus::ProcessingImage {
        for file in db::files::of_job(&w.jobs.db, &job.id).await? {
            if lost.is_cancelled() {
                return Err(JobError::LeaseLost(job.id.clone()));
            }
            if file.status.is_unread() {
                process_file(w, job, &template, &file, lost).await?;
            }
        }
        let files = db::files::of_job(&w.jobs.db, &job.id).await?;
        let ok = files
            .iter()
            .filter(|f| f.status == JobStatus::ProcessImageSuccess)
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
        return finish(w, owner, job, &template, status, &moves).await;
    }
    let last = final_status(job, status)?;
    finish(w, owner, job, &template, status, &[Move::now(last, None)]).await
}

/// A job of one document that has not started: read it, then write its
/// outcome, charge, the job's moves and both events in one transaction.
/// Only a reading that takes a while writes its start first.
async fn read_only_document(
    w: &Worker,
    owner: &str,
    job: &jobs::Model,
    template: &JobTemplate,
    lost: &CancellationToken,
) -> Result<(), JobError> {
    let files = db::files::of_job(&w.jobs.db, &job.id).await?;
    let [file] = files.as_slice() else {
        return Err(JobError::Unexpected(format!(
            "job {} holds {} documents, not one",
            job.id,
            files.len()
        )));
    };
    let started = Move::now(JobStatus::ProcessingImage, None);
    let shown = async {
        batch_events::start_processing(w, job, owner, JobStatus::New, template).await?;
        Ok(db::files::start(&w.jobs.db, &file.id).await?)
    };
    let (reading, was_shown) = read_file(w, template, file, lost, shown).await?;
    let file_webhook = reading.webhook(Some(template)).cloned();

    let _recording = w.jobs.stages.start(Stage::Record);
    let txn = w.jobs.db.begin().await?;
    let Some(recorded) = record(&txn, job, file, reading).await? else {
        return Err(JobError::Unexpected(format!(
            "job {}: its document was finished without it",
            job.id
        )));
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
        return Err(JobError::LeaseLost(job.id.clone()));
    }
    let file_event = recorded.event(job, &file.id);
    let batch = batch_events::completed(job, last, std::slice::from_ref(&recorded.file));
    // A reading too short to be shown starting says so with its outcome.
    let processing = (!was_shown).then(|| batch_events::processing(job));
    let emitted = match template {
        // One template's webhook takes every event.
        JobTemplate::Fixed(t) => {
            let evs = processing.into_iter().chain([file_event, batch]).collect();
            let mut out = delivery::emit_all(&txn, evs, t.webhook.as_ref()).await?;
            out.split_off(out.len() - 2)
        }
        // The document's event goes to its chosen template's webhook; the job has none.
        JobTemplate::Auto(_) => {
            if let Some(p) = processing {
                delivery::emit(&txn, p, None).await?;
            }
            vec![
                delivery::emit(&txn, file_event, file_webhook.as_ref()).await?,
                delivery::emit(&txn, batch, None).await?,
            ]
        }
    };
    txn.commit().await?;
    w.jobs.deliveries_ready.notify_one();
    tracing::info!(status = %last, "job finished");
    recorded.release_upload(w, &emitted[0]).await
}

fn final_status(job: &jobs::Model, status: JobStatus) -> Result<JobStatus, JobError> {
    status.final_after().ok_or_else(|| {
        JobError::Unexpected(format!(
            "job {} is in {status}, which has no next step",
            job.id
        ))
    })
}

/// One status move that must succeed: failing means the lease was lost.
async fn step(
    w: &Worker,
    job: &jobs::Model,
    owner: &str,
    from: JobStatus,
    to: JobStatus,
    error: Option<&str>,
) -> Result<(), JobError> {
    let moved = db::jobs::move_status(&w.jobs.db, &job.id, owner, from, to, error);
    if !w.jobs.stages.time(Stage::Statuses, moved).await? {
        return Err(JobError::LeaseLost(job.id.clone()));
    }
    tracing::info!(status = %to, "job status");
    Ok(())
}

/// The last moves (the final one last), with `batch.completed`, in one transaction.
async fn finish(
    w: &Worker,
    owner: &str,
    job: &jobs::Model,
    template: &JobTemplate,
    from: JobStatus,
    moves: &[Move<'_>],
) -> Result<(), JobError> {
    let finishing = finish_in_txn(w, owner, job, template, from, moves);
    let to = w.jobs.stages.time(Stage::Statuses, finishing).await?;
    w.jobs.deliveries_ready.notify_one();
    tracing::info!(status = %to, "job finished");
    Ok(())
}

async fn finish_in_txn(
    w: &Worker,
    owner: &str,
    job: &jobs::Model,
    template: &JobTemplate,
    from: JobStatus,
    moves: &[Move<'_>],
) -> Result<JobStatus, JobError> {
    let Some(to) = moves.last().map(|m| m.to) else {
        return Err(JobError::Unexpected(format!(
            "job {}: no move to finish with",
            job.id
        )));
    };
    let txn = w.jobs.db.begin().await?;
    if !db::jobs::advance(&txn, &job.id, owner, from, moves).await? {
        return Err(JobError::LeaseLost(job.id.clone()));
    }
    let files = db::files::of_job(&txn, &job.id).await?;
    let batch = batch_events::completed(job, to, &files);
    delivery::emit(&txn, batch, template.webhook()).await?;
    txn.commit().await?;
    Ok(to)
}

/// Ends a job that cannot go on: unfinished documents fail with `reason`, the job fails.
async fn abandon(
    w: &Worker,
    owner: &str,
    job: &jobs::Model,
    template: Option<&JobTemplate>,
    mut status: JobStatus,
    reason: &str,
) -> Result<(), JobError> {
    tracing::error!(reason, "abandoning the job");
    for file in db::files::of_job(&w.jobs.db, &job.id).await? {
        if file.status.is_unread() {
            fail_file(w, job, template, &file, reason).await?;
        }
    }
    while let Some(next) = status.toward_failure() {
        let err = next.records_error().then_some(reason);
        step(w, job, owner, status, next, err).await?;
        status = next;
    }
    Ok(())
}

/// Opens a ZIP job into its documents, or fails the job with the reason.
async fn unpack(
    w: &Worker,
    owner: &str,
    job: &jobs::Model,
    template: &JobTemplate,
) -> Result<JobStatus, JobError> {
    let key = job
        .blob_key
        .clone()
        .unwrap_or_else(|| keys::upload(&job.id));
    let bytes = w.jobs.blobs.get(&key).await?;
    let limits = (*w.jobs.limits).clone();
    let (blobs, job_id) = (w.jobs.blobs.clone(), job.id.clone());
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
        Ok::<_, unzip::UnzipError<crate::storage::StorageError>>((stored, skipped))
    })
    .await
    .map_err(|e| JobError::Unexpected(format!("unpacking the archive stopped: {e}")))?;
    match unpacked {
        Err(unzip::UnzipError::Store(e)) => Err(e.into()),
        Err(unzip::UnzipError::Unsafe(unsafe_archive)) => {
            let reason = unsafe_archive.to_string();
            tracing::warn!(reason, "archive refused");
            step(
                w,
                job,
                owner,
                JobStatus::UnzippingFile,
                JobStatus::UnzipFileFailed,
                Some(&reason),
            )
            .await?;
            let last = [Move::now(JobStatus::Failed, None)];
            finish(w, owner, job, template, JobStatus::UnzipFileFailed, &last).await?;
            w.jobs.blobs.delete(&key).await?;
            db::jobs::clear_blob_key(&w.jobs.db, &job.id).await?;
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
            let txn = w.jobs.db.begin().await?;
            db::files::insert(&txn, rows).await?;
            delivery::emit(
                &txn,
                batch_events::ready(job, stored.len()),
                template.webhook(),
            )
            .await?;
            let skipped_json = serde_json::to_string(&skipped).expect("skipped entries serialise");
            db::jobs::set_skipped(&txn, &job.id, &skipped_json).await?;
            let moved = db::jobs::move_status(
                &txn,
                &job.id,
                owner,
                JobStatus::UnzippingFile,
                JobStatus::UnzipFileSuccess,
                None,
            );
            if !moved.await? {
                return Err(JobError::LeaseLost(job.id.clone()));
            }
            txn.commit().await?;
            w.jobs.deliveries_ready.notify_one();
            w.jobs.blobs.delete(&key).await?;
            db::jobs::clear_blob_key(&w.jobs.db, &job.id).await?;
            tracing::info!(
                documents = stored.len(),
                skipped = skipped.len(),
                "archive unpacked"
            );
            Ok(JobStatus::UnzipFileSuccess)
        }
    }
}
