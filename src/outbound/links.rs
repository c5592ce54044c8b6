//! Result links (SPEC §4): a webhook body over its destination's
//! `max_payload_bytes` carries `data.result_url` instead of `data.result`.
//! The link names the document and when it expires, signed with the
//! service's key, so it needs no API key and opens only that document's result.

use std::time::Duration;

use serde_json::Value;

use crate::crypto::SecretBox;
use crate::types::FileId;

/// A webhook body's size at which the result goes as a link, unless the destination says otherwise.
pub const DEFAULT_MAX_PAYLOAD_BYTES: u64 = 1024 * 1024;

/// How long a link opens its result.
pub const VALID_FOR: Duration = Duration::from_secs(24 * 3600);

/// Where result links point, and what signs them.
#[derive(Clone)]
pub struct ResultLinks {
    secrets: SecretBox,
    /// The service's address as receivers reach it, without a trailing slash.
    base_url: String,
}

impl ResultLinks {
    pub fn new(secrets: SecretBox, base_url: &str) -> Self {
        Self {
            secrets,
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    /// The link to `file`'s result, valid until `now_ms` + [`VALID_FOR`].
    pub fn url(&self, file: &FileId, now_ms: i64) -> String {
        let expires = now_ms + VALID_FOR.as_millis() as i64;
        let message = format!("{file}.{expires}");
        let signature = self.secrets.sign_link(&message);
        format!("{}/v1/result-links/{message}.{signature}", self.base_url)
    }

    /// The document a token opens, if it is this service's and has not expired at `now_ms`.
    pub fn open(&self, token: &str, now_ms: i64) -> Option<FileId> {
        let (message, signature) = token.rsplit_once('.')?;
        let (file, expires) = message.rsplit_once('.')?;
        let expires: i64 = expires.parse().ok()?;
        if expires <= now_ms || !self.secrets.verify_link(message, signature) {
            return None;
        }
        FileId::parse(file)
    }
}

/// `body` (a delivery's JSON) with its result replaced by `url`: in `data`,
/// and at the top level where a template's webhook has it.
pub fn with_result_link(body: &str, url: &str) -> Option<String> {
    let mut v: Value = serde_json::from_str(body).ok()?;
    let data = v.get_mut("data")?.as_object_mut()?;
    data.remove("result")?;
    data.insert("result_url".into(), url.into());
    if let Some(top) = v.as_object_mut() {
        if top.remove("result").is_some() {
            top.insert("result_url".into(), url.into());
        }
    }
    Some(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> ResultLinks {
        let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [9u8; 32]);
        ResultLinks::new(
            SecretBox::from_base64(&key).unwrap(),
            "http://docs.example/",
        )
    }

    #[test]
    fn a_link_opens_its_document_until_it_expires_and_not_when_altered() {
        let file = FileId::new();
        let url = links().url(&file, 1_000);
        let token = url
            .strip_prefix("http://docs.example/v1/result-links/")
            .unwrap();
        assert_eq!(links().open(token, 2_000), Some(file.clone()));
        let expired = 1_000 + VALID_FOR.as_millis() as i64;
        assert_eq!(links().open(token, expired), None);
        let other = FileId::new();
        let forged = token.replacen(file.as_str(), other.as_str(), 1);
        assert_eq!(links().open(&forged, 2_000), None);
        let later = token.replacen(".86401000.", ".99999999999.", 1);
        assert_eq!(links().open(&later, 2_000), None);
    }

    #[test]
    fn the_result_is_replaced_where_it_was() {
        let body = r#"{"type":"extraction.processed","result":{"a":1},"data":{"result":{"a":1},"pages":1}}"#;
        let v: Value =
            serde_json::from_str(&with_result_link(body, "http://x/l").unwrap()).unwrap();
        assert_eq!(v["data"]["result_url"], "http://x/l");
        assert!(v["data"].get("result").is_none() && v.get("result").is_none());
        assert_eq!(v["result_url"], "http://x/l");
        assert_eq!(v["data"]["pages"], 1);
    }
}
