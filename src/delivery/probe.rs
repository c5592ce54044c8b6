//! Test Connection: one signed `destination.test` event sent straight to a
//! target (saved or not), answered with what happened. Nothing is queued.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::sender::{Outgoing, Sender};
use super::sent::Sent;
use crate::outbound::events;
use crate::targets::Config;
use crate::types::{DestinationId, EventId, EventType, Origin, TemplateId};

/// What Test Connection saw.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
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
    #[schema(value_type = String)]
    pub event_id: EventId,
}

/// Test Connection of a destination.
pub async fn test_destination(
    sender: &Sender,
    destination_id: Option<&DestinationId>,
    config: &Config,
    origin: Origin,
) -> TestOutcome {
    let data = json!({
        "destination_id": destination_id,
        "message": "Test event from docpush: this destination is reachable.",
    });
    send_test(sender, config, data, origin, false).await
}

/// Test Connection of a template's webhook: sample extraction data, with the
/// top-level members a template webhook receives.
pub async fn test_template_webhook(
    sender: &Sender,
    config: &Config,
    template_id: Option<&TemplateId>,
    sample: Map<String, Value>,
    origin: Origin,
) -> TestOutcome {
    let data = json!({
        "template_id": template_id,
        "job_id": null,
        "static_values": {},
        "result": sample,
        "message": "Test event from docpush: sample values as your template would send them.",
    });
    send_test(sender, config, data, origin, true).await
}

async fn send_test(
    sender: &Sender,
    config: &Config,
    data: Value,
    origin: Origin,
    seed_keys: bool,
) -> TestOutcome {
    let event_id = EventId::new();
    let mut body = events::envelope(EventType::DestinationTest, &event_id, origin, data);
    if let Some(obj) = body.as_object_mut().filter(|_| !seed_keys) {
        obj.retain(|k, _| {
            matches!(
                k.as_str(),
                "type" | "event" | "event_id" | "timestamp" | "origin" | "data"
            )
        });
    }
    let sent = sender
        .send(
            config,
            Outgoing {
                event_id: &event_id,
                event_type: EventType::DestinationTest,
                created_at: crate::db::now_ms(),
                file_id: None,
                stored_body: &body.to_string(),
                seed_keys,
                max_body: usize::MAX,
            },
        )
        .await;
    // A test event carries no document: nothing of ours is read to send it.
    let result = sent.unwrap_or_else(|deferred| Sent::not_made(deferred.0));
    let reachable = result.is_delivered() || result.status().is_some();
    let tls = match config {
        Config::Webhook(w) if w.url.starts_with("https://") => Some(reachable),
        Config::Webhook(_) => None,
        Config::Sqs(s) => tls_of(s.endpoint_url.as_deref(), reachable),
        Config::S3(s) => tls_of(s.endpoint_url.as_deref(), reachable),
    };
    TestOutcome {
        ok: result.is_delivered(),
        reachable,
        tls,
        status: result.status(),
        latency_ms: result.latency.as_millis() as u64,
        error: result.error(),
        response_body: result.body().map(str::to_string),
        event_id,
    }
}

/// AWS endpoints are https unless an `endpoint_url` says otherwise.
fn tls_of(endpoint: Option<&str>, reachable: bool) -> Option<bool> {
    match endpoint {
        Some(e) if !e.starts_with("https://") => None,
        _ => Some(reachable),
    }
}
