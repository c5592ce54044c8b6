//! One signed HTTP POST per Standard Webhooks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};

use crate::crypto::{sign_extracta_legacy, sign_webhook};
use crate::destinations::config::WebhookConfig;
use crate::outbound::headers::refused_header;
use crate::outbound::{tls, BasicAuth, SignatureScheme};

/// What one attempt produced, for any destination type.
#[derive(Debug, Default)]
pub struct AttemptResult {
    pub status: Option<u16>,
    pub latency: Duration,
    /// The first 1 KiB of the response body.
    pub body: Option<String>,
    pub error: Option<String>,
    pub retry_after: Option<Duration>,
    pub ok: bool,
    /// The receiver answered 410 Gone: it wants no more deliveries.
    pub gone: bool,
    /// Rate-limited or timed out: the next attempt waits longer.
    pub throttled: bool,
}

impl AttemptResult {
    pub fn ok(latency: Duration, body: Option<String>) -> Self {
        Self {
            latency,
            body,
            ok: true,
            ..Default::default()
        }
    }

    pub fn failed(error: String) -> Self {
        Self {
            error: Some(error),
            ..Default::default()
        }
    }
}

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
    event_id: &str,
    body: String,
) -> AttemptResult {
    let url = match reqwest::Url::parse(req.url) {
        Ok(u) => u,
        Err(e) => return AttemptResult::failed(format!("the URL is not valid: {e}")),
    };
    if let Err(e) = crate::outbound::ssrf::check_literal(&url, allowed) {
        return AttemptResult::failed(e.to_string());
    }
    let ts = chrono::Utc::now().timestamp();
    let signature = req
        .secrets
        .iter()
        .map(|s| sign_webhook(s, event_id, ts, body.as_bytes()))
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
    set(&mut headers, "webhook-id", event_id);
    set(&mut headers, "webhook-timestamp", &ts.to_string());
    set(&mut headers, "webhook-signature", &signature);
    if let Some(auth) = req.basic_auth {
        set(&mut headers, "authorization", &auth.header_value());
    }
    if req.scheme == SignatureScheme::ExtractaLegacy {
        if let Some(secret) = req.secrets.first() {
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
            let ok = (200..300).contains(&status);
            AttemptResult {
                status: Some(status),
                latency: started.elapsed(),
                body,
                error: (!ok).then(|| match status {
                    300..=399 => format!("HTTP {status}: redirects are not followed"),
                    _ => format!("HTTP {status}"),
                }),
                retry_after,
                ok,
                gone: status == 410,
                throttled: status == 429 || status == 503,
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
            AttemptResult {
                latency: started.elapsed(),
                error: Some(format!("{kind}: {}", error_chain(&e))),
                throttled: e.is_timeout(),
                ..Default::default()
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

/// The body's `result` member as compact JSON (`null` when it has none): what
/// Extracta's legacy signature covers, as its receivers re-serialise it.
fn result_member(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|mut v| v.get_mut("result").map(serde_json::Value::take))
        .unwrap_or(serde_json::Value::Null)
        .to_string()
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
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
