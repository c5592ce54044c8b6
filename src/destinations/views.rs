//! A destination as clients see it.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::outbound::events::EventFilterDoc;
use crate::targets::{RuleDoc, TemplateFilterDoc};
use crate::types::{DestinationId, DestinationKind};

/// A destination as clients see it: secrets and header values masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct DestinationView {
    #[schema(value_type = String, example = "dst_0193c2b8a1f37c2e9d4b5a6f7e8d9c0b")]
    pub id: DestinationId,
    #[serde(rename = "type")]
    pub kind: DestinationKind,
    /// The type's settings; the webhook `secret` is shown when created or rotated, masked otherwise.
    #[schema(value_type = Object)]
    pub config: Value,
    #[schema(value_type = EventFilterDoc)]
    pub events: Value,
    #[schema(value_type = TemplateFilterDoc)]
    pub templates: Value,
    /// The rules, when the destination uses them instead of `events` and `templates`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<RuleDoc>>)]
    pub rules: Option<Value>,
    pub enabled: bool,
    /// Why deliveries are paused, when they are.
    pub disabled_reason: Option<String>,
    /// Since when deliveries have been failing (RFC 3339), while they are.
    pub failing_since: Option<String>,
    /// Failed attempts since the last success.
    pub consecutive_failures: i64,
    /// Why the latest attempt failed, while failing.
    pub last_failure: Option<String>,
    /// How long every attempt may fail before the destination is disabled.
    #[schema(example = "5d")]
    pub disable_after: String,
    /// Attempts started per second at most, when limited.
    pub rate_limit: Option<i64>,
    /// Webhooks: the body size above which the result is sent as a link.
    pub max_payload_bytes: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}
