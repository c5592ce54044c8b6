//! What each kind of target needs, as stored: sealed at rest and masked
//! when shown.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::TargetError;
use crate::crypto::SecretBox;
use crate::outbound::{BasicAuth, SignatureScheme, MASK};
use crate::types::DestinationKind;

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    #[serde(default)]
    pub signature: SignatureScheme,
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

impl WebhookConfig {
    /// A new signing secret of the same scheme; the replaced one keeps
    /// signing (as a second signature) for `grace` from `now_ms`.
    pub fn rotate_secret(&mut self, now_ms: i64, grace: std::time::Duration) {
        let (fresh, _) = self
            .signature
            .choose_secret(None, None)
            .expect("a new secret is always chosen when none is given");
        self.previous_secret = Some(std::mem::replace(&mut self.secret, fresh));
        self.previous_secret_expires_at = Some(now_ms + grace.as_millis() as i64);
    }
}

impl SqsConfig {
    pub fn is_fifo(&self) -> bool {
        self.queue_url.trim_end_matches('/').ends_with(".fifo")
    }
}

impl Config {
    pub fn kind(&self) -> DestinationKind {
        match self {
            Self::Webhook(_) => DestinationKind::Webhook,
            Self::Sqs(_) => DestinationKind::Sqs,
            Self::S3(_) => DestinationKind::S3,
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
                v.extend(w.basic_auth.as_mut().map(|b| &mut b.password));
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

    pub fn open(stored: &str, secrets: &SecretBox) -> Result<Config, TargetError> {
        let mut c: Config = serde_json::from_str(stored)
            .map_err(|e| TargetError::Unreadable(format!("stored settings: {e}")))?;
        for s in c.secrets_mut() {
            *s = secrets
                .open(s)
                .map_err(|e| TargetError::Unreadable(e.to_string()))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::DestinationKind::{self, Sqs, Webhook, S3};

    fn parse(
        kind: DestinationKind,
        raw: &Value,
        stored: Option<&Config>,
    ) -> Result<Config, TargetError> {
        Config::from_input(kind, raw, stored)
    }

    fn boxed() -> SecretBox {
        SecretBox::from_base64(&base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            [7u8; 32],
        ))
        .unwrap()
    }

    #[test]
    fn secrets_are_sealed_and_masked_and_masks_keep_them() {
        let raw = json!({"url": "https://example.com/h", "headers": {"X-Token": "Bearer t"}, "basic_auth": {"username": "u", "password": "pw-secret"}});
        let c = parse(Webhook, &raw, None).unwrap();
        let b = boxed();
        let stored = c.seal(&b);
        assert!(!stored.contains("Bearer t") && !stored.contains("pw-secret"));
        let Config::Webhook(w) = &c else { panic!() };
        assert!(!stored.contains(&w.secret));
        let opened = Config::open(&stored, &b).unwrap();
        let shown = opened.masked(false);
        assert_eq!(shown["headers"]["X-Token"], MASK);
        assert_eq!(shown["secret"], MASK);
        assert_eq!(
            shown["basic_auth"],
            json!({"username": "u", "password": MASK})
        );
        let again = parse(Webhook, &shown, Some(&opened)).unwrap();
        let Config::Webhook(w2) = again else { panic!() };
        assert_eq!(w2.headers["X-Token"], "Bearer t");
        assert_eq!(w2.basic_auth.unwrap().password, "pw-secret");
        assert_eq!(w2.secret, w.secret);
    }

    #[test]
    fn fifo_queues_need_a_group_and_s3_options_are_checked() {
        let sqs = json!({"queue_url": "http://127.0.0.1:1/1/q.fifo", "region": "us-east-1", "access_key_id": "k", "secret_access_key": "s"});
        assert!(parse(Sqs, &sqs, None).is_err());
        let s3 = json!({"bucket": "Bad_Bucket", "region": "r", "access_key_id": "k", "secret_access_key": "s"});
        assert!(parse(S3, &s3, None).is_err());
        let s3 = json!({"bucket": "ok-bucket", "region": "r", "access_key_id": "k", "secret_access_key": "s", "data_format": "yaml"});
        assert!(parse(S3, &s3, None).is_err());
        assert!(parse(S3, &json!([]), None).is_err());
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
