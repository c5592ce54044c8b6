//! Template CRUD: the webhook with its generated secret, header values,
//! credentials and secrets sealed at rest, and templates loaded for jobs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::DatabaseConnection;

use super::input::{Input, TemplateInput};
use super::views::{TemplateView, WebhookView};
use super::TemplateError;
use crate::audit::{Audit, Object};
use crate::crypto::SecretBox;
use crate::db::{self, entities::templates, rfc3339};
use crate::extraction::Reader;
use crate::outbound::{BasicAuth, MASK};
use crate::spec::{self, Compiled, FieldDef, Options, TemplateRules};
use crate::targets::{
    template_webhook_config, template_webhook_events, Config, TargetError, TemplateWebhook,
    UrlRules, WebhookConfig,
};
use crate::types::{AccountId, Actor, DestinationKind, TemplateId};

/// Compiled templates kept at most; past that the cache starts again.
const COMPILED_KEPT: usize = 512;

/// Templates of every account: their storage, their webhooks' rules, and
/// what reading a document with one needs (previews).
#[derive(Clone)]
pub struct Templates {
    pub(super) db: DatabaseConnection,
    /// Where every change of a template is recorded.
    audit: Audit,
    pub(super) secrets: SecretBox,
    pub(super) rules: Arc<UrlRules>,
    /// How long a rotated-out webhook secret still signs.
    rotation_grace: Duration,
    pub(super) reader: Reader,
    pub(super) max_upload: u64,
    /// Compiled templates by their stored JSON: compiling a template's regexes
    /// costs more than reading a text PDF, and every submission and every
    /// job loads its template.
    compiled: Arc<Mutex<HashMap<String, Arc<Compiled>>>>,
    /// The templates `auto` chooses among, per account.
    pub(super) chosen_among: Arc<Mutex<super::choice::KeptCandidates>>,
}

/// A stored template with its fields compiled, as jobs use it.
pub struct LoadedTemplate {
    pub id: TemplateId,
    pub field_defs: Vec<FieldDef>,
    pub compiled: Arc<Compiled>,
    pub options: Options,
    pub webhook: Option<TemplateWebhook>,
}

impl LoadedTemplate {
    /// The definition of the field named `name`.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.field_defs.iter().find(|f| f.name == name)
    }
}

impl Templates {
    pub fn new(
        db: DatabaseConnection,
        secrets: SecretBox,
        rules: UrlRules,
        rotation_grace: Duration,
        reader: Reader,
        max_upload: u64,
    ) -> Self {
        Self {
            secrets,
            rules: Arc::new(rules),
            rotation_grace,
            reader,
            max_upload,
            compiled: Arc::default(),
            chosen_among: Arc::default(),
            audit: Audit::new(db.clone()),
            db,
        }
    }

    /// Records a change of template `id` in the audit log.
    async fn audited(
        &self,
        account_id: &AccountId,
        actor: &Actor,
        action: &str,
        id: &TemplateId,
        before: Option<&TemplateView>,
        after: Option<&TemplateView>,
    ) -> Result<(), TemplateError> {
        let object = Object {
            kind: "template",
            id: id.to_string(),
        };
        self.audit
            .record(account_id, actor, action, object, before, after)
            .await?;
        Ok(())
    }

    pub(super) fn compiled(&self, t: &templates::Model) -> Result<Arc<Compiled>, TemplateError> {
        let key = format!(
            "{}\u{0}{}\u{0}{}",
            t.fields,
            t.options,
            t.rules.as_deref().unwrap_or("")
        );
        if let Some(hit) = self.compiled.lock().expect("compiled templates").get(&key) {
            return Ok(hit.clone());
        }
        let defs: Vec<FieldDef> = db::json("templates.fields", &t.fields)?;
        let options: Options = db::json("templates.options", &t.options)?;
        let rules = stored_rules(t)?;
        let compiled = Arc::new(spec::compile_template(&defs, &options, &rules).map_err(
            |reason| TemplateError::Stale {
                id: t.id.clone(),
                reason: reason.0,
            },
        )?);
        let mut cache = self.compiled.lock().expect("compiled templates");
        if cache.len() >= COMPILED_KEPT {
            cache.clear();
        }
        cache.insert(key, compiled.clone());
        Ok(compiled)
    }

    fn view(
        &self,
        t: &templates::Model,
        reveal_secret: bool,
        reveal_headers: bool,
    ) -> Result<TemplateView, TemplateError> {
        let events = template_webhook_events(t)?;
        let rules = stored_rules(t)?;
        let webhook = template_webhook_config(t, &self.secrets)?.map(|w| {
            let mut headers = w.headers;
            if !reveal_headers {
                headers.values_mut().for_each(|v| *v = MASK.to_string());
            }
            WebhookView {
                url: w.url,
                headers,
                events,
                secret: reveal_secret.then_some(w.secret),
                basic_auth: w.basic_auth.map(|b| BasicAuth {
                    password: MASK.to_string(),
                    ..b
                }),
                signature: w.signature,
                client_cert: w.client_cert,
                client_key: w.client_key.map(|_| MASK.to_string()),
                client_key_password: w.client_key_password.map(|_| MASK.to_string()),
                ca_cert: w.ca_cert,
                previous_secret_expires_at: w
                    .previous_secret_expires_at
                    .filter(|at| *at > db::now_ms())
                    .map(rfc3339),
            }
        });
        Ok(TemplateView {
            id: t.id.clone(),
            name: t.name.clone(),
            fields: db::json("templates.fields", &t.fields)?,
            options: db::json("templates.options", &t.options)?,
            keywords: rules.keywords,
            exclude_keywords: rules.exclude_keywords,
            priority: rules.priority,
            blocks: rules.blocks,
            checks: rules.checks,
            category: t.category.clone(),
            webhook,
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
        })
    }

    /// A template webhook's settings checked as a webhook destination's, with
    /// masked values keeping those of `stored`; messages name `webhook.…`.
    pub(super) async fn webhook_destination(
        &self,
        raw: &serde_json::Value,
        stored: Option<WebhookConfig>,
    ) -> Result<WebhookConfig, TemplateError> {
        let as_webhook = |e: TargetError| match e {
            TargetError::Invalid(m) => TemplateError::Invalid(match m.strip_prefix("config") {
                Some(rest) => format!("webhook{rest}"),
                None => m,
            }),
            other => other.into(),
        };
        let stored = stored.map(Config::Webhook);
        let config = Config::from_input(DestinationKind::Webhook, raw, stored.as_ref())
            .map_err(as_webhook)?;
        self.rules.check(&config).await.map_err(as_webhook)?;
        match config {
            Config::Webhook(w) => Ok(w),
            other => unreachable!("a webhook input made a {} config", other.kind()),
        }
    }

    /// Writes the validated input into `t`. The webhook goes through the
    /// webhook destination's rules (SSRF guard, HTTPS-only, certificates),
    /// keeping the secret, masked header values, password and key; `true`
    /// when a new secret was made.
    async fn apply(&self, t: &mut templates::Model, input: Input) -> Result<bool, TemplateError> {
        let old = template_webhook_config(t, &self.secrets)?;
        t.name = input.name;
        t.category = input.category;
        t.fields = serde_json::to_string(&input.defs).expect("field definitions serialise");
        t.options = serde_json::to_string(&input.options).expect("options serialise");
        t.rules = (input.rules != TemplateRules::default())
            .then(|| serde_json::to_string(&input.rules).expect("template rules serialise"));
        t.webhook_headers = None;
        t.webhook_secret = None;
        t.webhook_auth = None;
        let Some(w) = input.webhook else {
            t.webhook_url = None;
            t.webhook_events = None;
            t.webhook_config = None;
            return Ok(false);
        };
        let config = self.webhook_destination(&w.config, old.clone()).await?;
        let new_secret = old.map(|o| o.secret) != Some(config.secret.clone());
        t.webhook_url = Some(config.url.clone());
        t.webhook_events = Some(serde_json::to_string(&w.events).expect("event filters serialise"));
        t.webhook_config = Some(Config::Webhook(config).seal(&self.secrets));
        Ok(new_secret)
    }

    pub async fn create(
        &self,
        account_id: &AccountId,
        body: TemplateInput,
        actor: &Actor,
    ) -> Result<TemplateView, TemplateError> {
        let input = body.validate(&self.rules).await?;
        let now = db::now_ms();
        let mut t = templates::Model {
            id: TemplateId::new(),
            account_id: account_id.clone(),
            name: String::new(),
            fields: String::new(),
            options: String::new(),
            rules: None,
            webhook_url: None,
            webhook_headers: None,
            webhook_secret: None,
            webhook_events: None,
            webhook_auth: None,
            webhook_config: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            category: None,
        };
        self.apply(&mut t, input).await?;
        let t = db::templates::insert(&self.db, t).await?;
        let view = self.view(&t, true, true)?;
        self.audited(
            account_id,
            actor,
            "template.created",
            &t.id,
            None,
            Some(&view),
        )
        .await?;
        Ok(view)
    }

    /// Creates the docpush template for an invoice2data template (YAML or JSON).
    pub async fn import(
        &self,
        account_id: &AccountId,
        body: &[u8],
        actor: &Actor,
    ) -> Result<TemplateView, TemplateError> {
        let template = super::import::parse(body)?;
        self.create(account_id, super::import::translate(&template)?, actor)
            .await
    }

    pub async fn list(&self, account_id: &AccountId) -> Result<Vec<TemplateView>, TemplateError> {
        db::templates::list(&self.db, account_id)
            .await?
            .iter()
            .map(|t| self.view(t, false, false))
            .collect()
    }

    pub(super) async fn owned(
        &self,
        account_id: &AccountId,
        id: &TemplateId,
    ) -> Result<templates::Model, TemplateError> {
        db::templates::get(&self.db, account_id, id)
            .await?
            .ok_or_else(|| TemplateError::NotFound(id.to_string()))
    }

    pub async fn get(
        &self,
        account_id: &AccountId,
        id: &TemplateId,
    ) -> Result<TemplateView, TemplateError> {
        let t = self.owned(account_id, id).await?;
        self.view(&t, false, false)
    }

    pub async fn update(
        &self,
        account_id: &AccountId,
        id: &TemplateId,
        body: TemplateInput,
        actor: &Actor,
    ) -> Result<TemplateView, TemplateError> {
        let mut t = self.owned(account_id, id).await?;
        let before = self.view(&t, false, false)?;
        let input = body.validate(&self.rules).await?;
        let new_secret = self.apply(&mut t, input).await?;
        let t = db::templates::update(&self.db, t).await?;
        let after = self.view(&t, new_secret, false)?;
        self.audited(
            account_id,
            actor,
            "template.updated",
            id,
            Some(&before),
            Some(&after),
        )
        .await?;
        Ok(after)
    }

    pub async fn delete(
        &self,
        account_id: &AccountId,
        id: &TemplateId,
        actor: &Actor,
    ) -> Result<(), TemplateError> {
        let before = self.get(account_id, id).await?;
        if !db::templates::soft_delete(&self.db, account_id, id).await? {
            return Err(TemplateError::NotFound(id.to_string()));
        }
        self.audited(
            account_id,
            actor,
            "template.deleted",
            id,
            Some(&before),
            None,
        )
        .await
    }

    pub async fn rotate_webhook_secret(
        &self,
        account_id: &AccountId,
        id: &TemplateId,
        actor: &Actor,
    ) -> Result<TemplateView, TemplateError> {
        let mut t = self.owned(account_id, id).await?;
        let before = self.view(&t, false, false)?;
        let Some(mut w) = template_webhook_config(&t, &self.secrets)? else {
            return Err(TemplateError::NoWebhook);
        };
        w.rotate_secret(db::now_ms(), self.rotation_grace);
        t.webhook_config = Some(Config::Webhook(w).seal(&self.secrets));
        t.webhook_headers = None;
        t.webhook_secret = None;
        t.webhook_auth = None;
        let t = db::templates::update(&self.db, t).await?;
        let after = self.view(&t, true, false)?;
        let action = "template.webhook_secret_rotated";
        self.audited(account_id, actor, action, id, Some(&before), Some(&after))
            .await?;
        Ok(after)
    }

    /// A live template of the account, compiled for extraction.
    pub async fn for_job(
        &self,
        account_id: &AccountId,
        id: &TemplateId,
    ) -> Result<LoadedTemplate, TemplateError> {
        let t = self.owned(account_id, id).await?;
        self.compile(&t)
    }

    /// A template by id even after deletion: a job keeps its template.
    pub async fn load(&self, id: &TemplateId) -> Result<LoadedTemplate, TemplateError> {
        let t = db::templates::get_any(&self.db, id)
            .await?
            .ok_or_else(|| TemplateError::NotFound(id.to_string()))?;
        self.compile(&t)
    }

    fn compile(&self, t: &templates::Model) -> Result<LoadedTemplate, TemplateError> {
        Ok(LoadedTemplate {
            id: t.id.clone(),
            field_defs: db::json("templates.fields", &t.fields)?,
            compiled: self.compiled(t)?,
            options: db::json("templates.options", &t.options)?,
            webhook: TemplateWebhook::of(t, &self.secrets)?,
        })
    }
}

/// A stored template's rules; none for templates saved before they existed.
fn stored_rules(t: &templates::Model) -> Result<TemplateRules, TemplateError> {
    Ok(match &t.rules {
        Some(raw) => db::json("templates.rules", raw)?,
        None => TemplateRules::default(),
    })
}
