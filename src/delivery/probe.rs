//! Test Connection: one signed `destination.test` event sent straight to a
//! destination (saved or not), answered with what happened. Nothing is queued.

use serde_json::{json, Value};

use super::dispatch::{self, Outgoing};
use crate::destinations::Config;
use crate::outbound::events::{self, EventType};
use crate::state::AppState;

pub async fn test_destination(
    state: &AppState,
    destination_id: Option<&str>,
    config: &Config,
) -> Value {
    let event_id = events::new_event_id();
    let mut body = events::envelope(
        EventType::DestinationTest,
        &event_id,
        json!({
            "destination_id": destination_id,
            "message": "Test event from docpush: this destination is reachable.",
        }),
    );
    if let Some(obj) = body.as_object_mut() {
        obj.retain(|k, _| {
            matches!(
                k.as_str(),
                "type" | "event" | "event_id" | "timestamp" | "data"
            )
        });
    }
    let result = dispatch::send(
        state,
        config,
        Outgoing {
            event_id: &event_id,
            event_type: EventType::DestinationTest.as_str(),
            created_at: crate::db::now_ms(),
            file_id: None,
            stored_body: &body.to_string(),
        },
    )
    .await;
    let reachable = result.ok || result.status.is_some();
    let tls = match config {
        Config::Webhook(w) if w.url.starts_with("https://") => Value::Bool(reachable),
        Config::Webhook(_) => Value::Null,
        Config::Sqs(s) => tls_of(s.endpoint_url.as_deref(), reachable),
        Config::S3(s) => tls_of(s.endpoint_url.as_deref(), reachable),
    };
    json!({
        "ok": result.ok,
        "reachable": reachable,
        "tls": tls,
        "status": result.status,
        "latency_ms": result.latency.as_millis() as u64,
        "error": result.error,
        "response_body": result.body,
        "event_id": event_id,
    })
}

/// AWS endpoints are https unless an `endpoint_url` says otherwise.
fn tls_of(endpoint: Option<&str>, reachable: bool) -> Value {
    match endpoint {
        Some(e) if !e.starts_with("https://") => Value::Null,
        _ => Value::Bool(reachable),
    }
}
