//! Submit, status and results: what the API and the dashboard call.

use std::sync::Arc;

use sea_orm::{DatabaseConnection, TransactionTrait};
use serde_json::{json, Map, Value};

use super::views::Accepted;
use super::JobError;
use crate::audit::Audit;
use crate::config::Limits;
use crate::db::{
    self,
    entities::{files, jobs},
};
use crate::delivery::{self, NewEvent};
use crate::extraction::{DocKind, Reader};
use crate::stages::{Stage, Stages};
use crate::storage::{keys, BlobStore};
use crate::templates::Templates;
use crate::types::{AccountId, EventType, FileId, JobId, JobStatus, Origin, TemplateChoice};
use crate::wake::Wake;

const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// Jobs of every account: submission, status, results, lists, page images
/// and review. The workers that run them are [`super::worker`].
#[derive(Clone)]
pub struct Jobs {
    pub(super) db: DatabaseConnection,
    pub(super) blobs: BlobStore,
    pub(super) templates: Templates,
    pub(super) reader: Reader,
    pub(super) limits: Arc<Limits>,
    /// Wakes job workers when a job is submitted (in any process, on PostgreSQL).
    pub(super) jobs_ready: Wake,
    /// Wakes delivery dispatchers when events are stored.
    pub(super) deliveries_ready: Wake,
    pub(super) stages: Stages,
    /// Where deletions, restores and erasures are recorded.
    pub(super) audit: Audit,
    /// Makes erasures physical (a vacuum on PostgreSQL).
    pub(super) settler: crate::db::erasure::Settler,
}

/// A document as the API received it, before any check.
pub struct Upload {
    pub template_id: String,
    pub bytes: Vec<u8>,
    pub file_name: Option<String>,
    pub static_values: Map<String, Value>,
    pub idempotency_key: Option<String>,
}

/// Keeps the last path component and at most 255 bytes of a client-supplied name.
fn clean_file_name(name: Option<&str>, kind: DocKind) -> String {
    let base = name
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or("").trim())
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>());
    let mut name = base.unwrap_or_else(|| format!("document.{}", kind.as_str()));
    while name.len() > 255 {
        name.pop();
    }
    name
}

fn request_hash(u: &Upload) -> String {
    let mut h = crate::crypto::sha256_hex(&u.bytes);
    h.push_str(&u.template_id);
    h.push_str(u.file_name.as_deref().unwrap_or(""));
    h.push_str(&Value::Object(u.static_values.clone()).to_string());
    crate::crypto::sha256_hex(h.as_bytes())
}

/// A job's static values, as stored.
pub(super) fn static_values(job: &jobs::Model) -> Result<Map<String, Value>, JobError> {
    Ok(db::json("jobs.static_values", &job.static_values)?)
}

/// A job's static values as its events carry them. What does not read back
/// is logged and sent as `null`: the job still finishes (or fails) and says
/// so, instead of failing again on its own report at every claim.
pub(super) fn static_values_for_event(job: &jobs::Model) -> Value {
    match static_values(job) {
        Ok(values) => Value::Object(values),
        Err(e) => {
            tracing::error!(job_id = %job.id, error = %e, "the job's static values do not read back; its events carry null");
            Value::Null
        }
    }
}

fn accepted(job: &jobs::Model) -> Result<Accepted, JobError> {
    Ok(Accepted {
        job_id: job.id.clone(),
        template_id: job.template_id.clone(),
        static_values: static_values(job)?,
    })
}

impl Jobs {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db: DatabaseConnection,
        blobs: BlobStore,
        templates: Templates,
        reader: Reader,
        limits: Limits,
        jobs_ready: Wake,
        deliveries_ready: Wake,
        stages: Stages,
    ) -> Self {
        Self {
            audit: Audit::new(db.clone()),
            settler: Default::default(),
            db,
            blobs,
            templates,
            reader,
            limits: Arc::new(limits),
            jobs_ready,
            deliveries_ready,
            stages,
        }
    }

    /// The largest document a job may hold, in bytes.
    pub fn max_upload(&self) -> u64 {
        self.limits.max_upload_bytes
    }

    /// Checks and stores a document, creates its job and announces it.
    pub async fn submit(
        &self,
        account_id: &AccountId,
        upload: Upload,
    ) -> Result<Accepted, JobError> {
        let stages = self.stages.clone();
        stages
            .time(Stage::Submit, self.submit_now(account_id, upload))
            .await
    }

    #[tracing::instrument(skip_all, fields(job_id))]
    async fn submit_now(
        &self,
        account_id: &AccountId,
        mut upload: Upload,
    ) -> Result<Accepted, JobError> {
        let limit = self.limits.max_upload_bytes;
        if upload.bytes.len() as u64 > limit {
            return Err(JobError::TooLarge {
                size: upload.bytes.len() as u64,
                limit,
            });
        }
        let template = match upload.template_id.parse::<TemplateChoice>() {
            Ok(TemplateChoice::Fixed(id)) => Some(self.templates.for_job(account_id, &id).await?),
            Ok(TemplateChoice::Auto) => None,
            Err(_) => {
                return Err(
                    crate::templates::TemplateError::NotFound(upload.template_id.clone()).into(),
                )
            }
        };
        let choice = template.as_ref().map_or(TemplateChoice::Auto, |t| {
            TemplateChoice::Fixed(t.id.clone())
        });
        if upload.bytes.is_empty() {
            return Err(JobError::EmptyDocument);
        }
        let kind = DocKind::detect(&upload.bytes).ok_or(JobError::NotADocument)?;
        let hash = request_hash(&upload);
        if let Some(key) = &upload.idempotency_key {
            if let Some(existing) = self.idempotent_replay(account_id, key, &hash).await? {
                return Ok(existing);
            }
        }
        self.admit(account_id, upload.bytes.len() as u64).await?;

        let job_id = JobId::new();
        tracing::Span::current().record("job_id", job_id.as_str());
        let file_name = clean_file_name(upload.file_name.as_deref(), kind);
        let blob_key = keys::upload(&job_id);
        let size = upload.bytes.len();
        // Handed to the store without a copy: a large upload sits in memory once.
        let bytes = bytes::Bytes::from(std::mem::take(&mut upload.bytes));
        if let Err(e) = self.blobs.put(&blob_key, bytes).await {
            self.forget_upload(&job_id).await;
            return Err(e.into());
        }

        let now = db::now_ms();
        let static_json = Value::Object(upload.static_values.clone()).to_string();
        let job = jobs::Model {
            id: job_id.clone(),
            account_id: account_id.clone(),
            template_id: choice,
            status: JobStatus::New,
            error: None,
            static_values: static_json,
            source_name: file_name.clone(),
            source_kind: kind,
            blob_key: (kind == DocKind::Zip).then(|| blob_key.clone()),
            skipped: "[]".into(),
            idempotency_key: upload.idempotency_key.clone(),
            request_hash: Some(hash.clone()),
            lease_owner: None,
            lease_expires_at: None,
            claims: 0,
            created_at: now,
            updated_at: now,
            finished_at: None,
            purged_at: None,
            deleted_at: None,
            erased_at: None,
            held_at: None,
            lock_holder: None,
            lock_expires_at: None,
        };
        let file_rows = if kind == DocKind::Zip {
            vec![]
        } else {
            vec![new_file(&job_id, 0, &file_name, kind, &blob_key, now)]
        };
        let recorded = self
            .record(&job, file_rows, template.as_ref(), &upload.static_values)
            .await;
        if let Err(e) = recorded {
            // A commit cut off on its way back may have been made: the upload
            // goes only once the job is known not to exist.
            match db::jobs::get_any(&self.db, &job_id).await {
                Ok(None) => self.forget_upload(&job_id).await,
                Ok(Some(_)) => {}
                Err(unknown) => {
                    tracing::warn!(error = %unknown, "whether the job was recorded is not known; its upload is kept");
                }
            }
            // A concurrent request with the same key won the insert: answer with its job.
            if let Some(key) = &upload.idempotency_key {
                if let Some(existing) = self.idempotent_replay(account_id, key, &hash).await? {
                    return Ok(existing);
                }
            }
            return Err(e);
        }
        self.jobs_ready.notify_one();
        self.deliveries_ready.notify_one();
        tracing::info!(kind = %kind, bytes = size, "job accepted");
        accepted(&job)
    }

    /// Removes everything stored for a job that was not recorded.
    async fn forget_upload(&self, job_id: &JobId) {
        let prefix = keys::job_prefix(job_id);
        if let Err(e) = self.blobs.delete_prefix(&prefix).await {
            tracing::error!(blobs = %prefix, error = %e, "the upload of a job that was not recorded could not be removed");
        }
    }

    /// The job, its first file (unless it is a ZIP) and its `job.received`
    /// event, in one transaction.
    async fn record(
        &self,
        job: &jobs::Model,
        file_rows: Vec<files::Model>,
        template: Option<&crate::templates::LoadedTemplate>,
        static_values: &Map<String, Value>,
    ) -> Result<(), JobError> {
        let txn = self.db.begin().await?;
        let documents = file_rows.len();
        db::jobs::insert(&txn, job.clone(), file_rows).await?;
        let received = NewEvent {
            event_type: EventType::JobReceived,
            account_id: &job.account_id,
            job_id: Some(&job.id),
            file_id: None,
            template_id: &job.template_id,
            about: None,
            origin: Origin::Api,
            data: json!({
                "job_id": job.id,
                "template_id": job.template_id,
                "file_name": job.source_name,
                "static_values": static_values,
            }),
        };
        // A single document is queued at once; an archive's once unpacked.
        let ready = (documents > 0).then(|| super::worker::batch_events::ready(job, documents));
        let evs = std::iter::once(received).chain(ready).collect();
        delivery::emit_all(&txn, evs, template.and_then(|t| t.webhook.as_ref())).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Admission control: refuses an account that has its most documents
    /// queued, and any upload that would take the blob store's disk under
    /// its free-space watermark.
    async fn admit(&self, account_id: &AccountId, size: u64) -> Result<(), JobError> {
        let limit = self.limits.max_queued_documents;
        if limit > 0 {
            let queued = db::jobs::queued_documents(&self.db, account_id).await?;
            if queued >= limit {
                return Err(JobError::Busy { queued, limit });
            }
        }
        match self.blobs.space() {
            Some(Ok(space)) => {
                let watermark = self.limits.free_space_watermark(space.total);
                let needed = watermark.saturating_add(size);
                if watermark > 0 && space.available < needed {
                    tracing::warn!(
                        free = space.available,
                        needed,
                        "upload refused: the blob store's disk is under its free-space watermark"
                    );
                    return Err(JobError::LowOnSpace);
                }
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "the blob store's free space could not be read")
            }
            None => {}
        }
        Ok(())
    }

    /// The first job's 202 body for a repeated key and body; refused for a repeated key with another body.
    async fn idempotent_replay(
        &self,
        account_id: &AccountId,
        key: &str,
        hash: &str,
    ) -> Result<Option<Accepted>, JobError> {
        let since = db::now_ms() - IDEMPOTENCY_WINDOW_MS;
        match db::jobs::find_by_idempotency_key(&self.db, account_id, key, since).await? {
            Some(job) if job.request_hash.as_deref() == Some(hash) => Ok(Some(accepted(&job)?)),
            Some(_) => Err(JobError::Rejected(
                "this Idempotency-Key was already used with a different request body".into(),
            )),
            None => {
                db::jobs::forget_idempotency_key(&self.db, account_id, key).await?;
                Ok(None)
            }
        }
    }

    pub(super) async fn owned(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
    ) -> Result<jobs::Model, JobError> {
        // An erased job is gone: only its id stays, for the ledger.
        db::jobs::get(&self.db, account_id, job_id)
            .await?
            .filter(|j| j.erased_at.is_none())
            .ok_or_else(|| JobError::NotFound(job_id.clone()))
    }

    /// A file of the account's job.
    pub(super) async fn owned_file(
        &self,
        job: &jobs::Model,
        file_id: &FileId,
    ) -> Result<files::Model, JobError> {
        db::files::get(&self.db, file_id)
            .await?
            .filter(|f| f.job_id == job.id && f.erased_at.is_none())
            .ok_or_else(|| JobError::FileNotFound {
                job: job.id.clone(),
                file: file_id.clone(),
            })
    }
}

pub(crate) fn new_file(
    job_id: &JobId,
    ordinal: i64,
    name: &str,
    kind: DocKind,
    blob_key: &str,
    now: i64,
) -> files::Model {
    files::Model {
        id: FileId::new(),
        job_id: job_id.clone(),
        ordinal,
        file_name: name.to_string(),
        kind,
        blob_key: Some(blob_key.to_string()),
        status: JobStatus::New,
        pages: None,
        error: None,
        result: None,
        warnings: None,
        result_status: None,
        pages_total: None,
        pages_done: None,
        confidences: None,
        boxes: None,
        template_id: None,
        deleted_at: None,
        erased_at: None,
        created_at: now,
        updated_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_paths_and_default_by_kind() {
        assert_eq!(
            clean_file_name(Some("../../etc/a.pdf"), DocKind::Pdf),
            "a.pdf"
        );
        assert_eq!(clean_file_name(Some("C:\\x\\b.png"), DocKind::Png), "b.png");
        assert_eq!(clean_file_name(None, DocKind::Pdf), "document.pdf");
        assert_eq!(clean_file_name(Some("  "), DocKind::Zip), "document.zip");
    }
}
