//! Custom headers a webhook carries and its Basic credentials: validated when
//! a client saves them, applied when delivery sends.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most custom headers one webhook may carry.
pub const MAX_CUSTOM_HEADERS: usize = 20;
/// Longest custom header name, in bytes.
pub const MAX_HEADER_NAME_BYTES: usize = 128;
/// Longest custom header value, in bytes.
pub const MAX_HEADER_VALUE_BYTES: usize = 4096;

/// Headers docpush sets itself on every delivery.
const RESERVED_HEADERS: [&str; 5] = [
    "content-length",
    "host",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

/// Hop-by-hop headers (RFC 9110 §7.6.1) and `Expect`: they steer the connection,
/// not the receiver, so forwarding a client's value could break or smuggle requests.
const HOP_BY_HOP_HEADERS: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
];

/// Why a custom header may not be sent, if it may not. `Content-Type` may only
/// say what docpush sends anyway: integrations configured elsewhere often list it.
pub fn refused_header(name: &str, value: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if lower == "content-type" {
        let media = value.split(';').next().unwrap_or_default().trim();
        (!media.eq_ignore_ascii_case("application/json"))
            .then_some("can only be application/json, the body docpush sends")
    } else if lower == "x-webhook-signature" {
        Some("is set by docpush for the extracta-legacy signature")
    } else if RESERVED_HEADERS.contains(&lower.as_str()) {
        Some("is set by docpush and cannot be overridden")
    } else if HOP_BY_HOP_HEADERS.contains(&lower.as_str()) {
        Some("is a hop-by-hop header, which a webhook cannot carry")
    } else {
        None
    }
}

/// Custom headers sent with every delivery, checked when they are saved:
/// valid names and values, within the limits, none that docpush sets itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "BTreeMap<String, String>")]
#[schema(
    value_type = BTreeMap<String, String>,
    example = json!({"Authorization": "Bearer abc"})
)]
pub struct CustomHeaders(pub BTreeMap<String, String>);

impl TryFrom<BTreeMap<String, String>> for CustomHeaders {
    type Error = String;

    fn try_from(map: BTreeMap<String, String>) -> Result<Self, String> {
        if map.len() > MAX_CUSTOM_HEADERS {
            return Err(format!(
                "{} headers, more than the limit of {MAX_CUSTOM_HEADERS}",
                map.len()
            ));
        }
        for (k, v) in &map {
            if k.len() > MAX_HEADER_NAME_BYTES {
                return Err(format!(
                    "a header name is longer than {MAX_HEADER_NAME_BYTES} bytes"
                ));
            }
            if v.len() > MAX_HEADER_VALUE_BYTES {
                return Err(format!(
                    "{k}: the value is longer than {MAX_HEADER_VALUE_BYTES} bytes"
                ));
            }
            reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("{k:?} is not a valid header name"))?;
            reqwest::header::HeaderValue::from_str(v)
                .map_err(|_| format!("{k}: not a valid header value"))?;
            // A masked value stands for the stored one, which passed these rules when saved.
            let value = if v == super::MASK {
                "application/json"
            } else {
                v
            };
            if let Some(why) = refused_header(k, value) {
                return Err(format!("{k} {why}"));
            }
        }
        Ok(Self(map))
    }
}

impl CustomHeaders {
    pub fn has(&self, name: &str) -> bool {
        self.0.keys().any(|k| k.eq_ignore_ascii_case(name))
    }

    /// Replaces masked values by the stored ones; a mask with nothing stored is an error naming the header.
    pub fn keep_masked(&mut self, stored: &BTreeMap<String, String>) -> Result<(), String> {
        for (k, v) in self.0.iter_mut() {
            if v == super::MASK {
                *v = stored.get(k).cloned().ok_or_else(|| {
                    format!("{k}: a masked value can only keep an existing header")
                })?;
            }
        }
        Ok(())
    }
}

/// HTTP Basic credentials for the receiver; docpush builds the `Authorization` header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "BasicAuthInput")]
#[schema(example = json!({"username": "docpush", "password": "s3cret"}))]
pub struct BasicAuth {
    /// Without a colon, at most 256 bytes.
    pub username: String,
    /// Sealed at rest and shown masked.
    pub password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BasicAuthInput {
    username: String,
    password: String,
}

impl TryFrom<BasicAuthInput> for BasicAuth {
    type Error = String;

    fn try_from(b: BasicAuthInput) -> Result<Self, String> {
        let printable = |s: &str| !s.chars().any(char::is_control);
        if b.username.is_empty() || b.username.len() > 256 || b.username.contains(':') {
            return Err("username: 1 to 256 bytes, without a colon".into());
        }
        if b.password.len() > 256 || !printable(&b.password) || !printable(&b.username) {
            return Err("password: at most 256 bytes, without control characters".into());
        }
        Ok(Self {
            username: b.username,
            password: b.password,
        })
    }
}

impl BasicAuth {
    /// The `Authorization` header value.
    pub fn header_value(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Result<CustomHeaders, String> {
        CustomHeaders::try_from(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    #[test]
    fn content_type_is_taken_only_as_json() {
        assert!(headers(&[("Content-Type", "application/json")]).is_ok());
        assert!(headers(&[("content-type", "Application/JSON; charset=utf-8")]).is_ok());
        // As shown once saved, and sent back in a PUT.
        assert!(headers(&[("Content-Type", super::super::MASK)]).is_ok());
        let err = headers(&[("Content-Type", "text/plain")]).unwrap_err();
        assert!(err.contains("application/json"), "{err}");
    }

    #[test]
    fn reserved_and_hop_by_hop_headers_are_refused() {
        for name in [
            "webhook-id",
            "Host",
            "Connection",
            "Expect",
            "Transfer-Encoding",
        ] {
            assert!(headers(&[(name, "x")]).is_err(), "{name}");
        }
    }

    #[test]
    fn basic_auth_builds_the_header() {
        let b: BasicAuth =
            serde_json::from_str(r#"{"username": "Aladdin", "password": "open sesame"}"#).unwrap();
        assert_eq!(b.header_value(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert!(
            serde_json::from_str::<BasicAuth>(r#"{"username": "a:b", "password": ""}"#).is_err()
        );
    }
}
