//! A webhook's settings as form inputs (the template editor's webhook), and
//! the header and event inputs that destination forms share.

use serde_json::{json, Map, Value};

use super::form::Form;
use crate::outbound::events::PRESETS;
use crate::outbound::{EventFilter, EventType};
use crate::templates::WebhookView;

#[derive(Clone, Debug, Default)]
pub struct WebhookRow {
    pub url: String,
    pub headers: String,
    /// A preset name, `all`, or `custom` (then `events`).
    pub events_mode: String,
    pub events: Vec<String>,
    pub signature: String,
    pub username: String,
    pub password: String,
    pub client_cert: String,
    pub client_key: String,
    pub client_key_password: String,
    pub ca_cert: String,
}

/// `Name: value` lines → a header map.
pub fn header_lines(text: &str) -> Map<String, Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.split_once(':') {
            Some((k, v)) => (k.trim().to_string(), json!(v.trim())),
            None => (l.trim().to_string(), json!("")),
        })
        .collect()
}

/// A header map → `Name: value` lines, as the form shows it.
pub fn header_text<'a>(headers: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    headers
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The events choice as the API takes it: a preset name, `["*"]` or a list.
pub fn events_json(mode: &str, events: &[String]) -> Value {
    match mode {
        "all" => json!(["*"]),
        "custom" => json!(events),
        preset => json!(preset),
    }
}

/// How a stored event filter shows in the form.
pub fn events_choice(filter: &EventFilter) -> (String, Vec<String>) {
    let names = filter.names().to_vec();
    if names.iter().any(|n| n == "*") {
        return ("all".into(), names);
    }
    for (preset, list) in PRESETS {
        let mut want: Vec<&str> = list.iter().map(|e| e.as_str()).collect();
        let mut have: Vec<&str> = names.iter().map(String::as_str).collect();
        want.sort_unstable();
        have.sort_unstable();
        if want == have {
            return (preset.to_string(), names);
        }
    }
    ("custom".into(), names)
}

/// Events a person can pick one by one.
pub fn event_names() -> Vec<&'static str> {
    EventType::ALL
        .iter()
        .filter(|e| **e != EventType::DestinationTest)
        .map(|e| e.as_str())
        .collect()
}

impl WebhookRow {
    /// A new webhook's settings: the default events, the standard signature.
    pub fn new_default() -> Self {
        Self {
            events_mode: "custom".into(),
            events: vec![
                EventType::ExtractionProcessed.as_str().into(),
                EventType::ExtractionFailed.as_str().into(),
            ],
            signature: "standard".into(),
            ..Default::default()
        }
    }

    pub fn from_view(w: &WebhookView) -> Self {
        let (events_mode, events) = events_choice(&w.events);
        WebhookRow {
            url: w.url.clone(),
            headers: w
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            events_mode,
            events,
            signature: serde_json::to_value(w.signature)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            username: w
                .basic_auth
                .as_ref()
                .map(|b| b.username.clone())
                .unwrap_or_default(),
            password: w
                .basic_auth
                .as_ref()
                .map(|b| b.password.clone())
                .unwrap_or_default(),
            client_cert: w.client_cert.clone().unwrap_or_default(),
            client_key: w.client_key.clone().unwrap_or_default(),
            client_key_password: w.client_key_password.clone().unwrap_or_default(),
            ca_cert: w.ca_cert.clone().unwrap_or_default(),
        }
    }

    pub fn from_form(form: &Form) -> Self {
        Self {
            url: form.text("webhook.url"),
            headers: form.get("webhook.headers").unwrap_or_default().to_string(),
            events_mode: form.text("webhook.events_mode"),
            events: form
                .all("webhook.events")
                .into_iter()
                .map(String::from)
                .collect(),
            signature: form.text("webhook.signature"),
            username: form.text("webhook.username"),
            password: form.get("webhook.password").unwrap_or_default().to_string(),
            client_cert: form.text("webhook.client_cert"),
            client_key: form.text("webhook.client_key"),
            client_key_password: form
                .get("webhook.client_key_password")
                .unwrap_or_default()
                .to_string(),
            ca_cert: form.text("webhook.ca_cert"),
        }
    }

    /// The webhook as JSON, or `null` without a URL.
    pub fn to_json(&self) -> Value {
        if self.url.is_empty() {
            return Value::Null;
        }
        let mut w = Map::new();
        w.insert("url".into(), json!(self.url));
        w.insert("headers".into(), Value::Object(header_lines(&self.headers)));
        w.insert(
            "events".into(),
            events_json(&self.events_mode, &self.events),
        );
        if !self.signature.is_empty() {
            w.insert("signature".into(), json!(self.signature));
        }
        if !self.username.is_empty() {
            w.insert(
                "basic_auth".into(),
                json!({"username": self.username, "password": self.password}),
            );
        }
        for (k, v) in [
            ("client_cert", &self.client_cert),
            ("client_key", &self.client_key),
            ("client_key_password", &self.client_key_password),
            ("ca_cert", &self.ca_cert),
        ] {
            if !v.is_empty() {
                w.insert(k.into(), json!(v));
            }
        }
        Value::Object(w)
    }
}
