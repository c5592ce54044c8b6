//! What the API handlers, workers and loops share.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::crypto::SecretBox;
use crate::extraction::Reader;
use crate::storage::BlobStore;
use crate::wake::Wake;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub blobs: BlobStore,
    pub secrets: SecretBox,
    pub reader: Reader,
    /// Client for outbound deliveries: SSRF-guarded resolver, no redirects.
    pub http: reqwest::Client,
    /// HTTP client of the SQS and S3 destinations, with the same guarded resolver.
    pub aws_http: aws_smithy_runtime_api::client::http::SharedHttpClient,
    /// Failed sign-ins per client address.
    pub sign_ins: Arc<crate::api::SignInGuard>,
    /// Wakes job workers when a job is submitted (in any process, on PostgreSQL).
    pub jobs_ready: Wake,
    /// Wakes delivery workers when a delivery is queued (in any process, on PostgreSQL).
    pub deliveries_ready: Wake,
}
