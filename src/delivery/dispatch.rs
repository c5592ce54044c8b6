//! Sends one event body to one target: the template's webhook or a
//! destination (webhook, SQS queue, S3 bucket).

use std::sync::Arc;

use serde_json::Value;

use super::aws::{self, S3Object};
use super::webhook::{self, AttemptResult};
use super::xml;
use crate::db;
use crate::destinations::config::S3Config;
use crate::destinations::Config;
use crate::outbound::EventType;
use crate::outbound::SignatureScheme;
use crate::state::AppState;

/// The event being sent, as a destination needs it.
pub struct Outgoing<'a> {
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub created_at: i64,
    pub file_id: Option<&'a str>,
    /// The event body as stored: the envelope with the template webhook's top-level keys.
    pub stored_body: &'a str,
    /// A template's own webhook receives those top-level keys (SPEC §4).
    pub seed_keys: bool,
}

/// A stored event body as destinations receive it: the template webhook's seed keys removed.
pub fn destination_body(stored: &str) -> String {
    match serde_json::from_str::<Value>(stored) {
        Ok(Value::Object(mut map)) => {
            for k in ["job_id", "template_id", "static_values", "result"] {
                map.remove(k);
            }
            Value::Object(map).to_string()
        }
        _ => stored.to_string(),
    }
}

pub async fn send(state: &AppState, config: &Config, ev: Outgoing<'_>) -> AttemptResult {
    let timeout = state.settings.delivery.timeout;
    // Re-checked at send time: a DNS answer may have changed since the URL was saved,
    // and the allow-list may have shrunk. (Webhooks are checked on every connection
    // by the guarded resolver, and their IP literals by `webhook::send`.)
    if !matches!(config, Config::Webhook(_)) {
        if let Err(e) = state.check_destination_urls(config).await {
            return AttemptResult::failed(e.to_string());
        }
    }
    match config {
        Config::Webhook(w) => {
            let allowed = &state.settings.delivery.allowed_networks;
            let own = match webhook::client_for(w, timeout, Arc::new(allowed.clone())) {
                Ok(c) => c,
                Err(e) => return AttemptResult::failed(e),
            };
            let http = own.as_ref().unwrap_or(&state.http);
            let secrets = w.signing_secrets(db::now_ms());
            // Extracta's legacy signature covers the top-level `result`, so those receivers get it.
            let body = if ev.seed_keys || w.signature == SignatureScheme::ExtractaLegacy {
                ev.stored_body.to_string()
            } else {
                destination_body(ev.stored_body)
            };
            let request = webhook::Request {
                url: &w.url,
                secrets: &secrets,
                scheme: w.signature,
                headers: &w.headers,
                basic_auth: w.basic_auth.as_ref(),
            };
            webhook::send(http, allowed, request, ev.event_id, body).await
        }
        Config::Sqs(s) => {
            let body = destination_body(ev.stored_body);
            aws::send_sqs(&state.aws_http, s, timeout, ev.event_id, body).await
        }
        Config::S3(s) => match s3_objects(state, s, &ev).await {
            Ok(objects) => aws::put_s3(&state.aws_http, s, timeout, objects).await,
            Err(e) => AttemptResult::failed(e),
        },
    }
}

/// The objects an event writes: the document and/or its data file, under the event's date.
async fn s3_objects(
    state: &AppState,
    c: &S3Config,
    ev: &Outgoing<'_>,
) -> Result<Vec<S3Object>, String> {
    let day = chrono::DateTime::from_timestamp_millis(ev.created_at)
        .unwrap_or_default()
        .format("%Y/%m/%d")
        .to_string();
    if ev.event_type == EventType::DestinationTest.as_str() {
        return Ok(vec![S3Object {
            key: format!("docpush-test/{}.json", ev.event_id),
            body: destination_body(ev.stored_body).into_bytes(),
            content_type: "application/json",
        }]);
    }
    let name = ev.file_id.unwrap_or(ev.event_id);
    let mut out = Vec::new();
    let wants = |what: &str| c.receive_files.iter().any(|f| f == what);
    if wants("document") {
        if let Some(file_id) = ev.file_id {
            let file = db::jobs::get_file(&state.db, file_id)
                .await
                .map_err(|e| format!("the document cannot be looked up: {e}"))?;
            match file
                .as_ref()
                .and_then(|f| f.blob_key.as_ref().map(|k| (f, k)))
            {
                Some((f, key)) => {
                    let bytes = state
                        .blobs
                        .get(key)
                        .await
                        .map_err(|e| format!("the stored document cannot be read: {e}"))?;
                    out.push(S3Object {
                        key: format!("{day}/documents/{file_id}.{}", extension(&f.file_name)),
                        body: bytes,
                        content_type: "application/octet-stream",
                    });
                }
                None => tracing::debug!(file_id, "no stored document left to write to S3"),
            }
        }
    }
    if wants("data") {
        let body = destination_body(ev.stored_body);
        let (body, ext, content_type) = if c.data_format == "xml" {
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            (xml::to_xml("event", &v), "xml", "application/xml")
        } else {
            (body, "json", "application/json")
        };
        out.push(S3Object {
            key: format!("{day}/data/{name}.{ext}"),
            body: body.into_bytes(),
            content_type,
        });
    }
    Ok(out)
}

fn extension(file_name: &str) -> String {
    std::path::Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| !e.is_empty() && e.len() <= 8 && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .map_or_else(|| "bin".to_string(), str::to_ascii_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_get_the_plain_envelope() {
        let b = destination_body(
            r#"{"type":"t","event_id":"e","job_id":"j","result":{},"data":{"job_id":"j"}}"#,
        );
        assert_eq!(b, r#"{"type":"t","event_id":"e","data":{"job_id":"j"}}"#);
    }

    #[test]
    fn extensions_are_kept_when_plain() {
        assert_eq!(extension("Scan.PDF"), "pdf");
        assert_eq!(extension("noext"), "bin");
        assert_eq!(extension("x.p d f"), "bin");
    }
}
