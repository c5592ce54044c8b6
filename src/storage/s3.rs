//! Blobs as objects in an S3 bucket under a prefix, for hosts that share
//! nothing but the database and the bucket. Credentials, region and endpoint
//! come from the standard AWS environment and profile chain.

use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Region, RequestChecksumCalculation};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};

use super::{checked_key, StorageError};

/// Deletes of one prefix in flight at once.
const PARALLEL_DELETES: usize = 16;

#[derive(Clone, Debug)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// Empty, or ends with `/`.
    prefix: String,
}

/// `s3://BUCKET/PREFIX` split into its bucket and its prefix (no slashes at the ends).
pub fn parse_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let prefix = prefix.trim_matches('/');
    (valid_bucket && (prefix.is_empty() || checked_key(prefix).is_ok()))
        .then(|| (bucket.to_string(), prefix.to_string()))
}

impl S3Store {
    /// Builds the client from the AWS environment and profile chain, and
    /// checks that the bucket answers.
    pub async fn connect(bucket: &str, prefix: &str) -> anyhow::Result<Self> {
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client())
            .load()
            .await;
        Self::with_config(&shared, bucket, prefix).await
    }

    /// Builds the client from `shared` and checks that the bucket answers, so
    /// that a host with a wrong bucket or credentials stops at start-up
    /// instead of failing every job.
    pub async fn with_config(
        shared: &aws_config::SdkConfig,
        bucket: &str,
        prefix: &str,
    ) -> anyhow::Result<Self> {
        let mut config = aws_sdk_s3::config::Builder::from(shared)
            .http_client(http_client())
            .timeout_config(
                aws_smithy_types::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .read_timeout(Duration::from_secs(60))
                    .build(),
            )
            // S3-compatible servers reject the SDK's default streaming checksums.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired);
        if shared.endpoint_url().is_some() {
            config = config.force_path_style(true);
            if shared.region().is_none() {
                config = config.region(Region::new("us-east-1"));
            }
        }
        let store = Self {
            client: aws_sdk_s3::Client::from_conf(config.build()),
            bucket: bucket.to_string(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        };
        store
            .client
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "the blob store s3://{bucket} cannot be used: {} (check AWS_ENDPOINT_URL, AWS_REGION and the credentials)",
                    describe(&e)
                )
            })?;
        Ok(store)
    }

    fn object(&self, key: &str) -> Result<String, StorageError> {
        checked_key(key)?;
        Ok(format!("{}{key}", self.prefix))
    }

    fn failed<E: ProvideErrorMetadata + std::error::Error + 'static>(
        key: &str,
        e: &SdkError<E, Response>,
    ) -> StorageError {
        StorageError::Remote {
            key: key.to_string(),
            detail: describe(e),
            passing: passing(e),
        }
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.object(key)?)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| Self::failed(key, &e))?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object(key)?)
            .send()
            .await
            .map_err(|e| {
                let missing_key = e.as_service_error().is_some_and(|s| s.is_no_such_key())
                    || (status_of(&e) == Some(404)
                        && e.as_service_error().and_then(|s| s.code()) != Some("NoSuchBucket"));
                if missing_key {
                    StorageError::NotFound(key.to_string())
                } else {
                    Self::failed(key, &e)
                }
            })?;
        // Read straight into one buffer of the object's size: the blob sits in memory once.
        let size = out.content_length().unwrap_or(0).max(0) as usize;
        let mut bytes = Vec::with_capacity(size);
        let mut body = out.body;
        while let Some(chunk) = body.try_next().await.map_err(|e| StorageError::Remote {
            key: key.to_string(),
            detail: format!("reading the object: {e}"),
            passing: true,
        })? {
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.delete_object(key, self.object(key)?).await
    }

    async fn delete_object(&self, key: &str, object: String) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(object)
            .send()
            .await
            .map_err(|e| Self::failed(key, &e))?;
        Ok(())
    }

    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), StorageError> {
        let under = format!("{}/", self.object(prefix)?);
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&under)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Self::failed(prefix, &e))?;
            let objects: Vec<String> = page
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string))
                .collect();
            futures_util::stream::iter(objects)
                .map(|object| self.delete_object(prefix, object))
                .buffer_unordered(PARALLEL_DELETES)
                .try_collect::<()>()
                .await?;
        }
        Ok(())
    }

    pub async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        let res = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.object(key)?)
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(Self::failed(key, &e)),
        }
    }
}

type Response = aws_sdk_s3::config::http::HttpResponse;

fn status_of<E>(e: &SdkError<E, Response>) -> Option<u16> {
    match e {
        SdkError::ServiceError(s) => Some(s.raw().status().as_u16()),
        _ => None,
    }
}

/// Whether trying again later can help: the server was out of reach, slow,
/// failing or throttling, or the bucket is missing (an operator fixes that);
/// not when it refused the request (credentials, permissions).
fn passing<E: ProvideErrorMetadata>(e: &SdkError<E, Response>) -> bool {
    match e {
        SdkError::ConstructionFailure(_) => false,
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let code = s.err().code();
            status >= 500
                || status == 408
                || status == 429
                || matches!(code, Some("SlowDown" | "NoSuchBucket"))
        }
        _ => true,
    }
}

/// rustls on ring, as every other outbound client; no SSRF guard: the
/// operator chose this endpoint.
fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The service's error code and message, or the transport's error chain.
fn describe<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    e: &SdkError<E, R>,
) -> String {
    if let Some(s) = e.as_service_error() {
        let code = s.code().unwrap_or("error");
        return match s.message() {
            Some(m) => format!("{code}: {m}"),
            None => code.to_string(),
        };
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::parse_url;

    #[test]
    fn blob_store_urls() {
        let parsed = |u: &str| parse_url(u);
        assert_eq!(
            parsed("s3://docs-bucket/prod/blobs/"),
            Some(("docs-bucket".into(), "prod/blobs".into()))
        );
        assert_eq!(parsed("s3://docs"), Some(("docs".into(), String::new())));
        assert_eq!(parsed("s3://Docs/x"), None);
        assert_eq!(parsed("s3://docs/../x"), None);
        assert_eq!(parsed("http://docs/x"), None);
    }
}
