//! Submit, status and results: what the API calls.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::status::JobStatus;
use super::unzip::Skipped;
use crate::db::rfc3339;
use crate::db::{
    self,
    entities::{files, jobs},
};
use crate::delivery::{self, NewEvent};
use crate::error::{AppError, AppResult};
use crate::extraction::DocKind;
use crate::outbound::EventType;
use crate::state::AppState;
use crate::storage::keys;
use sea_orm::TransactionTrait;

const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// A document as the API received it, before any check.
pub struct Upload {
    pub template_id: String,
    pub bytes: Vec<u8>,
    pub file_name: Option<String>,
    pub static_values: Map<String, Value>,
    pub idempotency_key: Option<String>,
}

/// The 202 body.
#[derive(Debug, Serialize)]
pub struct Accepted {
    pub job_id: String,
    pub template_id: String,
    pub static_values: Map<String, Value>,
}

/// The shape results take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResultFormat {
    Json,
    Csv,
}

pub enum Results {
    Json(Value),
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

fn accepted(job: &jobs::Model) -> Accepted {
    Accepted {
        job_id: job.id.clone(),
        template_id: job.template_id.clone(),
        static_values: serde_json::from_str(&job.static_values).unwrap_or_default(),
    }
}

impl AppState {
    #[tracing::instrument(skip_all, fields(job_id))]
    pub async fn submit_job(&self, account_id: &str, mut upload: Upload) -> AppResult<Accepted> {
        let limit = self.settings.limits.max_upload_bytes;
        if upload.bytes.len() as u64 > limit {
            return Err(AppError::PayloadTooLarge(format!(
                "the document is {} bytes, over the limit of {limit} bytes",
                upload.bytes.len()
            )));
        }
        let template = self
            .template_for_job(account_id, &upload.template_id)
            .await?;
        if upload.bytes.is_empty() {
            return Err(AppError::Unprocessable(
                "actual_image is empty: send the document's bytes".into(),
            ));
        }
        let kind = DocKind::detect(&upload.bytes).ok_or_else(|| {
            AppError::UnsupportedMediaType(
                "the document is not a PDF, PNG, JPEG, TIFF, WebP or ZIP (detected from its content)".into(),
            )
        })?;
        let hash = request_hash(&upload);
        if let Some(key) = &upload.idempotency_key {
            if let Some(existing) = self.idempotent_replay(account_id, key, &hash).await? {
                return Ok(existing);
            }
        }

        let job_id = uuid::Uuid::new_v4().to_string();
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
            account_id: account_id.to_string(),
            template_id: template.id.clone(),
            status: JobStatus::New.as_str().into(),
            error: None,
            static_values: static_json,
            source_name: file_name.clone(),
            source_kind: kind.as_str().into(),
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
        Ok(accepted(&job))
    }

    /// The first job's 202 body for a repeated key and body; 422 for a repeated key with another body.
    async fn idempotent_replay(
        &self,
        account_id: &str,
        key: &str,
        hash: &str,
    ) -> AppResult<Option<Accepted>> {
        let since = db::now_ms() - IDEMPOTENCY_WINDOW_MS;
        match db::jobs::find_by_idempotency_key(&self.db, account_id, key, since).await? {
            Some(job) if job.request_hash.as_deref() == Some(hash) => Ok(Some(accepted(&job))),
            Some(_) => Err(AppError::Unprocessable(
                "this Idempotency-Key was already used with a different request body".into(),
            )),
            None => {
                db::jobs::forget_idempotency_key(&self.db, account_id, key).await?;
                Ok(None)
            }
        }
    }

    async fn owned_job(&self, account_id: &str, job_id: &str) -> AppResult<jobs::Model> {
        db::jobs::get(&self.db, account_id, job_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("job {job_id} not found")))
    }

    pub async fn job_status(&self, account_id: &str, job_id: &str) -> AppResult<Value> {
        let job = self.owned_job(account_id, job_id).await?;
        let files = db::jobs::files_of(&self.db, &job.id).await?;
        let history = db::jobs::transitions(&self.db, &job.id).await?;
        let skipped: Vec<Skipped> = serde_json::from_str(&job.skipped).unwrap_or_default();
        let done = files
            .iter()
            .filter(|f| f.status.parse::<JobStatus>().is_ok_and(file_done))
            .count();
        let pages_total: i64 = files.iter().filter_map(|f| f.pages_total.or(f.pages)).sum();
        let pages_done: i64 = files
            .iter()
            .filter_map(|f| match f.status.parse::<JobStatus>() {
                Ok(s) if file_done(s) => f.pages_total.or(f.pages),
                _ => f.pages_done,
            })
            .sum();
        Ok(json!({
            "job_id": job.id,
            "template_id": job.template_id,
            "status": job.status,
            "error": job.error,
            "created_at": rfc3339(job.created_at),
            "updated_at": rfc3339(job.updated_at),
            "files": files.iter().map(|f| json!({
                "file_id": f.id,
                "file_name": f.file_name,
                "status": f.status,
                "pages": f.pages,
                "error": f.error,
            })).collect::<Vec<_>>(),
            "skipped": skipped,
            "progress": {"total": files.len(), "done": done, "pages_total": pages_total, "pages_done": pages_done},
            "history": history.iter().map(|t| json!({"status": t.status, "at": rfc3339(t.at)})).collect::<Vec<_>>(),
        }))
    }

    pub async fn job_results(
        &self,
        account_id: &str,
        job_id: &str,
        format: ResultFormat,
    ) -> AppResult<Results> {
        let job = self.owned_job(account_id, job_id).await?;
        if job.purged_at.is_some() {
            return Err(AppError::Gone(format!(
                "the results of job {job_id} were purged after the retention period"
            )));
        }
        if job.finished_at.is_none() {
            return Err(AppError::Conflict(format!(
                "job {job_id} is still running (status {}); try again when it is SUCCESS or FAILED",
                job.status
            )));
        }
        let files = db::jobs::files_of(&self.db, &job.id).await?;
        let static_values: Map<String, Value> =
            serde_json::from_str(&job.static_values).unwrap_or_default();
        match format {
            ResultFormat::Json => Ok(Results::Json(json!({
                "job_id": job.id,
                "template_id": job.template_id,
                "status": job.status,
                "static_values": static_values,
                "results": files.iter().map(file_result).collect::<Vec<_>>(),
            }))),
            ResultFormat::Csv => {
                let template = self.load_template(&job.template_id).await?;
                let names: Vec<&str> = template
                    .field_defs
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect();
                csv_results(&names, &static_values, &files).map(Results::Csv)
            }
        }
    }
}

/// Whether a document has its outcome (read or failed).
pub(crate) fn file_done(s: JobStatus) -> bool {
    matches!(
        s,
        JobStatus::ProcessImageSuccess | JobStatus::ProcessImageFailed
    )
}

pub(crate) fn new_file(
    job_id: &str,
    ordinal: i64,
    name: &str,
    kind: DocKind,
    blob_key: &str,
    now: i64,
) -> files::Model {
    files::Model {
        id: uuid::Uuid::new_v4().to_string(),
        job_id: job_id.to_string(),
        ordinal,
        file_name: name.to_string(),
        kind: kind.as_str().into(),
        blob_key: Some(blob_key.to_string()),
        status: JobStatus::New.as_str().into(),
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

fn file_result(f: &files::Model) -> Value {
    let result: Value = f
        .result
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or(Value::Null);
    let warnings: Value = f
        .warnings
        .as_deref()
        .and_then(|w| serde_json::from_str(w).ok())
        .unwrap_or_else(|| json!([]));
    let confidences: Value = f
        .confidences
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or(Value::Null);
    let boxes: Value = f
        .boxes
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or(Value::Null);
    json!({
        "file_id": f.id,
        "file_name": f.file_name,
        "status": f.status,
        "result_status": f.result_status,
        "pages": f.pages,
        "result": result,
        "confidences": confidences,
        "boxes": boxes,
        "warnings": warnings,
        "error": f.error,
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
    files: &[files::Model],
) -> AppResult<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["file_name", "status"];
    header.extend(fields);
    header.extend(static_values.keys().map(String::as_str));
    let header: Vec<String> = header.into_iter().map(|h| defuse(h.to_string())).collect();
    w.write_record(&header).map_err(anyhow::Error::from)?;
    for f in files {
        let result: Map<String, Value> = f
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default();
        let mut row = vec![f.file_name.clone(), f.status.clone()];
        row.extend(fields.iter().map(|name| cell(result.get(*name))));
        row.extend(static_values.values().map(|v| cell(Some(v))));
        let row: Vec<String> = row.into_iter().map(defuse).collect();
        w.write_record(&row).map_err(anyhow::Error::from)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| anyhow::anyhow!("writing CSV: {e}"))?;
    Ok(String::from_utf8(bytes).map_err(anyhow::Error::from)?)
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
        let mut f = new_file("j", 0, "a, \"b\".pdf", DocKind::Pdf, "k", 0);
        f.status = "PROCESS IMAGE SUCCESS".into();
        f.result = Some(r#"{"total": 12.5, "vendor": "ACME, Inc", "missing": null}"#.into());
        let mut statics = Map::new();
        statics.insert("batch".into(), json!("B-1"));
        let out = csv_results(&["vendor", "total", "missing"], &statics, &[f]).unwrap();
        assert_eq!(
            out,
            "file_name,status,vendor,total,missing,batch\n\"a, \"\"b\"\".pdf\",PROCESS IMAGE SUCCESS,\"ACME, Inc\",12.5,,B-1\n"
        );
    }
}
