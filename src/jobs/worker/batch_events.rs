//! The events about a whole job (SPEC §3): ready, processing, completed.

use sea_orm::TransactionTrait;
use serde_json::{json, Value};

use super::outcome::JobTemplate;
use super::Worker;
use crate::db::{
    self,
    entities::{files, jobs},
};
use crate::delivery::{self, NewEvent};
use crate::jobs::service::static_values_for_event;
use crate::jobs::JobError;
use crate::stages::Stage;
use crate::types::{EventType, JobStatus, Origin};

/// A job-level event with the job's ids and `data`'s members.
pub(crate) fn batch_event(
    job: &jobs::Model,
    event_type: EventType,
    origin: Origin,
    data: Value,
) -> NewEvent<'_> {
    let mut body = json!({"job_id": job.id, "template_id": job.template_id});
    if let (Value::Object(extra), Some(out)) = (data, body.as_object_mut()) {
        out.extend(extra);
    }
    NewEvent {
        event_type,
        account_id: &job.account_id,
        job_id: Some(&job.id),
        file_id: None,
        template_id: &job.template_id,
        about: None,
        origin,
        data: body,
    }
}

/// `batch.ready`: every document of the job is queued. The submission
/// caused it, so it carries the submitter's origin.
pub(crate) fn ready(job: &jobs::Model, documents: usize) -> NewEvent<'_> {
    batch_event(
        job,
        EventType::BatchReady,
        Origin::Api,
        json!({"documents": documents}),
    )
}

/// `batch.processing`: the first document started.
pub(super) fn processing(job: &jobs::Model) -> NewEvent<'_> {
    batch_event(job, EventType::BatchProcessing, Origin::System, json!({}))
}

/// `batch.completed` for a job that ended in `to` with these files.
pub(super) fn completed<'a>(
    job: &'a jobs::Model,
    to: JobStatus,
    files: &[files::Model],
) -> NewEvent<'a> {
    batch_event(
        job,
        EventType::BatchCompleted,
        Origin::System,
        json!({
            "status": to,
            "static_values": static_values_for_event(job),
            "files": files
                .iter()
                .map(|f| crate::jobs::results::file_status(&job.template_id, f))
                .collect::<Vec<_>>(),
        }),
    )
}

/// Moves the job to `PROCESSING IMAGE` and says so, in one transaction.
pub(super) async fn start_processing(
    w: &Worker,
    job: &jobs::Model,
    owner: &str,
    from: JobStatus,
    template: &JobTemplate,
) -> Result<(), JobError> {
    let starting = async {
        let txn = w.jobs.db.begin().await?;
        let to = JobStatus::ProcessingImage;
        if !db::jobs::move_status(&txn, &job.id, owner, from, to, None).await? {
            return Err(JobError::LeaseLost(job.id.clone()));
        }
        delivery::emit(&txn, processing(job), template.webhook()).await?;
        txn.commit().await?;
        Ok(())
    };
    w.jobs.stages.time(Stage::Statuses, starting).await?;
    w.jobs.deliveries_ready.notify_one();
    tracing::info!(status = %JobStatus::ProcessingImage, "job status");
    Ok(())
}
