//! Destination CRUD and secret rotation.

use serde_json::{json, Value};

use super::{Config, TemplateFilter};
use crate::db::{self, entities::destinations};
use crate::delivery::ssrf;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::templates::service::{parse_events, rfc3339};

struct Input {
    config: Config,
    events: Vec<String>,
    templates: TemplateFilter,
    enabled: Option<bool>,
}

/// Most template ids one destination may list (each is looked up when it is saved).
const MAX_TEMPLATE_IDS: usize = 1000;

fn bad(m: String) -> AppError {
    AppError::Unprocessable(m)
}

impl AppState {
    async fn parse_destination(
        &self,
        account_id: &str,
        body: &Value,
        stored: Option<&Config>,
    ) -> AppResult<Input> {
        let obj = body
            .as_object()
            .ok_or_else(|| bad("the body must be a JSON object".into()))?;
        let kind = match (obj.get("type").and_then(Value::as_str), stored) {
            (Some(k), _) => k,
            (None, Some(c)) => c.kind(),
            (None, None) => {
                return Err(bad(
                    "type: \"webhook\", \"sqs\" or \"s3\" is required".into()
                ))
            }
        };
        if let Some(c) = stored {
            if c.kind() != kind {
                return Err(bad(format!(
                    "type: a {} destination cannot become {kind}; create a new one",
                    c.kind()
                )));
            }
        }
        let config = Config::parse(kind, obj.get("config").unwrap_or(&Value::Null), stored)?;
        self.check_destination_urls(&config).await?;
        if let Config::Webhook(w) = &config {
            // Certificates, keys and the key password are checked now rather than at the first delivery.
            crate::delivery::webhook::client_for(
                w,
                self.settings.delivery.timeout,
                Default::default(),
            )
            .map_err(|e| bad(format!("config: {e}")))?;
        }
        let events = parse_events("events", obj.get("events"), &[])?;
        if events.is_empty() {
            return Err(bad(
                "events: a list of event types or [\"*\"] is required".into()
            ));
        }
        let templates = match obj.get("templates") {
            None | Some(Value::Null) => TemplateFilter::All,
            Some(Value::String(s)) if s == "all" => TemplateFilter::All,
            Some(Value::Array(ids)) => {
                if ids.len() > MAX_TEMPLATE_IDS {
                    return Err(bad(format!(
                        "templates: {} ids, more than the limit of {MAX_TEMPLATE_IDS}; use \"all\"",
                        ids.len()
                    )));
                }
                let mut out = Vec::new();
                for id in ids {
                    let id = id
                        .as_str()
                        .ok_or_else(|| bad("templates: ids must be strings".into()))?;
                    if db::templates::get(&self.db, account_id, id)
                        .await?
                        .is_none()
                    {
                        return Err(bad(format!("templates: template {id} not found")));
                    }
                    out.push(id.to_string());
                }
                TemplateFilter::Only(out)
            }
            Some(_) => return Err(bad("templates: \"all\" or a list of template ids".into())),
        };
        let enabled = match obj.get("enabled") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err(bad("enabled: must be true or false".into())),
        };
        Ok(Input {
            config,
            events,
            templates,
            enabled,
        })
    }

    /// The SSRF guard (and HTTPS-only mode) for every URL a destination connects to.
    pub async fn check_destination_urls(&self, config: &Config) -> AppResult<()> {
        let settings = &self.settings.delivery;
        for (field, url) in config.urls() {
            let parsed = ssrf::check_url(url, &settings.allowed_networks)
                .await
                .map_err(|e| bad(format!("{field}: {e}")))?;
            if settings.https_only && parsed.scheme() != "https" {
                return Err(bad(format!(
                    "{field}: only https URLs are accepted (DOCPUSH_HTTPS_ONLY)"
                )));
            }
        }
        Ok(())
    }

    pub fn open_destination(&self, d: &destinations::Model) -> anyhow::Result<Config> {
        Config::open(&d.config, &self.secrets)
    }

    fn destination_view(&self, d: &destinations::Model, reveal_secret: bool) -> AppResult<Value> {
        let config = self.open_destination(d)?;
        Ok(json!({
            "id": d.id,
            "type": d.kind,
            "config": config.masked(reveal_secret),
            "events": serde_json::from_str::<Value>(&d.events).unwrap_or_default(),
            "templates": TemplateFilter::from_stored(&d.templates).to_json(),
            "enabled": d.enabled != 0,
            "disabled_reason": d.disabled_reason,
            "failing_since": d.failing_since.map(rfc3339),
            "created_at": rfc3339(d.created_at),
            "updated_at": rfc3339(d.updated_at),
        }))
    }

    async fn owned_destination(
        &self,
        account_id: &str,
        id: &str,
    ) -> AppResult<destinations::Model> {
        db::destinations::get(&self.db, account_id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("destination {id} not found")))
    }

    /// A live destination of the account with its config opened.
    pub async fn destination_for(
        &self,
        account_id: &str,
        id: &str,
    ) -> AppResult<(destinations::Model, Config)> {
        let d = self.owned_destination(account_id, id).await?;
        let c = self.open_destination(&d)?;
        Ok((d, c))
    }

    /// Validates an unsaved destination config (for Test Connection).
    pub async fn parse_unsaved_destination(
        &self,
        account_id: &str,
        body: &Value,
    ) -> AppResult<Config> {
        Ok(self.parse_destination(account_id, body, None).await?.config)
    }

    pub async fn create_destination(&self, account_id: &str, body: &Value) -> AppResult<Value> {
        let input = self.parse_destination(account_id, body, None).await?;
        let now = db::now_ms();
        let d = destinations::Model {
            id: format!("dst_{}", uuid::Uuid::now_v7().simple()),
            account_id: account_id.to_string(),
            kind: input.config.kind().to_string(),
            config: input.config.seal(&self.secrets),
            events: serde_json::to_string(&input.events).map_err(anyhow::Error::from)?,
            templates: input.templates.to_json().to_string(),
            enabled: i64::from(input.enabled.unwrap_or(true)),
            disabled_reason: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let d = db::destinations::insert(&self.db, d).await?;
        self.destination_view(&d, true)
    }

    pub async fn list_destinations(&self, account_id: &str) -> AppResult<Vec<Value>> {
        db::destinations::list(&self.db, account_id)
            .await?
            .iter()
            .map(|d| self.destination_view(d, false))
            .collect()
    }

    pub async fn get_destination(&self, account_id: &str, id: &str) -> AppResult<Value> {
        let d = self.owned_destination(account_id, id).await?;
        self.destination_view(&d, false)
    }

    /// Replaces the destination; `enabled: true` (or omitting it) re-enables a disabled one.
    pub async fn update_destination(
        &self,
        account_id: &str,
        id: &str,
        body: &Value,
    ) -> AppResult<Value> {
        let mut d = self.owned_destination(account_id, id).await?;
        let stored = self.open_destination(&d)?;
        let input = self
            .parse_destination(account_id, body, Some(&stored))
            .await?;
        d.config = input.config.seal(&self.secrets);
        d.events = serde_json::to_string(&input.events).map_err(anyhow::Error::from)?;
        d.templates = input.templates.to_json().to_string();
        let enabled = input.enabled.unwrap_or(true);
        d.enabled = i64::from(enabled);
        if enabled {
            d.disabled_reason = None;
            d.failing_since = None;
        } else if d.disabled_reason.is_none() {
            d.disabled_reason = Some("disabled by the account".into());
        }
        let d = db::destinations::update(&self.db, d).await?;
        self.destination_view(&d, false)
    }

    pub async fn delete_destination(&self, account_id: &str, id: &str) -> AppResult<()> {
        if db::destinations::soft_delete(&self.db, account_id, id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound(format!("destination {id} not found")))
        }
    }

    /// A new webhook secret; the old one keeps signing (second signature) for the grace period.
    pub async fn rotate_destination_secret(&self, account_id: &str, id: &str) -> AppResult<Value> {
        let mut d = self.owned_destination(account_id, id).await?;
        let Config::Webhook(mut w) = self.open_destination(&d)? else {
            return Err(AppError::Conflict(format!(
                "destination {id} is not a webhook; only webhooks have signing secrets"
            )));
        };
        let grace = self.settings.delivery.secret_rotation_grace;
        w.previous_secret = Some(std::mem::replace(
            &mut w.secret,
            crate::crypto::new_webhook_secret(),
        ));
        w.previous_secret_expires_at = Some(db::now_ms() + grace.as_millis() as i64);
        d.config = Config::Webhook(w).seal(&self.secrets);
        let d = db::destinations::update(&self.db, d).await?;
        self.destination_view(&d, true)
    }
}
