//! The event catalogue of SPEC §4 and the body every destination receives.

use std::fmt;
use std::str::FromStr;

use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    JobReceived,
    ExtractionProcessed,
    ExtractionFailed,
    ExtractionEdited,
    ExtractionConfirmed,
    BatchCompleted,
    DestinationTest,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        Self::JobReceived,
        Self::ExtractionProcessed,
        Self::ExtractionFailed,
        Self::ExtractionEdited,
        Self::ExtractionConfirmed,
        Self::BatchCompleted,
        Self::DestinationTest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::JobReceived => "job.received",
            Self::ExtractionProcessed => "extraction.processed",
            Self::ExtractionFailed => "extraction.failed",
            Self::ExtractionEdited => "extraction.edited",
            Self::ExtractionConfirmed => "extraction.confirmed",
            Self::BatchCompleted => "batch.completed",
            Self::DestinationTest => "destination.test",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| format!("unknown event type {s:?}"))
    }
}

/// A new event id: `evt_` + a time-ordered UUID.
pub fn new_event_id() -> String {
    format!("evt_{}", uuid::Uuid::now_v7().simple())
}

/// The delivery body: the SPEC envelope plus the seed-compatible top-level keys
/// (`job_id`, `template_id`, `static_values`, `result`) for template webhooks.
pub fn envelope(event_type: EventType, event_id: &str, data: Value) -> Value {
    let mut body = json!({
        "type": event_type.as_str(),
        "event_id": event_id,
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
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
        let body = envelope(
            EventType::ExtractionProcessed,
            "evt_1",
            json!({"job_id": "j", "template_id": "t", "static_values": {}, "result": {"a": 1}, "pages": 2}),
        );
        assert_eq!(body["type"], "extraction.processed");
        assert_eq!(body["event_id"], "evt_1");
        assert_eq!(body["result"]["a"], 1);
        assert_eq!(body["data"]["pages"], 2);
        assert!(body.get("pages").is_none());
    }

    #[test]
    fn names_round_trip() {
        for e in EventType::ALL {
            assert_eq!(e.as_str().parse::<EventType>().unwrap(), e);
        }
    }
}
