//! Destination CRUD and secret rotation.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::input::{DestinationInput, DestinationKind, TemplateFilterDoc};
use super::{Config, TemplateFilter};
use crate::db::{self, entities::destinations, rfc3339};
use crate::error::{AppError, AppResult};
use crate::outbound::events::EventFilterDoc;
use crate::outbound::{ssrf, EventFilter};
use crate::state::AppState;

struct Input {
    config: Config,
    events: EventFilter,
    templates: TemplateFilter,
    enabled: Option<bool>,
}

/// A destination as clients see it: secrets and header values masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct DestinationView {
    #[schema(example = "dst_0193c2b8a1f37c2e9d4b5a6f7e8d9c0b")]
    pub id: String,
    #[serde(rename = "type")]
    pub kind: DestinationKind,
    /// The type's settings; the webhook `secret` is shown when created or rotated, masked otherwise.
    #[schema(value_type = Object)]
    pub config: Value,
    #[schema(value_type = EventFilterDoc)]
    pub events: Value,
    #[schema(value_type = TemplateFilterDoc)]
    pub templates: Value,
    pub enabled: bool,
    /// Why deliveries are paused, when they are.
    pub disabled_reason: Option<String>,
    /// Since when deliveries have been failing (RFC 3339), while they are.
    pub failing_since: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn bad(m: String) -> AppError {
    AppError::Unprocessable(m)
}

impl AppState {
    async fn parse_destination(
        &self,
        account_id: &str,
        body: DestinationInput,
        stored: Option<&Config>,
        events_required: bool,
    ) -> AppResult<Input> {
        let stored_kind = stored.map(|c| c.kind());
        let kind = match (body.kind, stored_kind) {
            (Some(k), Some(s)) if k.as_str() != s => {
                return Err(bad(format!(
                    "type: a {s} destination cannot become {}; create a new one",
                    k.as_str()
                )))
            }
            (Some(k), _) => k,
            (None, Some(s)) => [
                DestinationKind::Webhook,
                DestinationKind::Sqs,
                DestinationKind::S3,
            ]
            .into_iter()
            .find(|k| k.as_str() == s)
            .expect("stored kinds are known"),
            (None, None) => {
                return Err(bad(
                    "type: \"webhook\", \"sqs\" or \"s3\" is required".into()
                ))
            }
        };
        let config = Config::from_input(kind, &body.config, stored)?;
        self.check_destination_urls(&config).await?;
        let events = match body.events {
            Some(e) => e,
            None if !events_required => EventFilter::of(&[]),
            None => {
                return Err(bad(
                    "events: a list of event types, [\"*\"] or a preset is required".into(),
                ))
            }
        };
        let templates = body.templates.unwrap_or(TemplateFilter::All);
        if let TemplateFilter::Only(ids) = &templates {
            for id in ids {
                if db::templates::get(&self.db, account_id, id)
                    .await?
                    .is_none()
                {
                    return Err(bad(format!("templates: template {id} not found")));
                }
            }
        }
        Ok(Input {
            config,
            events,
            templates,
            enabled: body.enabled,
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

    fn destination_view(
        &self,
        d: &destinations::Model,
        reveal_secret: bool,
    ) -> AppResult<DestinationView> {
        let config = self.open_destination(d)?;
        let kind = match &config {
            Config::Webhook(_) => DestinationKind::Webhook,
            Config::Sqs(_) => DestinationKind::Sqs,
            Config::S3(_) => DestinationKind::S3,
        };
        Ok(DestinationView {
            id: d.id.clone(),
            kind,
            config: config.masked(reveal_secret),
            events: serde_json::from_str::<Value>(&d.events).unwrap_or_default(),
            templates: TemplateFilter::from_stored(&d.templates).to_json(),
            enabled: d.enabled != 0,
            disabled_reason: d.disabled_reason.clone(),
            failing_since: d.failing_since.map(rfc3339),
            created_at: rfc3339(d.created_at),
            updated_at: rfc3339(d.updated_at),
        })
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
        body: DestinationInput,
    ) -> AppResult<Config> {
        Ok(self
            .parse_destination(account_id, body, None, false)
            .await?
            .config)
    }

    /// Validates the edited config of a saved destination (for Test Connection
    /// before saving): masked values keep the stored ones.
    pub async fn parse_edited_destination(
        &self,
        account_id: &str,
        id: &str,
        body: DestinationInput,
    ) -> AppResult<Config> {
        let (_, stored) = self.destination_for(account_id, id).await?;
        Ok(self
            .parse_destination(account_id, body, Some(&stored), false)
            .await?
            .config)
    }

    pub async fn create_destination(
        &self,
        account_id: &str,
        body: DestinationInput,
    ) -> AppResult<DestinationView> {
        let input = self.parse_destination(account_id, body, None, true).await?;
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

    pub async fn list_destinations(&self, account_id: &str) -> AppResult<Vec<DestinationView>> {
        db::destinations::list(&self.db, account_id)
            .await?
            .iter()
            .map(|d| self.destination_view(d, false))
            .collect()
    }

    pub async fn get_destination(&self, account_id: &str, id: &str) -> AppResult<DestinationView> {
        let d = self.owned_destination(account_id, id).await?;
        self.destination_view(&d, false)
    }

    /// Replaces the destination; `enabled: true` (or omitting it) re-enables a disabled one.
    pub async fn update_destination(
        &self,
        account_id: &str,
        id: &str,
        body: DestinationInput,
    ) -> AppResult<DestinationView> {
        let mut d = self.owned_destination(account_id, id).await?;
        let stored = self.open_destination(&d)?;
        let input = self
            .parse_destination(account_id, body, Some(&stored), true)
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
        // A secret made by this change (the signature scheme changed) is shown once, as on create.
        let new_secret = match (&stored, &input.config) {
            (Config::Webhook(old), Config::Webhook(new)) => old.secret != new.secret,
            _ => false,
        };
        let d = db::destinations::update(&self.db, d).await?;
        self.destination_view(&d, new_secret)
    }

    pub async fn delete_destination(&self, account_id: &str, id: &str) -> AppResult<()> {
        if db::destinations::soft_delete(&self.db, account_id, id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound(format!("destination {id} not found")))
        }
    }

    /// A new webhook secret; the old one keeps signing (second signature) for the grace period.
    pub async fn rotate_destination_secret(
        &self,
        account_id: &str,
        id: &str,
    ) -> AppResult<DestinationView> {
        let mut d = self.owned_destination(account_id, id).await?;
        let Config::Webhook(mut w) = self.open_destination(&d)? else {
            return Err(AppError::Conflict(format!(
                "destination {id} is not a webhook; only webhooks have signing secrets"
            )));
        };
        let grace = self.settings.delivery.secret_rotation_grace;
        let (fresh, _) = w
            .signature
            .choose_secret(None, None)
            .map_err(AppError::Unprocessable)?;
        w.previous_secret = Some(std::mem::replace(&mut w.secret, fresh));
        w.previous_secret_expires_at = Some(db::now_ms() + grace.as_millis() as i64);
        d.config = Config::Webhook(w).seal(&self.secrets);
        let d = db::destinations::update(&self.db, d).await?;
        self.destination_view(&d, true)
    }

    /// Queues again every failed delivery of the destination created at or after `since_ms`.
    pub async fn recover_destination(
        &self,
        account_id: &str,
        id: &str,
        since_ms: i64,
    ) -> AppResult<u64> {
        let (d, _) = self.destination_for(account_id, id).await?;
        if d.enabled == 0 {
            return Err(AppError::Conflict(format!(
                "destination {id} is disabled ({}); re-enable it first",
                d.disabled_reason.as_deref().unwrap_or("by the account")
            )));
        }
        let n = db::deliveries::requeue_failed_since(&self.db, &d.id, since_ms).await?;
        self.deliveries_ready.notify_one();
        Ok(n)
    }
}
