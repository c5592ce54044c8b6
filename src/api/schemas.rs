//! Shapes of answers that handlers build as JSON, described for the OpenAPI
//! document. The contract test holds them to what the server really sends.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Every error: a stable code and a message for people.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"error": "validation_failed", "message": "fields[0].zone: missing field `x`"}))]
pub struct ErrorBody {
    /// `bad_request`, `unauthorized`, `not_found`, `method_not_allowed`, `conflict`, `gone`,
    /// `payload_too_large`, `unsupported_media_type`, `validation_failed`,
    /// `too_many_requests` or `internal_error`.
    pub error: String,
    pub message: String,
}

/// `POST /process-job` as JSON.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessJobJson {
    #[schema(pattern = "\\S")]
    pub template_id: String,
    /// The document as base64, or a `data:` URL.
    #[schema(format = Byte)]
    pub actual_image: String,
    /// Shown in results and job status; the type is detected from the content.
    pub file_name: Option<String>,
    /// Copied into every result and event.
    #[schema(value_type = Option<Object>)]
    pub static_values: Option<Value>,
}

/// `POST /process-job` as multipart.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessJobForm {
    #[schema(pattern = "\\S")]
    pub template_id: String,
    /// The document.
    #[schema(value_type = String, format = Binary)]
    pub actual_image: Vec<u8>,
    pub file_name: Option<String>,
    /// A JSON object, sent as a part whose text is its JSON.
    #[schema(value_type = Option<Object>)]
    pub static_values: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct JobAccepted {
    pub job_id: String,
    pub template_id: String,
    #[schema(value_type = Object)]
    pub static_values: Value,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct JobFileStatus {
    pub file_id: String,
    pub file_name: String,
    pub status: String,
    pub pages: Option<i64>,
    pub error: Option<String>,
}

/// A ZIP entry that was not processed, and why.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SkippedEntry {
    pub file_name: String,
    pub reason: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Progress {
    pub total: u64,
    pub done: u64,
    pub pages_total: u64,
    pub pages_done: u64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Transition {
    pub status: String,
    pub at: String,
}

/// `GET /job-status`.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct JobStatusView {
    pub job_id: String,
    pub template_id: String,
    /// `NEW`, `UNZIPPING FILE`, `UNZIP FILE SUCCESS`, `UNZIP FILE FAILED`,
    /// `PROCESSING IMAGE`, `PROCESS IMAGE SUCCESS`, `PROCESS IMAGE FAILED`, `SUCCESS` or `FAILED`.
    pub status: String,
    pub error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub files: Vec<JobFileStatus>,
    pub skipped: Vec<SkippedEntry>,
    pub progress: Progress,
    pub history: Vec<Transition>,
}

/// One document's result.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct FileResult {
    pub file_id: String,
    pub file_name: String,
    pub status: String,
    /// `ok`, `needs_review`, `edited` or `confirmed`; `null` when the document failed.
    pub result_status: Option<String>,
    pub pages: Option<i64>,
    /// Values by field name, typed per the template; `null` for a value not found.
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    /// Reading confidence (0 to 1) by field name.
    #[schema(value_type = Option<Object>)]
    pub confidences: Option<Value>,
    /// Where each value was found: field → `{page, x, y, width, height}` in page fractions, or `null`.
    #[schema(value_type = Option<Object>)]
    pub boxes: Option<Value>,
    /// The names of fields whose located text did not parse as their type, and
    /// for values read by OCR and cleaned before parsing, `<field>: OCR read "…", cleaned to "…"`.
    pub warnings: Vec<String>,
    pub error: Option<String>,
}

impl FileResult {
    /// The warnings that name a field whose text did not parse.
    pub fn unparsed(&self) -> Vec<&str> {
        self.warnings
            .iter()
            .filter(|w| !w.contains(CLEANED))
            .map(String::as_str)
            .collect()
    }

    /// The warnings that say what OCR clean-up changed.
    pub fn cleaned(&self) -> Vec<&str> {
        self.warnings
            .iter()
            .filter(|w| w.contains(CLEANED))
            .map(String::as_str)
            .collect()
    }
}

/// What marks a clean-up note among a file's warnings.
const CLEANED: &str = ": OCR read ";

/// `POST /v1/job-results` as JSON.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct JobResults {
    pub job_id: String,
    pub template_id: String,
    pub status: String,
    #[schema(value_type = Object)]
    pub static_values: Value,
    pub results: Vec<FileResult>,
}

/// What a review edit or confirmation stored and sent.
#[derive(Serialize, ToSchema)]
pub struct Reviewed {
    pub job_id: String,
    pub template_id: String,
    pub file_id: String,
    pub file_name: String,
    pub pages: Option<i64>,
    #[schema(value_type = Object)]
    pub static_values: Value,
    #[schema(value_type = Object)]
    pub result: Value,
    pub result_status: String,
    pub warnings: Vec<String>,
    /// For an edit: `{field: {"from", "to"}}`.
    #[schema(value_type = Option<Object>)]
    pub changes: Option<Value>,
    pub event_id: String,
}

// Owned by the delivery stage, which builds them; described here with the rest.
pub use crate::delivery::listing::{Attempt, Delivery};

#[derive(Serialize, ToSchema)]
pub struct Retried {
    pub id: String,
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct Recovered {
    pub destination_id: String,
    /// How many failed deliveries were queued again.
    pub recovered: u64,
}

/// What Test Connection saw.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TestOutcome {
    pub ok: bool,
    /// Whether anything answered.
    pub reachable: bool,
    /// Whether TLS was negotiated; `null` for plain HTTP.
    pub tls: Option<bool>,
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    pub response_body: Option<String>,
    pub event_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct AccountView {
    pub id: String,
    pub name: String,
    pub credits: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

/// The body of every event delivery (webhooks `POST` it; SQS and S3 receive it too).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "type": "extraction.processed", "event": "extraction.processed",
    "event_id": "evt_0193c2b8a1f37c2e9d4b5a6f7e8d9c0b", "timestamp": "2026-11-30T10:00:00.000Z",
    "job_id": "6f1c…", "template_id": "2b9e…", "static_values": {"batch": "B-7"},
    "result": {"invoice_number": "INV-1", "total": 1250.0},
    "data": {"job_id": "6f1c…", "template_id": "2b9e…", "file_id": "…", "file_name": "invoice.pdf", "pages": 2,
             "static_values": {"batch": "B-7"}, "result": {"invoice_number": "INV-1", "total": 1250.0},
             "result_status": "ok", "warnings": []}
}))]
pub struct EventEnvelope {
    #[serde(rename = "type")]
    pub kind: String,
    /// The same as `type`, for receivers written for Extracta.ai.
    pub event: String,
    /// Stable across retries (also the `webhook-id` header): deduplicate with it.
    pub event_id: String,
    pub timestamp: String,
    /// The event's details; for document events `job_id`, `template_id`,
    /// `file_id`, `file_name`, `pages`, `static_values`, `result`,
    /// `result_status`, `warnings`.
    #[schema(value_type = Object)]
    pub data: Value,
    /// Template webhooks (and `extracta-legacy` destinations) also carry these
    /// top-level copies of `data` members.
    pub job_id: Option<String>,
    pub template_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub static_values: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_split_into_unparsed_fields_and_clean_up_notes() {
        let file = FileResult {
            file_id: "f".into(),
            file_name: "scan.png".into(),
            status: "PROCESS IMAGE SUCCESS".into(),
            result_status: Some("ok".into()),
            pages: Some(1),
            result: None,
            confidences: None,
            boxes: None,
            warnings: vec![
                "due".into(),
                "total: OCR read \"l2.5O\", cleaned to \"12.50\"".into(),
            ],
            error: None,
        };
        assert_eq!(file.unparsed(), ["due"]);
        assert_eq!(
            file.cleaned(),
            ["total: OCR read \"l2.5O\", cleaned to \"12.50\""]
        );
    }
}
