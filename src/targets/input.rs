//! A target's `config` as clients send it, checked into what is stored.
//! Masked values sent back keep the stored ones.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::config::{Config, S3Config, SqsConfig, WebhookConfig};
use super::TargetError;
use crate::json_input::{optional_object, parse_member};
use crate::outbound::{BasicAuth, CustomHeaders, SignatureScheme, MASK};
use crate::types::DestinationKind;

/// How the OpenAPI document describes a `config`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ConfigInputDoc {
    Webhook(WebhookInput),
    Sqs(SqsInput),
    S3(S3Input),
}

/// `config` of a webhook destination.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(as = WebhookConfigInput)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    pub url: String,
    #[serde(default)]
    pub headers: Option<CustomHeaders>,
    /// A `whsec_` secret of your own (an `E_AI_K_` key with `extracta-legacy`); absent keeps or generates one.
    #[serde(default)]
    pub secret: Option<String>,
    /// Builds the `Authorization` header; the password is sealed and shown masked.
    #[serde(default, deserialize_with = "optional_object")]
    pub basic_auth: Option<BasicAuth>,
    /// `standard` (the default) or `extracta-legacy`, which adds `x-webhook-signature`.
    #[serde(default)]
    pub signature: Option<SignatureScheme>,
    /// PEM certificate chain for mutual TLS, with `client_key`.
    #[serde(default)]
    pub client_cert: Option<String>,
    #[serde(default)]
    pub client_key: Option<String>,
    #[serde(default)]
    pub client_key_password: Option<String>,
    /// PEM certificates trusted for this receiver besides the public roots.
    #[serde(default)]
    pub ca_cert: Option<String>,
    /// Shown by the service; accepted and ignored.
    #[serde(default, skip_serializing)]
    #[schema(read_only, value_type = Option<String>)]
    pub previous_secret_expires_at: Option<IgnoredAny>,
}

/// `config` of an SQS destination.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(as = SqsConfigInput)]
#[serde(deny_unknown_fields)]
pub struct SqsInput {
    pub queue_url: String,
    pub region: String,
    pub access_key_id: String,
    /// Sealed at rest, shown masked.
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// Required for a FIFO queue (a name ending `.fifo`).
    #[serde(default)]
    pub message_group_id: Option<String>,
    /// For SQS-compatible servers.
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

/// `config` of an S3 destination.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(as = S3ConfigInput)]
#[serde(deny_unknown_fields)]
pub struct S3Input {
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    #[serde(default)]
    pub secret_access_key: Option<String>,
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Any of `document`, `data`; default both.
    #[serde(default)]
    pub receive_files: Option<Vec<String>>,
    /// `json` (the default) or `xml`.
    #[serde(default)]
    pub data_format: Option<String>,
}

fn bad(m: impl Into<String>) -> TargetError {
    TargetError::Invalid(m.into())
}

/// A trimmed string, `None` when blank.
fn text(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn required(key: &str, s: String) -> Result<String, TargetError> {
    text(Some(s)).ok_or_else(|| bad(format!("config.{key}: a non-empty string is required")))
}

/// A new secret value, or the stored one when the client sent the mask back.
fn keep(new: Option<String>, old: Option<&String>) -> Option<String> {
    match text(new) {
        Some(v) if v == MASK => old.cloned(),
        other => other,
    }
}

impl Config {
    /// Validates a client's `config` for `kind`. Masked values keep what `stored` holds.
    pub fn from_input(
        kind: DestinationKind,
        raw: &Value,
        stored: Option<&Config>,
    ) -> Result<Config, TargetError> {
        match kind {
            DestinationKind::Webhook => {
                let old = match stored {
                    Some(Config::Webhook(w)) => Some(w),
                    _ => None,
                };
                webhook(
                    parse_member("config", raw).map_err(|e| bad(e.to_string()))?,
                    old,
                )
                .map(Config::Webhook)
            }
            DestinationKind::Sqs => {
                let old = match stored {
                    Some(Config::Sqs(s)) => Some(&s.secret_access_key),
                    _ => None,
                };
                sqs(
                    parse_member("config", raw).map_err(|e| bad(e.to_string()))?,
                    old,
                )
                .map(Config::Sqs)
            }
            DestinationKind::S3 => {
                let old = match stored {
                    Some(Config::S3(s)) => Some(&s.secret_access_key),
                    _ => None,
                };
                s3(
                    parse_member("config", raw).map_err(|e| bad(e.to_string()))?,
                    old,
                )
                .map(Config::S3)
            }
        }
    }
}

fn webhook(i: WebhookInput, old: Option<&WebhookConfig>) -> Result<WebhookConfig, TargetError> {
    let mut headers = i.headers.unwrap_or_default();
    let no_headers = Default::default();
    headers
        .keep_masked(old.map_or(&no_headers, |o| &o.headers))
        .map_err(|e| bad(format!("config.headers.{e}")))?;
    let mut basic_auth = i.basic_auth;
    if let Some(b) = basic_auth.as_mut().filter(|b| b.password == MASK) {
        b.password = old
            .and_then(|o| o.basic_auth.as_ref())
            .map(|o| o.password.clone())
            .ok_or_else(|| {
                bad("config.basic_auth.password: a masked value can only keep a stored password")
            })?;
    }
    if basic_auth.is_some() && headers.has("authorization") {
        return Err(bad(
            "config.basic_auth: it sets the Authorization header; remove Authorization from headers",
        ));
    }
    let signature = i.signature.unwrap_or_default();
    let (secret, _) = signature
        .choose_secret(text(i.secret).as_deref(), old.map(|o| o.secret.as_str()))
        .map_err(|e| bad(format!("config.secret: {e}")))?;
    let cfg = WebhookConfig {
        url: required("url", i.url)?,
        headers: headers.0,
        secret,
        previous_secret: old.and_then(|o| o.previous_secret.clone()),
        previous_secret_expires_at: old.and_then(|o| o.previous_secret_expires_at),
        client_cert: text(i.client_cert),
        client_key: keep(i.client_key, old.and_then(|o| o.client_key.as_ref())),
        client_key_password: keep(
            i.client_key_password,
            old.and_then(|o| o.client_key_password.as_ref()),
        ),
        ca_cert: text(i.ca_cert),
        basic_auth,
        signature,
    };
    if cfg.client_cert.is_some() != cfg.client_key.is_some() {
        return Err(bad(
            "config: client_cert and client_key go together (PEM certificate and its key)",
        ));
    }
    if let (Some(cert), Some(key)) = (&cfg.client_cert, &cfg.client_key) {
        // Checked now rather than at the first delivery.
        crate::outbound::tls::identity(cert, key, cfg.client_key_password.as_deref())
            .map_err(|e| bad(format!("config: {e}")))?;
    }
    if let Some(ca) = &cfg.ca_cert {
        crate::outbound::tls::roots(ca).map_err(|e| bad(format!("config: {e}")))?;
    }
    Ok(cfg)
}

fn sqs(i: SqsInput, old: Option<&String>) -> Result<SqsConfig, TargetError> {
    let cfg = SqsConfig {
        queue_url: required("queue_url", i.queue_url)?,
        region: required("region", i.region)?,
        access_key_id: required("access_key_id", i.access_key_id)?,
        secret_access_key: keep(i.secret_access_key, old)
            .ok_or_else(|| bad("config.secret_access_key: a string is required"))?,
        message_group_id: text(i.message_group_id),
        endpoint_url: text(i.endpoint_url),
    };
    reqwest::Url::parse(&cfg.queue_url)
        .map_err(|e| bad(format!("config.queue_url: not a URL: {e}")))?;
    if cfg.is_fifo() && cfg.message_group_id.is_none() {
        return Err(bad(
            "config.message_group_id: required for a FIFO queue (a name ending .fifo)",
        ));
    }
    if cfg.message_group_id.as_ref().is_some_and(|g| g.len() > 128) {
        return Err(bad("config.message_group_id: 1 to 128 characters"));
    }
    Ok(cfg)
}

fn s3(i: S3Input, old: Option<&String>) -> Result<S3Config, TargetError> {
    let receive_files = match i.receive_files {
        None => vec!["document".to_string(), "data".to_string()],
        Some(items) if !items.is_empty() => {
            if let Some(other) = items.iter().find(|s| *s != "document" && *s != "data") {
                return Err(bad(format!(
                    "config.receive_files: {other:?} is not \"document\" or \"data\""
                )));
            }
            items
        }
        Some(_) => {
            return Err(bad(
                "config.receive_files: a non-empty list of \"document\" and/or \"data\"",
            ))
        }
    };
    let data_format = text(i.data_format).unwrap_or_else(|| "json".into());
    if data_format != "json" && data_format != "xml" {
        return Err(bad("config.data_format: \"json\" or \"xml\""));
    }
    let bucket = required("bucket", i.bucket)?;
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if !valid_bucket {
        return Err(bad(
            "config.bucket: 3 to 63 lowercase letters, digits, dots and hyphens",
        ));
    }
    Ok(S3Config {
        bucket,
        region: required("region", i.region)?,
        access_key_id: required("access_key_id", i.access_key_id)?,
        secret_access_key: keep(i.secret_access_key, old)
            .ok_or_else(|| bad("config.secret_access_key: a string is required"))?,
        endpoint_url: text(i.endpoint_url),
        receive_files,
        data_format,
    })
}
