//! One signed HTTP POST per Standard Webhooks.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};

use crate::crypto::sign_webhook;

/// What one attempt produced.
#[derive(Debug)]
pub struct AttemptResult {
    pub status: Option<u16>,
    pub latency: Duration,
    /// The first 1 KiB of the response body.
    pub body: Option<String>,
    pub error: Option<String>,
    pub retry_after: Option<Duration>,
}

impl AttemptResult {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

const BODY_LOG_LIMIT: usize = 1024;

/// The HTTP client for deliveries: no redirects (a 3xx is a failure), SSRF-guarded DNS.
pub fn client(timeout: Duration, allowed: std::sync::Arc<Vec<ipnet::IpNet>>) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .dns_resolver(std::sync::Arc::new(super::ssrf::GuardedResolver {
            allowed,
        }))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .expect("building the delivery HTTP client")
}

pub async fn send(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    event_id: &str,
    custom: &BTreeMap<String, String>,
    body: String,
) -> AttemptResult {
    let ts = chrono::Utc::now().timestamp();
    let signature = sign_webhook(secret, event_id, ts, body.as_bytes());
    let mut headers = HeaderMap::new();
    for (k, v) in custom {
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
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = resp.bytes().await.ok().map(|b| {
                let cut = &b[..b.len().min(BODY_LOG_LIMIT)];
                String::from_utf8_lossy(cut).into_owned()
            });
            AttemptResult {
                status: Some(status),
                latency: started.elapsed(),
                body,
                error: (!(200..300).contains(&status)).then(|| format!("HTTP {status}")),
                retry_after,
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
                status: None,
                latency: started.elapsed(),
                body: None,
                error: Some(format!("{kind}: {}", error_chain(&e))),
                retry_after: None,
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
