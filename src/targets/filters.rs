//! Which events of which templates a target takes.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::TargetError;
use crate::db::entities::destinations;
use crate::outbound::EventFilter;
use crate::types::{EventType, Origin, TemplateChoice, TemplateId};

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

/// What rules select an event by.
pub struct EventFacts<'a> {
    pub event: EventType,
    pub template_id: &'a TemplateChoice,
    pub origin: Origin,
    /// The category of the event's template, if it has one.
    pub category: Option<&'a str>,
}

/// Most rules one destination may have.
pub const MAX_RULES: usize = 50;

/// One of a destination's rules (SPEC §4): an event passes when each member
/// the rule has matches it; a member left out matches everything.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default)]
    pub events: Option<EventFilter>,
    #[serde(default)]
    pub origins: Option<Vec<Origin>>,
    #[serde(default)]
    pub templates: Option<TemplateFilter>,
    #[serde(default)]
    pub categories: Option<Vec<String>>,
}

impl Rule {
    pub fn matches(&self, f: &EventFacts) -> bool {
        // An operational event is about a destination, not a template: a
        // template or category filter does not keep it out.
        let by_template = !f.event.is_operational();
        self.events.as_ref().is_none_or(|e| e.wants(f.event))
            && self.origins.as_ref().is_none_or(|o| o.contains(&f.origin))
            && (!by_template
                || self
                    .templates
                    .as_ref()
                    .is_none_or(|t| t.matches(f.template_id)))
            && (!by_template
                || self
                    .categories
                    .as_ref()
                    .is_none_or(|c| f.category.is_some_and(|mine| c.iter().any(|x| x == mine))))
    }

    /// The rule as stored and shown: only the members it has.
    pub fn to_json(&self) -> Value {
        let mut out = serde_json::Map::new();
        if let Some(e) = &self.events {
            out.insert("events".into(), json!(e.names()));
        }
        if let Some(o) = &self.origins {
            out.insert("origins".into(), json!(o));
        }
        if let Some(t) = &self.templates {
            out.insert("templates".into(), t.to_json());
        }
        if let Some(c) = &self.categories {
            out.insert("categories".into(), json!(c));
        }
        Value::Object(out)
    }
}

/// A destination's rules, as clients send them: a non-empty list.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "Value")]
pub struct Rules(pub Vec<Rule>);

impl TryFrom<Value> for Rules {
    type Error = String;

    fn try_from(v: Value) -> Result<Self, String> {
        let Value::Array(items) = v else {
            return Err(
                "a list of rules, each with any of events, origins, templates and categories"
                    .into(),
            );
        };
        if items.is_empty() || items.len() > MAX_RULES {
            return Err(format!("1 to {MAX_RULES} rules"));
        }
        items
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let mut rule: Rule =
                    serde_json::from_value(r).map_err(|e| format!("[{i}]: {e}"))?;
                // Template categories are stored trimmed; so are the names that match them.
                for c in rule.categories.iter_mut().flatten() {
                    *c = c.trim().to_string();
                }
                if rule
                    .categories
                    .as_ref()
                    .is_some_and(|c| c.iter().any(|x| x.trim().is_empty()))
                {
                    return Err(format!("[{i}].categories: names are not empty"));
                }
                Ok(rule)
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl Rules {
    pub fn to_json(&self) -> Value {
        self.0.iter().map(Rule::to_json).collect()
    }

    pub fn from_stored(s: &str) -> Result<Self, TargetError> {
        let v: Value = serde_json::from_str(s)
            .map_err(|e| TargetError::Unreadable(format!("stored rules: {e}")))?;
        Self::try_from(v).map_err(|e| TargetError::Unreadable(format!("stored rules: {e}")))
    }

    /// The template ids the rules name, to check that they exist.
    pub fn template_ids(&self) -> impl Iterator<Item = &TemplateId> {
        self.0.iter().flat_map(|r| match &r.templates {
            Some(TemplateFilter::Only(ids)) => ids.as_slice(),
            _ => &[],
        })
    }

    /// Whether any rule selects by category (then the template's is looked up).
    pub fn use_categories(&self) -> bool {
        self.0.iter().any(|r| r.categories.is_some())
    }
}

/// Whether the stored destination takes the event: by its rules when it has
/// them, else by its event and template filters. `destination.test` only
/// goes where it is sent. Stored filters that do not read back are an error,
/// never a guess either way.
pub fn destination_wants(d: &destinations::Model, f: &EventFacts) -> Result<bool, TargetError> {
    if f.event == EventType::DestinationTest || d.deleted_at.is_some() {
        return Ok(false);
    }
    if let Some(rules) = &d.rules {
        return Ok(Rules::from_stored(rules)?.0.iter().any(|r| r.matches(f)));
    }
    let events: EventFilter = serde_json::from_str(&d.events)
        .map_err(|e| TargetError::Unreadable(format!("stored event filter: {e}")))?;
    let templates = TemplateFilter::from_stored(&d.templates)?;
    Ok(events.wants(f.event) && (f.event.is_operational() || templates.matches(f.template_id)))
}

/// How the OpenAPI document describes a rule.
#[derive(Serialize, ToSchema)]
#[schema(as = DestinationRule)]
pub struct RuleDoc {
    /// Event types, `["*"]`, or a preset; absent: every event.
    #[schema(value_type = Option<crate::outbound::events::EventFilterDoc>)]
    pub events: Option<Value>,
    /// Any of `api`, `user`, `system`; absent: every origin.
    pub origins: Option<Vec<Origin>>,
    /// `"all"` or template ids; absent: every template.
    #[schema(value_type = Option<TemplateFilterDoc>)]
    pub templates: Option<Value>,
    /// Template categories; absent: any (or none).
    pub categories: Option<Vec<String>>,
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
