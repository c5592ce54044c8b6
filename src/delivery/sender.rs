//! Sends one event body to one target: the template's webhook or a
//! destination (webhook, SQS queue, S3 bucket).

use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::SharedHttpClient;
use sea_orm::DatabaseConnection;
use serde_json::Value;

use super::aws::{self, S3Object};
use super::sent::{Deferred, Sent};
use super::{webhook, xml};
use crate::config::DeliverySettings;
use crate::db;
use crate::outbound::links::{self, ResultLinks};
use crate::outbound::SignatureScheme;
use crate::storage::BlobStore;
use crate::targets::{Config, S3Config, UrlRules};
use crate::types::{Blame, EventId, EventType, FileId};

/// The event being sent, as a destination needs it.
pub struct Outgoing<'a> {
    pub event_id: &'a EventId,
    pub event_type: EventType,
    pub created_at: i64,
    pub file_id: Option<&'a FileId>,
    /// The event body as stored: the envelope with the template webhook's top-level keys.
    pub stored_body: &'a str,
    /// A template's own webhook receives those top-level keys (SPEC §4).
    pub seed_keys: bool,
    /// A webhook body larger than this carries a link to the result instead of it.
    pub max_body: usize,
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

/// Sends events to targets: the HTTP clients (behind the SSRF guard), the
/// rules URLs must meet, and the stored documents an S3 destination writes.
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    aws_http: SharedHttpClient,
    rules: Arc<UrlRules>,
    timeout: Duration,
    db: DatabaseConnection,
    blobs: BlobStore,
    links: ResultLinks,
}

impl Sender {
    pub fn new(
        db: DatabaseConnection,
        blobs: BlobStore,
        settings: &DeliverySettings,
        links: ResultLinks,
    ) -> Self {
        let allowed = Arc::new(settings.allowed_networks.clone());
        Self {
            http: webhook::client(settings.timeout, allowed.clone()),
            aws_http: aws::http_client(allowed),
            rules: Arc::new(UrlRules {
                allowed_networks: settings.allowed_networks.clone(),
                https_only: settings.https_only,
            }),
            timeout: settings.timeout,
            db,
            blobs,
            links,
        }
    }

    /// Makes one attempt, unless what it sends cannot be read now on our side.
    pub async fn send(&self, config: &Config, ev: Outgoing<'_>) -> Result<Sent, Deferred> {
        let timeout = self.timeout;
        // Re-checked at send time: a DNS answer may have changed since the URL was saved,
        // and the allow-list may have shrunk. (Webhooks are checked on every connection
        // by the guarded resolver, and their IP literals by `webhook::send`.)
        if !matches!(config, Config::Webhook(_)) {
            if let Err(e) = self.rules.check(config).await {
                return Ok(Sent::not_made(e.to_string()));
            }
        }
        Ok(match config {
            Config::Webhook(w) => self.send_webhook(w, ev).await,
            Config::Sqs(s) => {
                let body = destination_body(ev.stored_body);
                aws::send_sqs(&self.aws_http, s, timeout, ev.event_id, body).await
            }
            Config::S3(s) => match self.s3_objects(s, &ev).await {
                Ok(objects) => aws::put_s3(&self.aws_http, s, timeout, objects).await,
                Err(Unmade::Later(deferred)) => return Err(deferred),
                Err(Unmade::Failed(e)) => Sent::not_made(e),
            },
        })
    }

    async fn send_webhook(&self, w: &crate::targets::WebhookConfig, ev: Outgoing<'_>) -> Sent {
        let allowed = &self.rules.allowed_networks;
        let own = match webhook::client_for(w, self.timeout, Arc::new(allowed.clone())) {
            Ok(c) => c,
            Err(e) => return Sent::not_made(e),
        };
        let http = own.as_ref().unwrap_or(&self.http);
        let secrets = w.signing_secrets(db::now_ms());
        // Extracta's legacy signature covers the top-level `result`, so those receivers get it.
        let mut body = if ev.seed_keys || w.signature == SignatureScheme::ExtractaLegacy {
            ev.stored_body.to_string()
        } else {
            destination_body(ev.stored_body)
        };
        if body.len() > ev.max_body {
            if let Some(file) = ev.file_id {
                let url = self.links.url(file, db::now_ms());
                if let Some(linked) = links::with_result_link(&body, &url) {
                    body = linked;
                }
            }
        }
        let request = webhook::Request {
            url: &w.url,
            secrets: &secrets,
            scheme: w.signature,
            headers: &w.headers,
            basic_auth: w.basic_auth.as_ref(),
        };
        webhook::send(http, allowed, request, ev.event_id, body).await
    }

    /// The objects an event writes: the document and/or its data file, under
    /// the event's date; or why they cannot be made, deferred when that passes.
    async fn s3_objects(&self, c: &S3Config, ev: &Outgoing<'_>) -> Result<Vec<S3Object>, Unmade> {
        let day = chrono::DateTime::from_timestamp_millis(ev.created_at)
            .unwrap_or_default()
            .format("%Y/%m/%d")
            .to_string();
        if ev.event_type == EventType::DestinationTest {
            return Ok(vec![S3Object {
                key: format!("docpush-test/{}.json", ev.event_id),
                body: destination_body(ev.stored_body).into_bytes(),
                content_type: "application/json",
            }]);
        }
        let name = ev.file_id.map_or(ev.event_id.as_str(), FileId::as_str);
        let mut out = Vec::new();
        let wants = |what: &str| c.receive_files.iter().any(|f| f == what);
        if wants("document") {
            if let Some(file_id) = ev.file_id {
                match self.document(file_id, &day).await? {
                    Some(object) => out.push(object),
                    None => tracing::debug!(%file_id, "no stored document left to write to S3"),
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

    /// The stored document of `file_id` as an object, if it is still kept.
    async fn document(&self, file_id: &FileId, day: &str) -> Result<Option<S3Object>, Unmade> {
        let file = db::files::get(&self.db, file_id).await.map_err(|e| {
            let why = format!("the document cannot be looked up: {e}");
            Unmade::by(e.blame(), why)
        })?;
        let Some((f, key)) = file
            .as_ref()
            .and_then(|f| f.blob_key.as_ref().map(|k| (f, k)))
        else {
            return Ok(None);
        };
        let bytes = self.blobs.get(key).await.map_err(|e| {
            let why = format!("the stored document cannot be read: {e}");
            Unmade::by(e.blame(), why)
        })?;
        Ok(Some(S3Object {
            key: format!("{day}/documents/{file_id}.{}", extension(&f.file_name)),
            body: bytes,
            content_type: "application/octet-stream",
        }))
    }
}

/// Why an attempt could not be made: not now (our side failed for a passing
/// reason), or not at all.
enum Unmade {
    Later(Deferred),
    Failed(String),
}

impl Unmade {
    fn by(blame: Blame, why: String) -> Self {
        if blame.is_retryable() {
            Self::Later(Deferred(why))
        } else {
            Self::Failed(why)
        }
    }
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
