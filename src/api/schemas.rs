//! Shapes that only the HTTP layer has: errors, the upload forms, small
//! acknowledgements, health and the event body, described for the OpenAPI
//! document. Services' answers are their own types. The contract test holds
//! both to what the server really sends.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::types::{DeliveryId, DeliveryStatus};

/// Every error: a stable code and a message for people.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"error": "validation_failed", "message": "fields[0].zone: missing field `x`"}))]
pub struct ErrorBody {
    /// `bad_request`, `unauthorized`, `not_found`, `method_not_allowed`, `conflict`, `gone`,
    /// `payload_too_large`, `unsupported_media_type`, `validation_failed`,
    /// `too_many_requests`, `unavailable`, `insufficient_storage` or `internal_error`.
    pub error: String,
    pub message: String,
}

/// `POST /process-job` as JSON.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessJobJson {
    #[schema(pattern = "\\S")]
    pub template_id: String,
    /// The document as base64, or a `data:` URL; empty is `400`.
    #[schema(format = Byte, min_length = 1)]
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
    /// The document; an empty file is `400`.
    #[schema(value_type = String, format = Binary, min_length = 1)]
    pub actual_image: Vec<u8>,
    pub file_name: Option<String>,
    /// A JSON object, sent as a part whose text is its JSON.
    #[schema(value_type = Option<Object>)]
    pub static_values: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct Retried {
    #[schema(value_type = String)]
    pub id: DeliveryId,
    #[schema(value_type = String)]
    pub status: DeliveryStatus,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ok", "database": "ok", "storage": "ok", "free_bytes": 52613349376_u64, "min_free_bytes": 1073741824}))]
pub struct Health {
    /// `ok`, or `unavailable` (with status 503) when any part below is not `ok`.
    pub status: &'static str,
    /// `ok` or `unreachable`.
    pub database: &'static str,
    /// The blob store: `ok`, `unreachable`, or `low_on_space` when the free
    /// space of its disk is under the watermark (uploads then answer 503).
    pub storage: &'static str,
    /// Free bytes on the blob store's disk (absent for an S3 bucket).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_bytes: Option<u64>,
    /// The free-space watermark of that disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_free_bytes: Option<u64>,
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
    /// Who caused the event: `api` (a key), `user` (a dashboard session) or `system`.
    pub origin: crate::types::Origin,
    /// The event's details; for document events `job_id`, `template_id`,
    /// `file_id`, `file_name`, `pages`, `static_values`, `result`,
    /// `result_status`, `warnings` (`result_url` instead of `result` when the
    /// body would pass the destination's `max_payload_bytes`: GET it, no key
    /// needed, for 24 h). For `destination.failing`, `destination.disabled`
    /// and `destination.recovered`: `destination_id`, `destination_type`,
    /// `reason`, `failing_since`, `consecutive_failures`; for
    /// `delivery.exhausted`: `delivery_id`, `destination_id`, `event_id`,
    /// `event_type`, `attempts`.
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
    /// In place of the top-level `result` when the result went as a link.
    pub result_url: Option<String>,
}
