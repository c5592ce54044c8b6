//! One signed HTTP POST per Standard Webhooks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};

use serde_json::Value;

use super::sent::{Outcome, Sent};
use crate::crypto::{sign_extracta_legacy, sign_webhook};
use crate::outbound::headers::refused_header;
use crate::outbound::{tls, BasicAuth, SignatureScheme};
use crate::targets::WebhookConfig;
use crate::types::EventId;

const BODY_LOG_LIMIT: usize = 1024;

fn builder(timeout: Duration, allowed: Arc<Vec<ipnet::IpNet>>) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .dns_resolver(Arc::new(crate::outbound::ssrf::GuardedResolver { allowed }))
        // A proxy from the environment would resolve the target itself, past the guard.
        .no_proxy()
        .pool_idle_timeout(Duration::from_secs(30))
}

/// The shared HTTP client for deliveries: no redirects (a 3xx is a failure), SSRF-guarded DNS.
pub fn client(timeout: Duration, allowed: Arc<Vec<ipnet::IpNet>>) -> reqwest::Client {
    builder(timeout, allowed)
        .build()
        .expect("building the delivery HTTP client")
}

/// A client of its own for a webhook with a client certificate or private CA.
pub fn client_for(
    w: &WebhookConfig,
    timeout: Duration,
    allowed: Arc<Vec<ipnet::IpNet>>,
) -> Result<Option<reqwest::Client>, String> {
    if w.client_cert.is_none() && w.ca_cert.is_none() {
        return Ok(None);
    }
    let mut b = builder(timeout, allowed);
    if let (Some(cert), Some(key)) = (&w.client_cert, &w.client_key) {
        b = b.identity(tls::identity(cert, key, w.client_key_password.as_deref())?);
    }
    if let Some(ca) = &w.ca_cert {
        for c in tls::roots(ca)? {
            b = b.add_root_certificate(c);
        }
    }
    b.build()
        .map(Some)
        .map_err(|e| format!("the TLS settings are not usable: {}", error_chain(&e)))
}

/// Where and how one webhook delivery is sent.
pub struct Request<'a> {
    pub url: &'a str,
    /// The secrets to sign with: several during a rotation.
    pub secrets: &'a [&'a str],
    pub scheme: SignatureScheme,
    pub headers: &'a BTreeMap<String, String>,
    pub basic_auth: Option<&'a BasicAuth>,
}

/// Posts `body` signed per Standard Webhooks (and Extracta's legacy header when chosen).
/// An IP-literal URL is checked against the SSRF guard here, since it connects
/// without the guarded resolver.
pub async fn send(
    http: &reqwest::Client,
    allowed: &[ipnet::IpNet],
    req: Request<'_>,
    event_id: &EventId,
    body: String,
) -> Sent {
    let url = match reqwest::Url::parse(req.url) {
        Ok(u) => u,
        Err(e) => return Sent::not_made(format!("the URL is not valid: {e}")),
    };
    if let Err(e) = crate::outbound::ssrf::check_literal(&url, allowed) {
        return Sent::not_made(e.to_string());
    }
    let body = match req.scheme {
        SignatureScheme::ExtractaLegacy => extracta_body(&body),
        SignatureScheme::Standard => body,
    };
    let ts = chrono::Utc::now().timestamp();
    let signature = req
        .secrets
        .iter()
        .map(|s| sign_webhook(s, event_id.as_str(), ts, body.as_bytes()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut headers = HeaderMap::new();
    // Headers saved before a rule existed are held to it here too.
    for (k, v) in req
        .headers
        .iter()
        .filter(|(k, v)| refused_header(k, v).is_none())
    {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.insert(k, v);
        }
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("docpush/", env!("CARGO_PKG_VERSION"))),
    );
    let set = |h: &mut HeaderMap, k: &'static str, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(k, v);
        }
    };
    set(&mut headers, "webhook-id", event_id.as_str());
    set(&mut headers, "webhook-timestamp", &ts.to_string());
    set(&mut headers, "webhook-signature", &signature);
    if let Some(auth) = req.basic_auth {
        set(&mut headers, "authorization", &auth.header_value());
    }
    // One value only: Extracta receivers compare the whole header. During a
    // rotation it stays with the previous key, which those receivers still hold.
    if req.scheme == SignatureScheme::ExtractaLegacy {
        if let Some(secret) = req.secrets.last() {
            let legacy = sign_extracta_legacy(secret, &result_member(&body));
            set(&mut headers, "x-webhook-signature", &legacy);
        }
    }

    let started = Instant::now();
    match http.post(url).headers(headers).body(body).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let body = Some(body_start(resp).await);
            let outcome = match status {
                200..=299 => Outcome::Delivered {
                    status: Some(status),
                    body,
                },
                410 => Outcome::Gone { body },
                _ => Outcome::Refused {
                    status,
                    body,
                    detail: None,
                    retry_after,
                },
            };
            Sent {
                latency: started.elapsed(),
                outcome,
            }
        }
        Err(e) => {
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            Sent {
                latency: started.elapsed(),
                outcome: Outcome::Failed {
                    error: format!("{kind}: {}", error_chain(&e)),
                    timed_out: e.is_timeout(),
                },
            }
        }
    }
}

/// The first [`BODY_LOG_LIMIT`] bytes of a response; the rest is never read,
/// so a receiver cannot make us hold a large answer.
async fn body_start(mut resp: reqwest::Response) -> String {
    let mut kept = Vec::new();
    while kept.len() < BODY_LOG_LIMIT {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let room = BODY_LOG_LIMIT - kept.len();
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let ms = at.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(ms.max(0) as u64))
}

/// The body's `result` member as compact JSON: what Extracta's legacy signature covers.
fn result_member(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|mut v| v.get_mut("result").map(Value::take))
        .unwrap_or(Value::Null)
        .to_string()
}

/// The body as Extracta receivers re-serialise it: they sign
/// `JSON.stringify(body.result)` (or Python's `json.dumps`), so `result` is
/// always present (`null` for events without one) and whole numbers are
/// written without a fraction, as JavaScript writes them (1250, not 1250.0).
fn extracta_body(body: &str) -> String {
    let Ok(mut v) = serde_json::from_str::<Value>(body) else {
        return body.to_string();
    };
    if let Some(obj) = v.as_object_mut() {
        let result = obj.entry("result").or_insert(Value::Null);
        whole_numbers_as_integers(result);
        if let Some(data_result) = obj.get_mut("data").and_then(|d| d.get_mut("result")) {
            whole_numbers_as_integers(data_result);
        }
    }
    v.to_string()
}

fn whole_numbers_as_integers(v: &mut Value) {
    match v {
        Value::Number(n) => {
            // Below 2^53 a float with no fraction is exactly that integer.
            if let Some(f) = n
                .as_f64()
                .filter(|f| n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15)
            {
                *v = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(map) => map.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracta_bodies_write_numbers_as_javascript_does_and_always_carry_result() {
        let body = extracta_body(
            r#"{"type":"extraction.processed","result":{"total":1250.0,"rate":0.5,"n":[2.0]},"data":{"result":{"total":1250.0}}}"#,
        );
        assert_eq!(
            body,
            r#"{"type":"extraction.processed","result":{"total":1250,"rate":0.5,"n":[2]},"data":{"result":{"total":1250}}}"#
        );
        assert_eq!(result_member(&body), r#"{"total":1250,"rate":0.5,"n":[2]}"#);
        let none = extracta_body(r#"{"type":"job.received","data":{}}"#);
        assert_eq!(result_member(&none), "null");
        assert!(none.contains(r#""result":null"#));
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
