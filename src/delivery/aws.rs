//! SQS `SendMessage` and S3 `PutObject` through the AWS SDK, one client per
//! attempt from the destination's own credentials. The SDK's own retries are
//! off: the delivery engine owns the schedule.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use super::sent::{Outcome, Sent};
use crate::outbound::ssrf::GuardedResolver;
use crate::targets::{S3Config, SqsConfig};
use crate::types::EventId;

/// The HTTP client of every SQS and S3 call: rustls on ring, and the SSRF
/// guard on every DNS answer (endpoint URLs with IP literals are checked before each send).
pub fn http_client(allowed: Arc<Vec<ipnet::IpNet>>) -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_with_resolver(GuardedResolver { allowed })
}

fn timeouts(timeout: Duration) -> aws_smithy_types::timeout::TimeoutConfig {
    aws_smithy_types::timeout::TimeoutConfig::builder()
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .operation_timeout(timeout)
        .build()
}

pub fn sqs_client(
    http: &SharedHttpClient,
    c: &SqsConfig,
    timeout: Duration,
) -> aws_sdk_sqs::Client {
    use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
    let mut b = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(c.region.clone()))
        .credentials_provider(Credentials::new(
            &c.access_key_id,
            &c.secret_access_key,
            None,
            None,
            "docpush-destination",
        ))
        .http_client(http.clone())
        .timeout_config(timeouts(timeout))
        .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled());
    if let Some(e) = &c.endpoint_url {
        b = b.endpoint_url(e);
    }
    aws_sdk_sqs::Client::from_conf(b.build())
}

pub fn s3_client(http: &SharedHttpClient, c: &S3Config, timeout: Duration) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, RequestChecksumCalculation};
    let mut b = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(c.region.clone()))
        .credentials_provider(Credentials::new(
            &c.access_key_id,
            &c.secret_access_key,
            None,
            None,
            "docpush-destination",
        ))
        .http_client(http.clone())
        .timeout_config(timeouts(timeout))
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        // S3-compatible servers reject the SDK's default streaming checksums.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired);
    if let Some(e) = &c.endpoint_url {
        b = b.endpoint_url(e).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(b.build())
}

/// Sends one message; FIFO queues get the configured group and the event id as deduplication id.
pub async fn send_sqs(
    http: &SharedHttpClient,
    c: &SqsConfig,
    timeout: Duration,
    event_id: &EventId,
    body: String,
) -> Sent {
    let client = sqs_client(http, c, timeout);
    let started = Instant::now();
    let mut req = client
        .send_message()
        .queue_url(&c.queue_url)
        .message_body(body);
    if c.is_fifo() {
        req = req
            .message_group_id(
                c.message_group_id
                    .clone()
                    .unwrap_or_else(|| "docpush".into()),
            )
            .message_deduplication_id(event_id.as_str());
    }
    let res = req.send().await;
    match res {
        Ok(out) => Sent::delivered(
            started.elapsed(),
            out.message_id().map(|m| format!("MessageId {m}")),
        ),
        Err(e) => sdk_failure(started, &e),
    }
}

/// One object written to S3.
pub struct S3Object {
    pub key: String,
    pub body: Vec<u8>,
    pub content_type: &'static str,
}

pub async fn put_s3(
    http: &SharedHttpClient,
    c: &S3Config,
    timeout: Duration,
    objects: Vec<S3Object>,
) -> Sent {
    let client = s3_client(http, c, timeout);
    let started = Instant::now();
    let mut written = Vec::new();
    for o in objects {
        let res = client
            .put_object()
            .bucket(&c.bucket)
            .key(&o.key)
            .content_type(o.content_type)
            .body(aws_sdk_s3::primitives::ByteStream::from(o.body))
            .send()
            .await;
        if let Err(e) = res {
            return sdk_failure(started, &e);
        }
        written.push(o.key);
    }
    Sent::delivered(
        started.elapsed(),
        Some(format!("wrote {}", written.join(", "))),
    )
}

fn sdk_failure<E, R>(
    started: Instant,
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> Sent
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + HasStatus,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let status = e.raw_response().and_then(HasStatus::status);
    let timed_out = matches!(e, SdkError::TimeoutError(_));
    let detail = match e {
        SdkError::ServiceError(s) => s.err().to_string(),
        other => super::webhook::error_chain(other),
    };
    let detail = if detail.is_empty() {
        format!("{e:?}")
    } else {
        detail
    };
    let outcome = match status {
        Some(status) => Outcome::Refused {
            status,
            body: None,
            detail: Some(detail),
            retry_after: None,
        },
        None if timed_out => Outcome::Failed {
            error: format!("timed out: {detail}"),
            timed_out: true,
        },
        None => Outcome::Failed {
            error: detail,
            timed_out: false,
        },
    };
    Sent {
        latency: started.elapsed(),
        outcome,
    }
}

/// The HTTP status of an SDK raw response.
pub trait HasStatus {
    fn status(&self) -> Option<u16>;
}

impl HasStatus for aws_smithy_runtime_api::http::Response {
    fn status(&self) -> Option<u16> {
        Some(self.status().as_u16())
    }
}
