//! The destination form's state: the inputs of each type, read from a saved
//! destination or a submitted form, and turned into the API's JSON.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::form::Form;
use super::webhook_form::{events_choice, events_json, header_lines, header_text};
use crate::destinations::DestinationView;
use crate::outbound::EventFilter;

/// One config input: its name, its label, and whether it holds a secret.
pub type ConfigInput = (&'static str, &'static str, bool);
/// A destination type and its inputs.
pub type KindInputs = (&'static str, &'static [ConfigInput]);

/// The config inputs of each type, in form order: (name, label, secret).
pub const INPUTS: [KindInputs; 3] = [
    (
        "webhook",
        &[
            ("url", "URL", false),
            ("signature", "Signature", false),
            ("username", "Basic auth user", false),
            ("password", "Basic auth password", true),
            ("client_cert", "Client certificate (PEM)", false),
            ("client_key", "Client key (PEM)", true),
            ("client_key_password", "Client key password", true),
            ("ca_cert", "Trusted CA (PEM)", false),
        ],
    ),
    (
        "sqs",
        &[
            ("queue_url", "Queue URL", false),
            ("region", "Region", false),
            ("access_key_id", "Access key id", false),
            ("secret_access_key", "Secret access key", true),
            ("message_group_id", "Message group id (FIFO)", false),
            ("endpoint_url", "Endpoint URL (optional)", false),
        ],
    ),
    (
        "s3",
        &[
            ("bucket", "Bucket", false),
            ("region", "Region", false),
            ("access_key_id", "Access key id", false),
            ("secret_access_key", "Secret access key", true),
            ("endpoint_url", "Endpoint URL (optional)", false),
            ("data_format", "Data format", false),
        ],
    ),
];

/// The form's state.
#[derive(Clone, Default)]
pub struct DestState {
    pub kind: String,
    pub values: BTreeMap<String, String>,
    pub headers: String,
    pub receive_files: Vec<String>,
    pub events_mode: String,
    pub events: Vec<String>,
    pub all_templates: bool,
    pub templates: Vec<String>,
    /// The rules as JSON, when the destination uses them instead of the filters.
    pub rules: String,
    pub enabled: bool,
    /// How it is operated, as typed: empty means the default.
    pub disable_after: String,
    pub rate_limit: String,
    pub max_payload_bytes: String,
}

impl DestState {
    pub fn blank() -> Self {
        Self {
            kind: "webhook".into(),
            receive_files: vec!["document".into(), "data".into()],
            events_mode: "documents".into(),
            all_templates: true,
            enabled: true,
            ..Default::default()
        }
    }

    pub fn from_view(d: &DestinationView) -> Self {
        let kind = d.kind.to_string();
        let mut s = Self {
            kind: kind.clone(),
            enabled: d.enabled,
            disable_after: d.disable_after.clone(),
            rate_limit: d.rate_limit.map(|n| n.to_string()).unwrap_or_default(),
            max_payload_bytes: d
                .max_payload_bytes
                .map(|n| n.to_string())
                .unwrap_or_default(),
            ..Self::blank()
        };
        if let Value::Object(c) = &d.config {
            for (k, v) in c {
                match (k.as_str(), v) {
                    ("headers", Value::Object(h)) => {
                        s.headers = header_text(
                            h.iter()
                                .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default())),
                        )
                    }
                    ("basic_auth", Value::Object(b)) => {
                        for f in ["username", "password"] {
                            let v = b.get(f).and_then(Value::as_str).unwrap_or_default();
                            s.values.insert(format!("{kind}.{f}"), v.into());
                        }
                    }
                    ("receive_files", Value::Array(a)) => {
                        s.receive_files = a
                            .iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    }
                    (_, Value::String(v)) => {
                        s.values.insert(format!("{kind}.{k}"), v.clone());
                    }
                    _ => {}
                }
            }
        }
        // One rule per line: short enough to read, and edited as JSON.
        if let Some(Value::Array(rules)) = &d.rules {
            let lines: Vec<String> = rules.iter().map(Value::to_string).collect();
            s.rules = format!("[\n  {}\n]", lines.join(",\n  "));
        }
        if let Ok(filter) = serde_json::from_value::<EventFilter>(d.events.clone()) {
            (s.events_mode, s.events) = events_choice(&filter);
        }
        match &d.templates {
            Value::Array(ids) => {
                s.all_templates = false;
                s.templates = ids
                    .iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect();
            }
            _ => s.all_templates = true,
        }
        s
    }

    pub fn from_form(form: &Form) -> Self {
        let kind = form.text("type");
        let mut values = BTreeMap::new();
        for (k, list) in INPUTS {
            for (name, _, _) in list {
                let key = format!("{k}.{name}");
                values.insert(key.clone(), form.text(&key));
            }
        }
        Self {
            kind,
            values,
            headers: form.get("webhook.headers").unwrap_or_default().to_string(),
            receive_files: form
                .all("s3.receive_files")
                .into_iter()
                .map(String::from)
                .collect(),
            events_mode: form.text("events_mode"),
            events: form.all("events").into_iter().map(String::from).collect(),
            all_templates: form.get("templates_mode") != Some("chosen"),
            templates: form
                .all("templates")
                .into_iter()
                .map(String::from)
                .collect(),
            rules: form.text("rules"),
            enabled: form.checked("enabled"),
            disable_after: form.text("disable_after"),
            rate_limit: form.text("rate_limit"),
            max_payload_bytes: form.text("max_payload_bytes"),
        }
    }

    pub fn value(&self, key: &str) -> &str {
        self.values.get(key).map_or("", String::as_str)
    }

    /// The destination as the API takes it.
    pub fn to_json(&self) -> Value {
        let mut config = Map::new();
        let prefix = format!("{}.", self.kind);
        for (k, v) in &self.values {
            let Some(name) = k.strip_prefix(&prefix) else {
                continue;
            };
            if v.is_empty() || name == "username" || name == "password" {
                continue;
            }
            config.insert(name.into(), json!(v));
        }
        if self.kind == "webhook" {
            config.insert("headers".into(), Value::Object(header_lines(&self.headers)));
            let user = self.value("webhook.username");
            if !user.is_empty() {
                config.insert(
                    "basic_auth".into(),
                    json!({"username": user, "password": self.value("webhook.password")}),
                );
            }
        }
        if self.kind == "s3" {
            config.insert("receive_files".into(), json!(self.receive_files));
        }
        let mut body = json!({"type": self.kind, "config": config, "enabled": self.enabled});
        // A number the API refuses goes as typed: its 422 says what it takes.
        let number = |v: &str| {
            v.trim()
                .parse::<u64>()
                .map_or_else(|_| json!(v), |n| json!(n))
        };
        if !self.disable_after.trim().is_empty() {
            body["disable_after"] = json!(self.disable_after.trim());
        }
        if !self.rate_limit.trim().is_empty() {
            body["rate_limit"] = number(&self.rate_limit);
        }
        if self.kind == "webhook" && !self.max_payload_bytes.trim().is_empty() {
            body["max_payload_bytes"] = number(&self.max_payload_bytes);
        }
        if self.rules.trim().is_empty() {
            body["events"] = events_json(&self.events_mode, &self.events);
            body["templates"] = if self.all_templates {
                json!("all")
            } else {
                json!(self.templates)
            };
        } else {
            // Text that is not JSON goes as text: the API's 422 says what rules are.
            body["rules"] = serde_json::from_str(&self.rules)
                .unwrap_or_else(|_| Value::String(self.rules.clone()));
        }
        body
    }

    /// `config.url: …` belongs beside `webhook.url`; `events: …` beside the events.
    pub fn error_slot(&self, message: &str) -> String {
        let path = message.split_once(": ").map_or("", |(p, _)| p);
        match path.strip_prefix("config.") {
            Some(member) => {
                let member = member.split(['.', '[']).next().unwrap_or_default();
                format!("{}.{member}", self.kind)
            }
            None => path
                .split(['.', '['])
                .next()
                .unwrap_or_default()
                .to_string(),
        }
    }
}
