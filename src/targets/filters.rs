//! Which events of which templates a target takes.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::TargetError;
use crate::db::entities::destinations;
use crate::outbound::EventFilter;
use crate::types::{EventType, TemplateChoice, TemplateId};

/// Most template ids one destination may list (each is looked up when it is saved).
pub const MAX_TEMPLATE_IDS: usize = 1000;

/// Which templates' events a destination takes.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub enum TemplateFilter {
    /// Every template, including those created later.
    All,
    Only(Vec<TemplateId>),
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
                    Value::String(s) => {
                        TemplateId::parse(&s).ok_or_else(|| format!("template {s} not found"))
                    }
                    other => Err(format!("template ids are strings, not {other}")),
                })
                .collect::<Result<_, _>>()
                .map(Self::Only),
            _ => Err("\"all\" or a list of template ids".into()),
        }
    }
}

impl TemplateFilter {
    /// The filter as stored: `"all"` or a list of template ids. Anything
    /// else is refused rather than read as "all" or "none".
    pub fn from_stored(s: &str) -> Result<Self, TargetError> {
        let unreadable =
            |why: String| TargetError::Unreadable(format!("stored template filter: {why}"));
        let value: Value = serde_json::from_str(s).map_err(|e| unreadable(e.to_string()))?;
        match value {
            Value::String(all) if all == "all" => Ok(Self::All),
            Value::Array(ids) => ids
                .iter()
                .map(|v| {
                    v.as_str()
                        .and_then(TemplateId::parse)
                        .ok_or_else(|| unreadable(format!("{v} is not a template id")))
                })
                .collect::<Result<_, _>>()
                .map(Self::Only),
            other => Err(unreadable(format!("{other} is neither \"all\" nor a list"))),
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Self::All => Value::String("all".into()),
            Self::Only(ids) => ids.iter().map(|id| Value::from(id.as_str())).collect(),
        }
    }

    /// Whether events about `template` pass: `auto` ones (a document no
    /// template matched, an `auto` job's batch events) only pass `all`.
    pub fn matches(&self, template: &TemplateChoice) -> bool {
        match (self, template) {
            (Self::All, _) => true,
            (Self::Only(ids), TemplateChoice::Fixed(id)) => ids.contains(id),
            (Self::Only(_), TemplateChoice::Auto) => false,
        }
    }
}

/// Whether the stored destination takes `event` of `template_id`;
/// `destination.test` only goes where it is sent. Stored filters that do not
/// read back are an error, never a guess either way.
pub fn destination_wants(
    d: &destinations::Model,
    event: EventType,
    template_id: &TemplateChoice,
) -> Result<bool, TargetError> {
    if event == EventType::DestinationTest || d.deleted_at.is_some() {
        return Ok(false);
    }
    let events: EventFilter = serde_json::from_str(&d.events)
        .map_err(|e| TargetError::Unreadable(format!("stored event filter: {e}")))?;
    Ok(events.wants(event) && TemplateFilter::from_stored(&d.templates)?.matches(template_id))
}

/// How the OpenAPI document describes a template filter.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum TemplateFilterDoc {
    /// Every template, including future ones.
    #[schema(value_type = String, example = "all")]
    All(String),
    /// At least one template id.
    Only(Vec<String>),
}
