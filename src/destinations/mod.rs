//! Destinations (SPEC §4): where an account's events go besides the template
//! webhook — a webhook, an SQS queue or an S3 bucket — with event and template
//! filters.

pub mod config;
pub mod input;
pub mod service;

use serde::Deserialize;
use serde_json::Value;

use crate::db::entities::destinations;
use crate::outbound::{EventFilter, EventType};
pub use config::Config;

/// Most template ids one destination may list (each is looked up when it is saved).
pub const MAX_TEMPLATE_IDS: usize = 1000;

/// Which templates' events a destination takes.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub enum TemplateFilter {
    /// Every template, including those created later.
    All,
    Only(Vec<String>),
}

impl TryFrom<Value> for TemplateFilter {
    type Error = String;

    /// As clients send it: `"all"` or a non-empty list of ids. An empty list is
    /// refused (as Xtracta does) rather than read as "no template".
    fn try_from(v: Value) -> Result<Self, String> {
        match v {
            Value::String(s) if s == "all" => Ok(Self::All),
            Value::Array(ids) if ids.is_empty() => {
                Err("choose at least one template or all".into())
            }
            Value::Array(ids) if ids.len() > MAX_TEMPLATE_IDS => Err(format!(
                "{} ids, more than the limit of {MAX_TEMPLATE_IDS}; use \"all\"",
                ids.len()
            )),
            Value::Array(ids) => ids
                .into_iter()
                .map(|id| match id {
                    Value::String(s) => Ok(s),
                    other => Err(format!("template ids are strings, not {other}")),
                })
                .collect::<Result<_, _>>()
                .map(Self::Only),
            _ => Err("\"all\" or a list of template ids".into()),
        }
    }
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
    serde_json::from_str::<EventFilter>(&d.events).is_ok_and(|f| f.wants(event))
        && TemplateFilter::from_stored(&d.templates).matches(template_id)
}
