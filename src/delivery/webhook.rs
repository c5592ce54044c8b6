//! One signed HTTP POST per Standard Webhooks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};

use crate::crypto::sign_webhook;
use crate::destinations::config::WebhookConfig;

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

/// Headers docpush sets itself on every delivery.
const RESERVED_HEADERS: [&str; 6] = [
    "content-type",
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

/// Why a custom header may not be sent, if it may not.
pub fn refused_header(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if RESERVED_HEADERS.contains(&lower.as_str()) {
        Some("is set by docpush and cannot be overridden")
    } else if HOP_BY_HOP_HEADERS.contains(&lower.as_str()) {
        Some("is a hop-by-hop header, which a webhook cannot carry")
    } else {
        None
    }
}

fn builder(timeout: Duration, allowed: Arc<Vec<ipnet::IpNet>>) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .dns_resolver(Arc::new(super::ssrf::GuardedResolver { allowed }))
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
        let key = plain_key(key, w.client_key_password.as_deref())?;
        let identity = reqwest::Identity::from_pem(format!("{cert}\n{key}").as_bytes())
            .map_err(|e| format!("the client certificate or key is not usable: {e}"))?;
        b = b.identity(identity);
    }
    if let Some(ca) = &w.ca_cert {
        for c in reqwest::Certificate::from_pem_bundle(ca.as_bytes())
            .map_err(|e| format!("ca_cert is not a PEM certificate: {e}"))?
        {
            b = b.add_root_certificate(c);
        }
    }
    b.build()
        .map(Some)
        .map_err(|e| format!("the TLS settings are not usable: {}", error_chain(&e)))
}

/// The private key as unencrypted PEM; an `ENCRYPTED PRIVATE KEY` is opened with the password.
pub fn plain_key(pem: &str, password: Option<&str>) -> Result<String, String> {
    if !pem.contains("ENCRYPTED PRIVATE KEY") {
        return Ok(pem.to_string());
    }
    let password =
        password.ok_or("the client key is encrypted: client_key_password is required")?;
    let (_, der) = pkcs8::der::pem::decode_vec(pem.trim().as_bytes())
        .map_err(|e| format!("the client key is not PEM: {e}"))?;
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
        .map_err(|e| format!("the client key is not PKCS#8: {e}"))?;
    let doc = info
        .decrypt(password)
        .map_err(|_| "the client key password is wrong".to_string())?;
    doc.to_pem("PRIVATE KEY", pkcs8::LineEnding::LF)
        .map(|p| p.to_string())
        .map_err(|e| format!("the client key cannot be re-encoded: {e}"))
}

/// Posts `body` signed with each of `secrets` (several during a rotation).
/// An IP-literal URL is checked against the SSRF guard here, since it connects
/// without the guarded resolver.
pub async fn send(
    http: &reqwest::Client,
    allowed: &[ipnet::IpNet],
    url: &str,
    secrets: &[&str],
    event_id: &str,
    custom: &BTreeMap<String, String>,
    body: String,
) -> AttemptResult {
    let url = match reqwest::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return AttemptResult::failed(format!("the URL is not valid: {e}")),
    };
    if let Err(e) = super::ssrf::check_literal(&url, allowed) {
        return AttemptResult::failed(e.to_string());
    }
    let ts = chrono::Utc::now().timestamp();
    let signature = secrets
        .iter()
        .map(|s| sign_webhook(s, event_id, ts, body.as_bytes()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut headers = HeaderMap::new();
    // Headers saved before a rule existed are held to it here too.
    for (k, v) in custom.iter().filter(|(k, _)| refused_header(k).is_none()) {
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
