//! A template's own webhook: a webhook target stored in the template's row,
//! with the events it takes. Rows saved before templates held a sealed
//! webhook config keep their settings in older columns, read here too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Config, TargetError, WebhookConfig};
use crate::crypto::SecretBox;
use crate::db::entities::templates;
use crate::outbound::{BasicAuth, EventFilter, SignatureScheme};
use crate::types::EventType;

/// The template's webhook with its secrets opened, and the events it takes.
#[derive(Clone, Debug)]
pub struct TemplateWebhook {
    pub config: WebhookConfig,
    pub events: EventFilter,
}

impl TemplateWebhook {
    /// The webhook stored in `t`, if it has one.
    pub fn of(t: &templates::Model, secrets: &SecretBox) -> Result<Option<Self>, TargetError> {
        let Some(config) = stored_config(t, secrets)? else {
            return Ok(None);
        };
        Ok(Some(Self {
            config,
            events: stored_events(t)?,
        }))
    }

    pub fn wants(&self, event: EventType) -> bool {
        self.events.wants(event)
    }
}

/// The events a template's webhook takes, as stored (none without a webhook).
pub fn stored_events(t: &templates::Model) -> Result<EventFilter, TargetError> {
    match &t.webhook_events {
        None => Ok(EventFilter::of(&[])),
        Some(stored) => serde_json::from_str(stored)
            .map_err(|e| TargetError::Unreadable(format!("stored event filter: {e}"))),
    }
}

/// How a webhook stored before templates held a destination config
/// authenticated to its receiver (sealed, as one JSON).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct WebhookAuth {
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    #[serde(default)]
    pub signature: SignatureScheme,
}

/// Opens a sealed JSON column.
fn open_json<T: serde::de::DeserializeOwned + Default>(
    sealed: Option<&str>,
    secrets: &SecretBox,
) -> Result<T, TargetError> {
    let Some(sealed) = sealed else {
        return Ok(T::default());
    };
    let json = secrets
        .open(sealed)
        .map_err(|e| TargetError::Unreadable(e.to_string()))?;
    serde_json::from_str(&json).map_err(|e| TargetError::Unreadable(e.to_string()))
}

/// The template's webhook as a webhook config; templates saved before it
/// was stored that way are read from their old columns.
pub fn stored_config(
    t: &templates::Model,
    secrets: &SecretBox,
) -> Result<Option<WebhookConfig>, TargetError> {
    let Some(url) = &t.webhook_url else {
        return Ok(None);
    };
    if let Some(sealed) = &t.webhook_config {
        return match Config::open(sealed, secrets)? {
            Config::Webhook(w) => Ok(Some(w)),
            other => Err(TargetError::Unreadable(format!(
                "template {} holds a {} config",
                t.id,
                other.kind()
            ))),
        };
    }
    let Some(sealed_secret) = &t.webhook_secret else {
        return Ok(None);
    };
    let auth: WebhookAuth = open_json(t.webhook_auth.as_deref(), secrets)?;
    let headers: BTreeMap<String, String> = open_json(t.webhook_headers.as_deref(), secrets)?;
    let secret = secrets
        .open(sealed_secret)
        .map_err(|e| TargetError::Unreadable(e.to_string()))?;
    Ok(Some(WebhookConfig {
        url: url.clone(),
        headers,
        secret,
        basic_auth: auth.basic_auth,
        signature: auth.signature,
        ..Default::default()
    }))
}
