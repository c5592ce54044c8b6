//! Destination CRUD, secret rotation and recovery.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{DatabaseConnection, TransactionTrait};

use super::input::DestinationInput;
use super::operation::{format_duration, Operation};
use super::views::DestinationView;
use super::DestinationError;
use crate::audit::{Audit, Object};
use crate::crypto::SecretBox;
use crate::db::{self, entities::destinations, rfc3339, DbError};
use crate::delivery;
use crate::outbound::links::DEFAULT_MAX_PAYLOAD_BYTES;
use crate::outbound::EventFilter;
use crate::targets::{self, Config, Rules, TemplateFilter, UrlRules};
use crate::tasks::{TaskView, Tasks};
use crate::types::{AccountId, Actor, DestinationId, DestinationKind, EventType};

struct Input {
    config: Config,
    events: EventFilter,
    templates: TemplateFilter,
    rules: Option<Rules>,
    enabled: Option<bool>,
    operation: Operation,
}

/// The destinations of every account.
#[derive(Clone)]
pub struct Destinations {
    db: DatabaseConnection,
    /// Where every change of a destination is recorded.
    audit: Audit,
    secrets: SecretBox,
    rules: Arc<UrlRules>,
    /// How long a rotated-out webhook secret still signs.
    rotation_grace: Duration,
    /// Runs `recover` in the background.
    tasks: Tasks,
    /// How long a destination fails before it is disabled, unless it says otherwise.
    disable_after: Duration,
}

/// The type the body names, or the stored one's (a wrong pairing is refused by `parse`).
fn kind_of(body: &DestinationInput, stored: Option<&Config>) -> DestinationKind {
    body.kind
        .or(stored.map(Config::kind))
        .unwrap_or(DestinationKind::Webhook)
}

fn bad(m: String) -> DestinationError {
    DestinationError::Invalid(m)
}

impl Destinations {
    pub fn new(
        db: DatabaseConnection,
        secrets: SecretBox,
        rules: UrlRules,
        rotation_grace: Duration,
        disable_after: Duration,
        tasks: Tasks,
    ) -> Self {
        Self {
            audit: Audit::new(db.clone()),
            db,
            secrets,
            rules: Arc::new(rules),
            rotation_grace,
            tasks,
            disable_after,
        }
    }

    /// Records a change of destination `id` in the audit log.
    async fn audited(
        &self,
        account_id: &AccountId,
        actor: &Actor,
        action: &str,
        id: &DestinationId,
        before: Option<&DestinationView>,
        after: Option<&DestinationView>,
    ) -> Result<(), DestinationError> {
        let object = Object {
            kind: "destination",
            id: id.to_string(),
        };
        self.audit
            .record(account_id, actor, action, object, before, after)
            .await?;
        Ok(())
    }

    async fn parse(
        &self,
        account_id: &AccountId,
        body: DestinationInput,
        stored: Option<&Config>,
        events_required: bool,
    ) -> Result<Input, DestinationError> {
        let operation = Operation::from_input(&body, kind_of(&body, stored))?;
        let kind = match (body.kind, stored.map(Config::kind)) {
            (Some(k), Some(s)) if k != s => {
                return Err(bad(format!(
                    "type: a {s} destination cannot become {k}; create a new one"
                )))
            }
            (Some(k), _) | (None, Some(k)) => k,
            (None, None) => {
                return Err(bad(
                    "type: \"webhook\", \"sqs\" or \"s3\" is required".into()
                ))
            }
        };
        let config = Config::from_input(kind, &body.config, stored)?;
        self.rules.check(&config).await?;
        if body.rules.is_some() && (body.events.is_some() || body.templates.is_some()) {
            return Err(bad(
                "rules: send either rules or events and templates, not both".into(),
            ));
        }
        let events = match body.events {
            Some(e) => e,
            None if !events_required || body.rules.is_some() => EventFilter::of(&[]),
            None => {
                return Err(bad(
                    "events: a list of event types, [\"*\"] or a preset is required".into(),
                ))
            }
        };
        let templates = body.templates.unwrap_or(TemplateFilter::All);
        let named = match &templates {
            TemplateFilter::Only(ids) => ids.iter().collect(),
            TemplateFilter::All => Vec::new(),
        };
        let in_rules = body.rules.iter().flat_map(Rules::template_ids);
        for id in named.into_iter().chain(in_rules) {
            if db::templates::get(&self.db, account_id, id)
                .await?
                .is_none()
            {
                return Err(bad(format!("templates: template {id} not found")));
            }
        }
        Ok(Input {
            config,
            events,
            templates,
            rules: body.rules,
            enabled: body.enabled,
            operation,
        })
    }

    fn view(
        &self,
        d: &destinations::Model,
        reveal_secret: bool,
    ) -> Result<DestinationView, DestinationError> {
        let config = targets::open_destination(d, &self.secrets)?;
        Ok(DestinationView {
            id: d.id.clone(),
            kind: config.kind(),
            config: config.masked(reveal_secret),
            events: db::json("destinations.events", &d.events)?,
            templates: TemplateFilter::from_stored(&d.templates)?.to_json(),
            rules: d
                .rules
                .as_deref()
                .map(Rules::from_stored)
                .transpose()?
                .map(|r| r.to_json()),
            enabled: d.enabled != 0,
            disabled_reason: d.disabled_reason.clone(),
            failing_since: d.failing_since.map(rfc3339),
            consecutive_failures: d.consecutive_failures,
            last_failure: d.last_failure.clone(),
            disable_after: format_duration(
                d.disable_after_ms
                    .unwrap_or(self.disable_after.as_millis() as i64),
            ),
            rate_limit: d.rate_limit,
            max_payload_bytes: d
                .max_payload_bytes
                .or((config.kind() == DestinationKind::Webhook)
                    .then_some(DEFAULT_MAX_PAYLOAD_BYTES as i64)),
            created_at: rfc3339(d.created_at),
            updated_at: rfc3339(d.updated_at),
        })
    }

    async fn owned(
        &self,
        account_id: &AccountId,
        id: &DestinationId,
    ) -> Result<destinations::Model, DestinationError> {
        db::destinations::get(&self.db, account_id, id)
            .await?
            .ok_or_else(|| DestinationError::NotFound(id.clone()))
    }

    /// A live destination of the account with its config opened (for Test Connection).
    pub async fn opened(
        &self,
        account_id: &AccountId,
        id: &DestinationId,
    ) -> Result<Config, DestinationError> {
        let d = self.owned(account_id, id).await?;
        let config = targets::open_destination(&d, &self.secrets)?;
        // Checked again: the allow-list may have shrunk since it was saved.
        self.rules.check(&config).await?;
        Ok(config)
    }

    /// Validates an unsaved destination config (for Test Connection).
    pub async fn parse_unsaved(
        &self,
        account_id: &AccountId,
        body: DestinationInput,
    ) -> Result<Config, DestinationError> {
        Ok(self.parse(account_id, body, None, false).await?.config)
    }

    /// Validates the edited config of a saved destination (for Test Connection
    /// before saving): masked values keep the stored ones.
    pub async fn parse_edited(
        &self,
        account_id: &AccountId,
        id: &DestinationId,
        body: DestinationInput,
    ) -> Result<Config, DestinationError> {
        let d = self.owned(account_id, id).await?;
        let stored = targets::open_destination(&d, &self.secrets)?;
        Ok(self
            .parse(account_id, body, Some(&stored), false)
            .await?
            .config)
    }

    pub async fn create(
        &self,
        account_id: &AccountId,
        body: DestinationInput,
        actor: &Actor,
    ) -> Result<DestinationView, DestinationError> {
        let input = self.parse(account_id, body, None, true).await?;
        let now = db::now_ms();
        let mut d = destinations::Model {
            id: DestinationId::new(),
            account_id: account_id.clone(),
            kind: input.config.kind(),
            config: input.config.seal(&self.secrets),
            events: serde_json::to_string(&input.events).expect("event filters serialise"),
            templates: input.templates.to_json().to_string(),
            rules: input.rules.as_ref().map(|r| r.to_json().to_string()),
            enabled: i64::from(input.enabled.unwrap_or(true)),
            disabled_reason: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            disable_after_ms: None,
            rate_limit: None,
            max_payload_bytes: None,
            consecutive_failures: 0,
            failing_reported_at: None,
            last_failure: None,
        };
        input.operation.apply(&mut d);
        let d = db::destinations::insert(&self.db, d).await?;
        let view = self.view(&d, true)?;
        let action = "destination.created";
        self.audited(account_id, actor, action, &d.id, None, Some(&view))
            .await?;
        Ok(view)
    }

    pub async fn list(
        &self,
        account_id: &AccountId,
    ) -> Result<Vec<DestinationView>, DestinationError> {
        db::destinations::list(&self.db, account_id)
            .await?
            .iter()
            .map(|d| self.view(d, false))
            .collect()
    }

    pub async fn get(
        &self,
        account_id: &AccountId,
        id: &DestinationId,
    ) -> Result<DestinationView, DestinationError> {
        let d = self.owned(account_id, id).await?;
        self.view(&d, false)
    }

    /// Replaces the destination; `enabled: true` (or omitting it) re-enables a disabled one.
    pub async fn update(
        &self,
        account_id: &AccountId,
        id: &DestinationId,
        body: DestinationInput,
        actor: &Actor,
    ) -> Result<DestinationView, DestinationError> {
        let mut d = self.owned(account_id, id).await?;
        let before = self.view(&d, false)?;
        let stored = targets::open_destination(&d, &self.secrets)?;
        let input = self.parse(account_id, body, Some(&stored), true).await?;
        d.config = input.config.seal(&self.secrets);
        d.events = serde_json::to_string(&input.events).expect("event filters serialise");
        d.templates = input.templates.to_json().to_string();
        d.rules = input.rules.as_ref().map(|r| r.to_json().to_string());
        input.operation.apply(&mut d);
        let enabled = input.enabled.unwrap_or(true);
        // A secret made by this change (the signature scheme changed) is shown once, as on create.
        let new_secret = match (&stored, &input.config) {
            (Config::Webhook(old), Config::Webhook(new)) => old.secret != new.secret,
            _ => false,
        };
        let txn = self.db.begin().await.map_err(DbError::from)?;
        db::destinations::update_settings(&txn, &d).await?;
        // Re-enabling ends the run of failures that disabled it: announced with it.
        let ended = db::destinations::set_enabled(&txn, id, enabled).await?;
        if let Some(ended) = ended.filter(|_| enabled) {
            let reason = format!("re-enabled by {}", Actor::describe(&actor.name()));
            delivery::announce(&txn, &ended, EventType::DestinationRecovered, &reason).await?;
        }
        let d = db::destinations::get_any(&txn, id)
            .await?
            .ok_or_else(|| DestinationError::NotFound(id.clone()))?;
        txn.commit().await.map_err(DbError::from)?;
        let after = self.view(&d, new_secret)?;
        let action = "destination.updated";
        self.audited(account_id, actor, action, id, Some(&before), Some(&after))
            .await?;
        Ok(after)
    }

    pub async fn delete(
        &self,
        account_id: &AccountId,
        id: &DestinationId,
        actor: &Actor,
    ) -> Result<(), DestinationError> {
        let before = self.get(account_id, id).await?;
        if !db::destinations::soft_delete(&self.db, account_id, id).await? {
            return Err(DestinationError::NotFound(id.clone()));
        }
        let action = "destination.deleted";
        self.audited(account_id, actor, action, id, Some(&before), None)
            .await
    }

    /// A new webhook secret; the old one keeps signing (second signature) for the grace period.
    pub async fn rotate_secret(
        &self,
        account_id: &AccountId,
        id: &DestinationId,
        actor: &Actor,
    ) -> Result<DestinationView, DestinationError> {
        let mut d = self.owned(account_id, id).await?;
        let before = self.view(&d, false)?;
        let Config::Webhook(mut w) = targets::open_destination(&d, &self.secrets)? else {
            return Err(DestinationError::NotAWebhook(id.clone()));
        };
        w.rotate_secret(db::now_ms(), self.rotation_grace);
        d.config = Config::Webhook(w).seal(&self.secrets);
        db::destinations::update_settings(&self.db, &d).await?;
        let d = self.owned(account_id, id).await?;
        let after = self.view(&d, true)?;
        let action = "destination.secret_rotated";
        self.audited(account_id, actor, action, id, Some(&before), Some(&after))
            .await?;
        Ok(after)
    }

    /// Starts a task that queues again every failed delivery of the
    /// destination created in `[since_ms, until_ms)`.
    pub async fn recover(
        &self,
        account_id: &AccountId,
        id: &DestinationId,
        since_ms: i64,
        until_ms: Option<i64>,
    ) -> Result<TaskView, DestinationError> {
        let d = self.owned(account_id, id).await?;
        if d.enabled == 0 {
            return Err(DestinationError::Disabled {
                id: id.clone(),
                reason: d.disabled_reason.unwrap_or_else(|| "by the account".into()),
            });
        }
        if until_ms.is_some_and(|u| u <= since_ms) {
            return Err(bad("until: must be later than since".into()));
        }
        self.tasks
            .recover(account_id, id, since_ms, until_ms)
            .await?
            .map_err(|open| DestinationError::Recovering {
                id: id.clone(),
                task: open.task_id,
            })
    }
}
