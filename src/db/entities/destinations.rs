//! `destinations` table.

use sea_orm::entity::prelude::*;

use crate::types::{AccountId, DestinationId, DestinationKind};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "destinations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: DestinationId,
    pub account_id: AccountId,
    pub kind: DestinationKind,
    /// JSON; secret values sealed.
    pub config: String,
    /// JSON array of event types, or `["*"]`.
    pub events: String,
    /// JSON: `"all"` or an array of template ids.
    pub templates: String,
    pub enabled: i64,
    pub disabled_reason: Option<String>,
    /// When the current run of failed attempts began.
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    /// JSON of the rules (SPEC §4) when the destination uses them instead of `events` and `templates`.
    pub rules: Option<String>,
    /// How long failing continuously disables it; `None` is the service's default.
    pub disable_after_ms: Option<i64>,
    /// Attempts started per second at most, across every process.
    pub rate_limit: Option<i64>,
    /// Webhook bodies larger than this carry a link to the result instead of it.
    pub max_payload_bytes: Option<i64>,
    /// Failed attempts since the last success.
    pub consecutive_failures: i64,
    /// When `destination.failing` was emitted for the current run of failures.
    pub failing_reported_at: Option<i64>,
    /// Why the latest failed attempt failed, while failing.
    pub last_failure: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
