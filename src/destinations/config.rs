//! What each destination type needs, validated from client JSON, sealed at
//! rest and masked when shown.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::crypto::SecretBox;
use crate::error::{AppError, AppResult};
use crate::templates::service::{parse_headers, MASK};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Config {
    Webhook(WebhookConfig),
    Sqs(SqsConfig),
    S3(S3Config),
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WebhookConfig {
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub secret: String,
    /// The secret replaced by the last rotation, still signed with until `previous_secret_expires_at`.
    #[serde(default)]
    pub previous_secret: Option<String>,
    #[serde(default)]
    pub previous_secret_expires_at: Option<i64>,
    /// PEM certificate chain presented for mutual TLS.
    #[serde(default)]
    pub client_cert: Option<String>,
    #[serde(default)]
    pub client_key: Option<String>,
    #[serde(default)]
    pub client_key_password: Option<String>,
    /// PEM certificates trusted for this receiver besides the public roots.
    #[serde(default)]
    pub ca_cert: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SqsConfig {
    pub queue_url: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(default)]
    pub message_group_id: Option<String>,
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct S3Config {
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(default)]
    pub endpoint_url: Option<String>,
    pub receive_files: Vec<String>,
    pub data_format: String,
}

impl WebhookConfig {
    /// The secrets to sign with at `now`: the current one, then the previous during its grace period.
    pub fn signing_secrets(&self, now_ms: i64) -> Vec<&str> {
        let mut out = vec![self.secret.as_str()];
        if let (Some(prev), Some(until)) = (&self.previous_secret, self.previous_secret_expires_at)
        {
            if now_ms < until {
                out.push(prev);
            }
        }
        out
    }
}

impl SqsConfig {
    pub fn is_fifo(&self) -> bool {
        self.queue_url.trim_end_matches('/').ends_with(".fifo")
    }
}

impl Config {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Webhook(_) => "webhook",
            Self::Sqs(_) => "sqs",
            Self::S3(_) => "s3",
        }
    }

    /// Validates a client's `type` and `config`. Masked values keep what `stored` holds.
    pub fn parse(kind: &str, raw: &Value, stored: Option<&Config>) -> AppResult<Config> {
        let obj = raw
            .as_object()
            .ok_or_else(|| bad("config: an object is required"))?;
        match kind {
            "webhook" => {
                let old = match stored {
                    Some(Config::Webhook(w)) => Some(w),
                    _ => None,
                };
                let mut headers = parse_headers("config.headers", obj.get("headers"))?;
                for (k, v) in headers.iter_mut() {
                    if v == MASK {
                        *v = old.and_then(|o| o.headers.get(k)).cloned().ok_or_else(|| {
                            bad(&format!(
                                "config.headers.{k}: a masked value can only keep an existing header"
                            ))
                        })?;
                    }
                }
                let secret = match opt_str(obj, "secret")? {
                    Some(s) if s == MASK => old.map(|o| o.secret.clone()),
                    Some(s) if crate::crypto::is_webhook_secret(&s) => Some(s),
                    Some(_) => {
                        return Err(bad(
                            "config.secret: must be a Standard Webhooks secret (whsec_ + base64 of at least 24 bytes)",
                        ))
                    }
                    None => old.map(|o| o.secret.clone()),
                }
                .unwrap_or_else(crate::crypto::new_webhook_secret);
                let cfg = WebhookConfig {
                    url: req_str(obj, "url")?,
                    headers,
                    secret,
                    previous_secret: old.and_then(|o| o.previous_secret.clone()),
                    previous_secret_expires_at: old.and_then(|o| o.previous_secret_expires_at),
                    client_cert: opt_str(obj, "client_cert")?,
                    client_key: keep(
                        opt_str(obj, "client_key")?,
                        old.and_then(|o| o.client_key.as_ref()),
                    ),
                    client_key_password: keep(
                        opt_str(obj, "client_key_password")?,
                        old.and_then(|o| o.client_key_password.as_ref()),
                    ),
                    ca_cert: opt_str(obj, "ca_cert")?,
                };
                if cfg.client_cert.is_some() != cfg.client_key.is_some() {
                    return Err(bad(
                        "config: client_cert and client_key go together (PEM certificate and its key)",
                    ));
                }
                Ok(Config::Webhook(cfg))
            }
            "sqs" => {
                let old = match stored {
                    Some(Config::Sqs(s)) => Some(&s.secret_access_key),
                    _ => None,
                };
                let cfg = SqsConfig {
                    queue_url: req_str(obj, "queue_url")?,
                    region: req_str(obj, "region")?,
                    access_key_id: req_str(obj, "access_key_id")?,
                    secret_access_key: keep(opt_str(obj, "secret_access_key")?, old)
                        .ok_or_else(|| bad("config.secret_access_key: a string is required"))?,
                    message_group_id: opt_str(obj, "message_group_id")?,
                    endpoint_url: opt_str(obj, "endpoint_url")?,
                };
                reqwest::Url::parse(&cfg.queue_url)
                    .map_err(|e| bad(&format!("config.queue_url: not a URL: {e}")))?;
                if cfg.is_fifo() && cfg.message_group_id.is_none() {
                    return Err(bad(
                        "config.message_group_id: required for a FIFO queue (a name ending .fifo)",
                    ));
                }
                if let Some(g) = &cfg.message_group_id {
                    if g.is_empty() || g.len() > 128 {
                        return Err(bad("config.message_group_id: 1 to 128 characters"));
                    }
                }
                Ok(Config::Sqs(cfg))
            }
            "s3" => {
                let old = match stored {
                    Some(Config::S3(s)) => Some(&s.secret_access_key),
                    _ => None,
                };
                let receive_files = match obj.get("receive_files") {
                    None | Some(Value::Null) => vec!["document".to_string(), "data".to_string()],
                    Some(Value::Array(items)) if !items.is_empty() => {
                        let mut out = Vec::new();
                        for i in items {
                            match i.as_str() {
                                Some(s @ ("document" | "data")) => out.push(s.to_string()),
                                _ => {
                                    return Err(bad(&format!(
                                        "config.receive_files: {i} is not \"document\" or \"data\""
                                    )))
                                }
                            }
                        }
                        out
                    }
                    Some(_) => return Err(bad(
                        "config.receive_files: a non-empty list of \"document\" and/or \"data\"",
                    )),
                };
                let data_format = opt_str(obj, "data_format")?.unwrap_or_else(|| "json".into());
                if data_format != "json" && data_format != "xml" {
                    return Err(bad("config.data_format: \"json\" or \"xml\""));
                }
                let bucket = req_str(obj, "bucket")?;
                let valid_bucket = (3..=63).contains(&bucket.len())
                    && bucket.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'
                    });
                if !valid_bucket {
                    return Err(bad(
                        "config.bucket: 3 to 63 lowercase letters, digits, dots and hyphens",
                    ));
                }
                Ok(Config::S3(S3Config {
                    bucket,
                    region: req_str(obj, "region")?,
                    access_key_id: req_str(obj, "access_key_id")?,
                    secret_access_key: keep(opt_str(obj, "secret_access_key")?, old)
                        .ok_or_else(|| bad("config.secret_access_key: a string is required"))?,
                    endpoint_url: opt_str(obj, "endpoint_url")?,
                    receive_files,
                    data_format,
                }))
            }
            other => Err(bad(&format!(
                "type: {other:?} is not \"webhook\", \"sqs\" or \"s3\""
            ))),
        }
    }

    /// The URLs this destination connects to, for the SSRF guard.
    pub fn urls(&self) -> Vec<(&'static str, &str)> {
        match self {
            Self::Webhook(w) => vec![("config.url", w.url.as_str())],
            Self::Sqs(s) => s
                .endpoint_url
                .iter()
                .map(|e| ("config.endpoint_url", e.as_str()))
                .collect(),
            Self::S3(s) => s
                .endpoint_url
                .iter()
                .map(|e| ("config.endpoint_url", e.as_str()))
                .collect(),
        }
    }

    /// The secret fields, for sealing and opening.
    fn secrets_mut(&mut self) -> Vec<&mut String> {
        match self {
            Self::Webhook(w) => {
                let mut v = vec![&mut w.secret];
                v.extend(w.headers.values_mut());
                v.extend(w.previous_secret.as_mut());
                v.extend(w.client_key.as_mut());
                v.extend(w.client_key_password.as_mut());
                v
            }
            Self::Sqs(s) => vec![&mut s.secret_access_key],
            Self::S3(s) => vec![&mut s.secret_access_key],
        }
    }

    /// The stored form: JSON with every secret sealed.
    pub fn seal(&self, secrets: &SecretBox) -> String {
        let mut c = self.clone();
        for s in c.secrets_mut() {
            *s = secrets.seal(s);
        }
        serde_json::to_string(&c).expect("configs serialise")
    }

    pub fn open(stored: &str, secrets: &SecretBox) -> anyhow::Result<Config> {
        let mut c: Config = serde_json::from_str(stored)?;
        for s in c.secrets_mut() {
            *s = secrets.open(s)?;
        }
        Ok(c)
    }

    /// As shown to clients: secrets and header values masked, the webhook secret only when `reveal_secret`.
    pub fn masked(&self, reveal_secret: bool) -> Value {
        let mut c = self.clone();
        let secret = match &c {
            Config::Webhook(w) if reveal_secret => Some(w.secret.clone()),
            _ => None,
        };
        for s in c.secrets_mut() {
            *s = MASK.to_string();
        }
        let mut v = serde_json::to_value(&c).expect("configs serialise");
        let obj = v.as_object_mut().expect("an object");
        obj.remove("type");
        if let Config::Webhook(w) = self {
            obj.remove("previous_secret");
            obj.insert(
                "secret".into(),
                json!(secret.unwrap_or_else(|| MASK.into())),
            );
            if w.previous_secret.is_none() {
                obj.remove("previous_secret_expires_at");
            }
            for k in ["client_key", "client_key_password"] {
                if obj.get(k).is_some_and(Value::is_null) {
                    obj.remove(k);
                }
            }
        }
        v
    }
}

fn bad(m: &str) -> AppError {
    AppError::Unprocessable(m.to_string())
}

fn req_str(obj: &Map<String, Value>, key: &str) -> AppResult<String> {
    opt_str(obj, key)?.ok_or_else(|| bad(&format!("config.{key}: a string is required")))
}

fn opt_str(obj: &Map<String, Value>, key: &str) -> AppResult<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(bad(&format!("config.{key}: must be a string"))),
    }
}

/// A new secret value, or the stored one when the client sent the mask back.
fn keep(new: Option<String>, old: Option<&String>) -> Option<String> {
    match new {
        Some(v) if v == MASK => old.cloned(),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed() -> SecretBox {
        SecretBox::from_base64(&base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            [7u8; 32],
        ))
        .unwrap()
    }

    #[test]
    fn secrets_are_sealed_and_masked_and_masks_keep_them() {
        let raw = json!({"url": "https://example.com/h", "headers": {"Authorization": "Bearer t"}});
        let c = Config::parse("webhook", &raw, None).unwrap();
        let b = boxed();
        let stored = c.seal(&b);
        assert!(!stored.contains("Bearer t"));
        let Config::Webhook(w) = &c else { panic!() };
        assert!(!stored.contains(&w.secret));
        let opened = Config::open(&stored, &b).unwrap();
        let shown = opened.masked(false);
        assert_eq!(shown["headers"]["Authorization"], MASK);
        assert_eq!(shown["secret"], MASK);
        let again = Config::parse("webhook", &shown, Some(&opened)).unwrap();
        let Config::Webhook(w2) = again else { panic!() };
        assert_eq!(w2.headers["Authorization"], "Bearer t");
        assert_eq!(w2.secret, w.secret);
    }

    #[test]
    fn fifo_queues_need_a_group_and_s3_options_are_checked() {
        let sqs = json!({"queue_url": "http://127.0.0.1:1/1/q.fifo", "region": "us-east-1", "access_key_id": "k", "secret_access_key": "s"});
        assert!(Config::parse("sqs", &sqs, None).is_err());
        let s3 = json!({"bucket": "Bad_Bucket", "region": "r", "access_key_id": "k", "secret_access_key": "s"});
        assert!(Config::parse("s3", &s3, None).is_err());
        let s3 = json!({"bucket": "ok-bucket", "region": "r", "access_key_id": "k", "secret_access_key": "s", "data_format": "yaml"});
        assert!(Config::parse("s3", &s3, None).is_err());
        assert!(Config::parse("ftp", &s3, None).is_err());
    }

    #[test]
    fn the_previous_secret_signs_only_during_its_grace() {
        let w = WebhookConfig {
            secret: "new".into(),
            previous_secret: Some("old".into()),
            previous_secret_expires_at: Some(1000),
            ..Default::default()
        };
        assert_eq!(w.signing_secrets(999), vec!["new", "old"]);
        assert_eq!(w.signing_secrets(1000), vec!["new"]);
    }
}
