//! Test Connection: one signed `destination.test` event sent straight to a
//! destination (saved or not), answered with what happened. Nothing is queued.

use serde_json::{json, Map, Value};

use super::dispatch::{self, Outgoing};
use crate::destinations::Config;
use crate::outbound::events::{self, EventType};
use crate::state::AppState;

pub async fn test_destination(
    state: &AppState,
    destination_id: Option<&str>,
    config: &Config,
) -> Value {
    let data = json!({
        "destination_id": destination_id,
        "message": "Test event from docpush: this destination is reachable.",
    });
    send_test(state, config, data, false).await
}

/// Test Connection of a template's webhook: sample extraction data, with the
/// top-level members a template webhook receives.
pub async fn test_template_webhook(
    state: &AppState,
    config: &Config,
    template_id: Option<&str>,
    sample: Map<String, Value>,
) -> Value {
    let data = json!({
        "template_id": template_id,
        "job_id": null,
        "static_values": {},
        "result": sample,
        "message": "Test event from docpush: sample values as your template would send them.",
    });
    send_test(state, config, data, true).await
}

async fn send_test(state: &AppState, config: &Config, data: Value, seed_keys: bool) -> Value {
    let event_id = events::new_event_id();
    let mut body = events::envelope(EventType::DestinationTest, &event_id, data);
    if let Some(obj) = body.as_object_mut().filter(|_| !seed_keys) {
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
            seed_keys,
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

impl AppState {
    /// Test Connection for a template's webhook, saved or not.
    pub async fn test_template_webhook(
        &self,
        account_id: &str,
        t: crate::templates::webhook_test::WebhookTest,
    ) -> crate::error::AppResult<Value> {
        let p = self.template_webhook_probe(account_id, t).await?;
        Ok(test_template_webhook(self, &p.config, p.template_id.as_deref(), p.sample).await)
    }

    /// Test Connection for a saved destination.
    pub async fn test_saved_destination(
        &self,
        account_id: &str,
        id: &str,
    ) -> crate::error::AppResult<Value> {
        let (d, config) = self.destination_for(account_id, id).await?;
        self.check_destination_urls(&config).await?;
        Ok(test_destination(self, Some(&d.id), &config).await)
    }
}
