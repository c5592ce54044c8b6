//! A destination as clients send it. Its `config` depends on its `type`, so
//! the body is read in two typed steps: the envelope, then the config.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::outbound::events::EventFilterDoc;
use crate::outbound::EventFilter;
use crate::targets::{ConfigInputDoc, RuleDoc, Rules, TemplateFilter, TemplateFilterDoc};
use crate::types::DestinationKind;

/// The body of `POST /v1/destinations`, `PUT /v1/destinations/{id}` and `POST /v1/destinations/test`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "type": "webhook",
    "config": {"url": "https://example.com/hooks/docpush", "headers": {"Authorization": "Bearer abc"}},
    "events": ["extraction.processed", "extraction.failed"],
    "templates": "all"
}))]
pub struct DestinationInput {
    /// Required when creating; a saved destination keeps its type.
    #[serde(rename = "type", default)]
    pub kind: Option<DestinationKind>,
    /// What the type needs; secrets sent back masked keep their stored values.
    #[schema(value_type = ConfigInputDoc)]
    pub config: Value,
    /// Required (except for Test Connection).
    #[serde(default)]
    #[schema(value_type = Option<EventFilterDoc>)]
    pub events: Option<EventFilter>,
    /// `"all"` (the default: every template, including future ones) or a non-empty list of template ids.
    #[serde(default)]
    #[schema(value_type = Option<TemplateFilterDoc>)]
    pub templates: Option<TemplateFilter>,
    /// Several filters instead of `events` and `templates` (not both): an
    /// event goes out when any rule matches it; a member a rule leaves out matches everything.
    #[serde(default)]
    #[schema(value_type = Option<Vec<RuleDoc>>)]
    pub rules: Option<Rules>,
    /// `false` pauses deliveries; `true` or absent (re-)enables.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// How long every attempt may fail before the destination is disabled: a
    /// duration such as `"30s"`, `"15m"`, `"12h"` or `"5d"` (the default).
    #[serde(default)]
    #[schema(example = "5d")]
    pub disable_after: Option<String>,
    /// Attempts started per second at most, across every worker process; over
    /// it deliveries wait their turn. Absent: no limit.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10000)]
    pub rate_limit: Option<u32>,
    /// Webhooks only: a body larger than this (default 1 MiB) carries
    /// `data.result_url` instead of `data.result`.
    #[serde(default)]
    #[schema(minimum = 1024)]
    pub max_payload_bytes: Option<u64>,
    /// Read-only members of a destination as returned, accepted and ignored.
    #[serde(default)]
    #[schema(read_only, value_type = Option<String>)]
    pub id: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(read_only, value_type = Option<String>)]
    pub disabled_reason: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(read_only, value_type = Option<String>)]
    pub failing_since: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(read_only, value_type = Option<i64>)]
    pub consecutive_failures: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(read_only, value_type = Option<String>)]
    pub last_failure: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(read_only, value_type = Option<String>)]
    pub created_at: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(read_only, value_type = Option<String>)]
    pub updated_at: Option<IgnoredAny>,
}
