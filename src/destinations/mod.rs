//! Destinations (SPEC §4): where an account's events go besides the template
//! webhook — a webhook, an SQS queue or an S3 bucket — with event and template
//! filters.

pub mod config;
pub mod service;

use serde_json::Value;

use crate::db::entities::destinations;
use crate::delivery::events::EventType;
pub use config::Config;

/// Which templates' events a destination takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateFilter {
    /// Every template, including those created later.
    All,
    Only(Vec<String>),
}

impl TemplateFilter {
    pub fn from_stored(s: &str) -> Self {
        match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(ids)) => Self::Only(
                ids.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            ),
            _ => Self::All,
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Self::All => Value::String("all".into()),
            Self::Only(ids) => Value::from(ids.clone()),
        }
    }

    pub fn matches(&self, template_id: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(ids) => ids.iter().any(|i| i == template_id),
        }
    }
}

/// Whether the stored destination takes `event` of `template_id`; `destination.test` only goes where it is sent.
pub fn wants(d: &destinations::Model, event: EventType, template_id: &str) -> bool {
    if event == EventType::DestinationTest || d.deleted_at.is_some() {
        return false;
    }
    let events: Vec<String> = serde_json::from_str(&d.events).unwrap_or_default();
    events.iter().any(|e| e == "*" || e == event.as_str())
        && TemplateFilter::from_stored(&d.templates).matches(template_id)
}
