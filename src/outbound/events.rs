//! The event catalogue of SPEC §4, the event filters webhooks and destinations
//! choose with (lists, `"*"` or Xtracta-style presets), and the body every
//! destination receives.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::types::{EventId, Origin};

pub use crate::types::EventType;

/// Event lists by name, as Xtracta's "Receive Events" offers them: inputs are
/// jobs received, documents are each document's outcome and later changes,
/// batches are whole jobs finished.
pub const PRESETS: [(&str, &[EventType]); 4] = [
    ("inputs_and_documents", &INPUTS_AND_DOCUMENTS),
    ("inputs", &[EventType::JobReceived]),
    ("documents", &DOCUMENTS),
    ("batches", &[EventType::BatchCompleted]),
];

const DOCUMENTS: [EventType; 4] = [
    EventType::ExtractionProcessed,
    EventType::ExtractionFailed,
    EventType::ExtractionEdited,
    EventType::ExtractionConfirmed,
];

const INPUTS_AND_DOCUMENTS: [EventType; 5] = [
    EventType::JobReceived,
    EventType::ExtractionProcessed,
    EventType::ExtractionFailed,
    EventType::ExtractionEdited,
    EventType::ExtractionConfirmed,
];

/// The events a webhook or destination takes, stored as names (or `"*"`).
/// Clients send a non-empty list of event types, `["*"]`, or a preset name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Value")]
pub struct EventFilter(Vec<String>);

impl EventFilter {
    pub fn of(events: &[EventType]) -> Self {
        Self(events.iter().map(|e| e.as_str().to_string()).collect())
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }

    pub fn wants(&self, event: EventType) -> bool {
        self.0.iter().any(|e| e == "*" || e == event.as_str())
    }
}

impl TryFrom<Value> for EventFilter {
    type Error = String;

    fn try_from(v: Value) -> Result<Self, String> {
        let presets = || {
            PRESETS
                .iter()
                .map(|(n, _)| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match v {
            Value::String(name) => PRESETS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, events)| Self::of(events))
                .ok_or_else(|| {
                    format!(
                        "{name:?} is not a preset; use one of {}, or a list of event types",
                        presets()
                    )
                }),
            Value::Array(items) if !items.is_empty() => {
                let mut out: Vec<String> = Vec::with_capacity(items.len());
                for item in items {
                    let name = item.as_str().unwrap_or_default();
                    if name != "*" && name.parse::<EventType>().is_err() {
                        return Err(format!("unknown event type {item}"));
                    }
                    if !out.iter().any(|e| e == name) {
                        out.push(name.to_string());
                    }
                }
                Ok(Self(out))
            }
            _ => Err(format!(
                "must be a non-empty list of event types, [\"*\"], or a preset ({})",
                presets()
            )),
        }
    }
}

/// How the OpenAPI document describes an event filter.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = EventFilter, example = json!(["extraction.processed", "extraction.failed"]))]
pub enum EventFilterDoc {
    /// A preset: `inputs_and_documents`, `inputs`, `documents` or `batches`.
    Preset(EventPreset),
    /// Event types, or `["*"]` for all of them.
    List(Vec<EventName>),
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventPreset {
    InputsAndDocuments,
    Inputs,
    Documents,
    Batches,
}

/// An event type, or `*` for every type.
#[derive(Serialize, ToSchema)]
pub enum EventName {
    #[serde(rename = "job.received")]
    JobReceived,
    #[serde(rename = "extraction.processed")]
    ExtractionProcessed,
    #[serde(rename = "extraction.failed")]
    ExtractionFailed,
    #[serde(rename = "extraction.edited")]
    ExtractionEdited,
    #[serde(rename = "extraction.confirmed")]
    ExtractionConfirmed,
    #[serde(rename = "batch.completed")]
    BatchCompleted,
    #[serde(rename = "destination.test")]
    DestinationTest,
    #[serde(rename = "document.deleted")]
    DocumentDeleted,
    #[serde(rename = "document.restored")]
    DocumentRestored,
    #[serde(rename = "document.hard_deleted")]
    DocumentHardDeleted,
    #[serde(rename = "batch.ready")]
    BatchReady,
    #[serde(rename = "batch.processing")]
    BatchProcessing,
    #[serde(rename = "batch.on_hold")]
    BatchOnHold,
    #[serde(rename = "batch.released")]
    BatchReleased,
    #[serde(rename = "batch.locked")]
    BatchLocked,
    #[serde(rename = "batch.unlocked")]
    BatchUnlocked,
    #[serde(rename = "batch.deleted")]
    BatchDeleted,
    #[serde(rename = "destination.failing")]
    DestinationFailing,
    #[serde(rename = "destination.disabled")]
    DestinationDisabled,
    #[serde(rename = "destination.recovered")]
    DestinationRecovered,
    #[serde(rename = "delivery.exhausted")]
    DeliveryExhausted,
    #[serde(rename = "*")]
    All,
}

/// The delivery body: the SPEC envelope plus the seed-compatible top-level keys
/// (`job_id`, `template_id`, `static_values`, `result`) for template webhooks.
pub fn envelope(event_type: EventType, event_id: &EventId, origin: Origin, data: Value) -> Value {
    // `event` repeats `type` for receivers written for Extracta.ai, which read that name.
    let mut body = json!({
        "type": event_type.as_str(),
        "event": event_type.as_str(),
        "event_id": event_id,
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "origin": origin.as_str(),
    });
    for key in ["job_id", "template_id", "static_values", "result"] {
        if let Some(v) = data.get(key) {
            body[key] = v.clone();
        }
    }
    body["data"] = data;
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_carries_type_id_and_seed_keys() {
        let id = EventId::new();
        let body = envelope(
            EventType::ExtractionProcessed,
            &id,
            Origin::System,
            json!({"job_id": "j", "template_id": "t", "static_values": {}, "result": {"a": 1}, "pages": 2}),
        );
        assert_eq!(body["type"], "extraction.processed");
        assert_eq!(body["event"], "extraction.processed");
        assert_eq!(body["event_id"], id.as_str());
        assert_eq!(body["origin"], "system");
        assert_eq!(body["result"]["a"], 1);
        assert_eq!(body["data"]["pages"], 2);
        assert!(body.get("pages").is_none());
    }

    #[test]
    fn filters_take_lists_stars_and_presets() {
        let f = |v: Value| EventFilter::try_from(v);
        assert_eq!(
            f(json!("documents")).unwrap().names(),
            [
                "extraction.processed",
                "extraction.failed",
                "extraction.edited",
                "extraction.confirmed"
            ]
        );
        assert_eq!(f(json!("inputs")).unwrap().names(), ["job.received"]);
        assert!(f(json!("batches"))
            .unwrap()
            .wants(EventType::BatchCompleted));
        assert!(f(json!("inputs_and_documents"))
            .unwrap()
            .wants(EventType::JobReceived));
        assert!(f(json!(["*"])).unwrap().wants(EventType::ExtractionEdited));
        assert!(f(json!([])).is_err());
        assert!(f(json!("everything")).unwrap_err().contains("not a preset"));
        assert!(f(json!(["extraction.done"]))
            .unwrap_err()
            .contains("unknown event type"));
    }

    #[test]
    fn names_round_trip() {
        for &e in EventType::ALL {
            assert_eq!(e.as_str().parse::<EventType>().unwrap(), e);
        }
    }
}
