//! Submit, status and results: what the API and the dashboard call.

use std::sync::Arc;

use sea_orm::{DatabaseConnection, TransactionTrait};
use serde_json::{json, Map, Value};

use super::unzip::Skipped;
use super::views::{
    Accepted, FileResult, JobFileStatus, JobResults, JobStatusView, Progress, Transition,
};
use super::JobError;
use crate::config::Limits;
use crate::db::{
    self,
    entities::{files, jobs},
    rfc3339,
};
use crate::delivery::{self, NewEvent};
use crate::extraction::{DocKind, Reader};
use crate::stages::{Stage, Stages};
use crate::storage::{keys, BlobStore};
use crate::templates::Templates;
use crate::types::{AccountId, EventType, FileId, JobId, JobStatus, TemplateId};
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
}

/// A document as the API received it, before any check.
pub struct Upload {
    pub template_id: String,
    pub bytes: Vec<u8>,
    pub file_name: Option<String>,
    pub static_values: Map<String, Value>,
    pub idempotency_key: Option<String>,
}

/// The shape results take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResultFormat {
    Json,
    Csv,
}

pub enum Results {
    Json(JobResults),
    Csv(String),
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
        let template_id = TemplateId::parse(&upload.template_id)
            .ok_or_else(|| crate::templates::TemplateError::NotFound(upload.template_id.clone()))?;
        let template = self.templates.for_job(account_id, &template_id).await?;
        if upload.bytes.is_empty() {
            return Err(JobError::Rejected(
                "actual_image is empty: send the document's bytes".into(),
            ));
        }
        let kind = DocKind::detect(&upload.bytes).ok_or(JobError::NotADocument)?;
        let hash = request_hash(&upload);
        if let Some(key) = &upload.idempotency_key {
            if let Some(existing) = self.idempotent_replay(account_id, key, &hash).await? {
                return Ok(existing);
            }
        }

        let job_id = JobId::new();
        tracing::Span::current().record("job_id", job_id.as_str());
        let file_name = clean_file_name(upload.file_name.as_deref(), kind);
        let blob_key = keys::upload(&job_id);
        let size = upload.bytes.len();
        // Handed to the store without a copy: a large upload sits in memory once.
        let bytes = bytes::Bytes::from(std::mem::take(&mut upload.bytes));
        self.blobs.put(&blob_key, bytes).await?;

        let now = db::now_ms();
        let static_json = Value::Object(upload.static_values.clone()).to_string();
        let job = jobs::Model {
            id: job_id.clone(),
            account_id: account_id.clone(),
            template_id: template.id.clone(),
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
        };
        let file_rows = if kind == DocKind::Zip {
            vec![]
        } else {
            vec![new_file(&job_id, 0, &file_name, kind, &blob_key, now)]
        };
        let txn = self.db.begin().await?;
        let inserted = db::jobs::insert(&txn, job.clone(), file_rows).await;
        if let Err(e) = inserted {
            drop(txn);
            self.blobs.delete(&blob_key).await.ok();
            // A concurrent request with the same key won the insert: answer with its job.
            if let Some(key) = &upload.idempotency_key {
                if let Some(existing) = self.idempotent_replay(account_id, key, &hash).await? {
                    return Ok(existing);
                }
            }
            return Err(e.into());
        }
        delivery::emit(
            &txn,
            NewEvent {
                event_type: EventType::JobReceived,
                account_id,
                job_id: &job_id,
                file_id: None,
                template_id: &template.id,
                data: json!({
                    "job_id": job_id,
                    "template_id": template.id,
                    "file_name": file_name,
                    "static_values": upload.static_values,
                }),
            },
            template.webhook.as_ref(),
        )
        .await?;
        txn.commit().await?;
        self.jobs_ready.notify_one();
        self.deliveries_ready.notify_one();
        tracing::info!(kind = %kind, bytes = size, "job accepted");
        accepted(&job)
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
        db::jobs::get(&self.db, account_id, job_id)
            .await?
            .ok_or_else(|| JobError::NotFound(job_id.clone()))
    }

    /// A file of the account's job.
    pub(super) async fn owned_file(
        &self,
        job: &jobs::Model,
        file_id: &FileId,
    ) -> Result<files::Model, JobError> {
        db::jobs::get_file(&self.db, file_id)
            .await?
            .filter(|f| f.job_id == job.id)
            .ok_or_else(|| JobError::FileNotFound {
                job: job.id.clone(),
                file: file_id.clone(),
            })
    }

    pub async fn status(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
    ) -> Result<JobStatusView, JobError> {
        let job = self.owned(account_id, job_id).await?;
        let files = db::jobs::files_of(&self.db, &job.id).await?;
        let history = db::jobs::transitions(&self.db, &job.id).await?;
        let skipped: Vec<Skipped> = db::json("jobs.skipped", &job.skipped)?;
        let done = files
            .iter()
            .filter(|f| f.status.is_document_outcome())
            .count();
        let pages_total: i64 = files.iter().filter_map(|f| f.pages_total.or(f.pages)).sum();
        let pages_done: i64 = files
            .iter()
            .filter_map(|f| {
                if f.status.is_document_outcome() {
                    f.pages_total.or(f.pages)
                } else {
                    f.pages_done
                }
            })
            .sum();
        Ok(JobStatusView {
            job_id: job.id,
            template_id: job.template_id,
            status: job.status,
            error: job.error,
            created_at: rfc3339(job.created_at),
            updated_at: rfc3339(job.updated_at),
            files: files.iter().map(file_status).collect(),
            skipped,
            progress: Progress {
                total: files.len() as u64,
                done: done as u64,
                pages_total: pages_total.max(0) as u64,
                pages_done: pages_done.max(0) as u64,
            },
            history: history
                .into_iter()
                .map(|t| Transition {
                    status: t.status,
                    at: rfc3339(t.at),
                })
                .collect(),
        })
    }

    pub async fn results(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
        format: ResultFormat,
    ) -> Result<Results, JobError> {
        let job = self.owned(account_id, job_id).await?;
        if job.purged_at.is_some() {
            return Err(JobError::Purged(job.id));
        }
        if job.finished_at.is_none() {
            return Err(JobError::Running {
                job: job.id,
                status: job.status,
            });
        }
        let files = db::jobs::files_of(&self.db, &job.id).await?;
        let static_values = static_values(&job)?;
        let results = files
            .iter()
            .map(file_result)
            .collect::<Result<Vec<_>, _>>()?;
        match format {
            ResultFormat::Json => Ok(Results::Json(JobResults {
                job_id: job.id,
                template_id: job.template_id,
                status: job.status,
                static_values,
                results,
            })),
            ResultFormat::Csv => {
                let template = self.templates.load(&job.template_id).await?;
                let names: Vec<&str> = template
                    .field_defs
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect();
                Ok(Results::Csv(csv_results(&names, &static_values, &results)))
            }
        }
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
        created_at: now,
        updated_at: now,
    }
}

pub(super) fn file_status(f: &files::Model) -> JobFileStatus {
    JobFileStatus {
        file_id: f.id.clone(),
        file_name: f.file_name.clone(),
        status: f.status,
        pages: f.pages,
        error: f.error.clone(),
    }
}

/// A document's stored result; what does not read back is an error, never empty.
pub(super) fn file_result(f: &files::Model) -> Result<FileResult, JobError> {
    Ok(FileResult {
        file_id: f.id.clone(),
        file_name: f.file_name.clone(),
        status: f.status,
        result_status: f.result_status,
        pages: f.pages,
        result: db::json_opt("files.result", f.result.as_deref())?,
        confidences: db::json_opt("files.confidences", f.confidences.as_deref())?,
        boxes: db::json_opt("files.boxes", f.boxes.as_deref())?,
        warnings: db::json_opt("files.warnings", f.warnings.as_deref())?.unwrap_or_default(),
        error: f.error.clone(),
    })
}

/// A cell: strings as they are, `null` empty, anything else as JSON text.
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A cell that a spreadsheet would run as a formula (one starting with `=`,
/// `+`, `-`, `@`, a tab or a CR) gets a leading `'`, which spreadsheets show
/// as text. A plain number such as `-12.50` stays as it is: it is no formula.
pub fn defuse(cell: String) -> String {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let number = cell
        .chars()
        .all(|c| c.is_ascii_digit() || ".eE+-".contains(c))
        && cell.parse::<f64>().is_ok();
    if risky && !number {
        format!("'{cell}")
    } else {
        cell
    }
}

fn csv_results(
    fields: &[&str],
    static_values: &Map<String, Value>,
    files: &[FileResult],
) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["file_name", "status"];
    header.extend(fields);
    header.extend(static_values.keys().map(String::as_str));
    let header: Vec<String> = header.into_iter().map(|h| defuse(h.to_string())).collect();
    w.write_record(&header).expect("writing CSV to memory");
    let none = Map::new();
    for f in files {
        let result = f.result.as_ref().unwrap_or(&none);
        let mut row = vec![f.file_name.clone(), f.status.to_string()];
        row.extend(fields.iter().map(|name| cell(result.get(*name))));
        row.extend(static_values.values().map(|v| cell(Some(v))));
        let row: Vec<String> = row.into_iter().map(defuse).collect();
        w.write_record(&row).expect("writing CSV to memory");
    }
    let bytes = w.into_inner().expect("writing CSV to memory");
    String::from_utf8(bytes).expect("CSV of strings is UTF-8")
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

    #[test]
    fn formulas_are_defused_and_numbers_kept() {
        for (raw, want) in [
            ("=1+2", "'=1+2"),
            ("+SUM(A1)", "'+SUM(A1)"),
            ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("-12.50", "-12.50"),
            ("-1e-7", "-1e-7"),
            ("-inf", "'-inf"),
            ("ACME", "ACME"),
            ("", ""),
        ] {
            assert_eq!(defuse(raw.to_string()), want, "{raw:?}");
        }
    }

    #[test]
    fn csv_quotes_and_orders_columns() {
        let mut f = new_file(&JobId::new(), 0, "a, \"b\".pdf", DocKind::Pdf, "k", 0);
        f.status = JobStatus::ProcessImageSuccess;
        f.result = Some(r#"{"total": 12.5, "vendor": "ACME, Inc", "missing": null}"#.into());
        let mut statics = Map::new();
        statics.insert("batch".into(), json!("B-1"));
        let out = csv_results(
            &["vendor", "total", "missing"],
            &statics,
            &[file_result(&f).unwrap()],
        );
        assert_eq!(
            out,
            "file_name,status,vendor,total,missing,batch\n\"a, \"\"b\"\".pdf\",PROCESS IMAGE SUCCESS,\"ACME, Inc\",12.5,,B-1\n"
        );
    }
}
