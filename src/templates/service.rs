//! Template CRUD: the webhook with its generated secret, header values,
//! credentials and secrets sealed at rest, and templates loaded for workers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::fields::{self, Field, FieldDef, Options};
use super::input::{Input, TemplateInput};
use crate::db::{self, entities::templates, rfc3339};
use crate::destinations::config::WebhookConfig;
use crate::destinations::input::DestinationKind;
use crate::destinations::Config;
use crate::error::{AppError, AppResult};
use crate::outbound::events::EventFilterDoc;
use crate::outbound::{BasicAuth, EventFilter, EventType, SignatureScheme, MASK};
use crate::state::AppState;

/// Templates' compiled fields by their stored JSON: compiling a template's
/// regexes costs more than reading a text PDF, and every submission and
/// every job loads its template.
static COMPILED: std::sync::LazyLock<std::sync::Mutex<HashMap<String, Arc<Vec<Field>>>>> =
    std::sync::LazyLock::new(Default::default);
const COMPILED_KEPT: usize = 512;

fn compiled(stored: &str, defs: &[FieldDef]) -> Result<Arc<Vec<Field>>, String> {
    if let Some(hit) = COMPILED.lock().expect("compiled templates").get(stored) {
        return Ok(hit.clone());
    }
    let fields = Arc::new(
        defs.iter()
            .map(fields::compile)
            .collect::<Result<Vec<_>, _>>()?,
    );
    let mut cache = COMPILED.lock().expect("compiled templates");
    if cache.len() >= COMPILED_KEPT {
        cache.clear();
    }
    cache.insert(stored.to_string(), fields.clone());
    Ok(fields)
}

/// The template as clients see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub id: String,
    pub name: String,
    pub fields: Vec<FieldDef>,
    pub options: Options,
    pub webhook: Option<WebhookView>,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
}

/// A template's webhook as clients see it: header values and the password masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub url: String,
    pub headers: BTreeMap<String, String>,
    #[schema(value_type = EventFilterDoc)]
    pub events: EventFilter,
    /// Shown when created, generated or rotated; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    pub signature: SignatureScheme,
    /// PEM certificate chain presented for mutual TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<String>,
    /// Masked once saved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
    /// Masked once saved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key_password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
    /// While a rotated-out secret still signs (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<String>,
}

/// A stored template with its fields compiled, as workers use it.
pub struct LoadedTemplate {
    pub id: String,
    pub field_defs: Vec<FieldDef>,
    pub fields: std::sync::Arc<Vec<Field>>,
    pub options: Options,
    pub webhook: Option<Webhook>,
}

/// The template's webhook: a webhook destination owned by the template, with
/// its secrets opened.
#[derive(Clone, Debug)]
pub struct Webhook {
    pub config: WebhookConfig,
    pub events: EventFilter,
}

impl Webhook {
    pub fn wants(&self, event: EventType) -> bool {
        self.events.wants(event)
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

fn stored_events(t: &templates::Model) -> EventFilter {
    serde_json::from_str(t.webhook_events.as_deref().unwrap_or("[]"))
        .unwrap_or_else(|_| EventFilter::of(&[]))
}

impl AppState {
    fn open_headers(&self, t: &templates::Model) -> AppResult<BTreeMap<String, String>> {
        match &t.webhook_headers {
            None => Ok(BTreeMap::new()),
            Some(sealed) => {
                let json = self.secrets.open(sealed)?;
                Ok(serde_json::from_str(&json).map_err(anyhow::Error::from)?)
            }
        }
    }

    fn open_auth(&self, t: &templates::Model) -> AppResult<WebhookAuth> {
        match &t.webhook_auth {
            None => Ok(WebhookAuth::default()),
            Some(sealed) => {
                let json = self.secrets.open(sealed)?;
                Ok(serde_json::from_str(&json).map_err(anyhow::Error::from)?)
            }
        }
    }

    fn view(
        &self,
        t: &templates::Model,
        reveal_secret: bool,
        reveal_headers: bool,
    ) -> AppResult<TemplateView> {
        let webhook = self.webhook_config(t)?.map(|w| {
            let mut headers = w.headers;
            if !reveal_headers {
                headers.values_mut().for_each(|v| *v = MASK.to_string());
            }
            WebhookView {
                url: w.url,
                headers,
                events: stored_events(t),
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
            fields: serde_json::from_str(&t.fields).map_err(anyhow::Error::from)?,
            options: serde_json::from_str(&t.options).map_err(anyhow::Error::from)?,
            webhook,
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
        })
    }

    /// The template's webhook as a webhook destination config; templates
    /// saved before it was stored that way are read from their old columns.
    pub(super) fn webhook_config(&self, t: &templates::Model) -> AppResult<Option<WebhookConfig>> {
        let Some(url) = &t.webhook_url else {
            return Ok(None);
        };
        if let Some(sealed) = &t.webhook_config {
            return match Config::open(sealed, &self.secrets)? {
                Config::Webhook(w) => Ok(Some(w)),
                other => {
                    Err(anyhow::anyhow!("template {} holds a {} config", t.id, other.kind()).into())
                }
            };
        }
        let auth = self.open_auth(t)?;
        let secret = match &t.webhook_secret {
            Some(s) => self.secrets.open(s)?,
            None => return Ok(None),
        };
        Ok(Some(WebhookConfig {
            url: url.clone(),
            headers: self.open_headers(t)?,
            secret,
            basic_auth: auth.basic_auth,
            signature: auth.signature,
            ..Default::default()
        }))
    }

    /// A template webhook's settings checked as a webhook destination's, with
    /// masked values keeping those of `stored`; messages name `webhook.…`.
    pub(super) async fn webhook_destination(
        &self,
        raw: &serde_json::Value,
        stored: Option<WebhookConfig>,
    ) -> AppResult<WebhookConfig> {
        let as_webhook = |e: AppError| match e {
            AppError::Unprocessable(m) => AppError::Unprocessable(match m.strip_prefix("config") {
                Some(rest) => format!("webhook{rest}"),
                None => m,
            }),
            other => other,
        };
        let stored = stored.map(Config::Webhook);
        let config = Config::from_input(DestinationKind::Webhook, raw, stored.as_ref())
            .map_err(as_webhook)?;
        self.check_destination_urls(&config)
            .await
            .map_err(as_webhook)?;
        match config {
            Config::Webhook(w) => Ok(w),
            _ => Err(anyhow::anyhow!("a webhook config was expected").into()),
        }
    }

    /// Writes the validated input into `t`. The webhook goes through the
    /// webhook destination's rules (SSRF guard, HTTPS-only, certificates),
    /// keeping the secret, masked header values, password and key; `true`
    /// when a new secret was made.
    async fn apply(&self, t: &mut templates::Model, input: Input) -> AppResult<bool> {
        let old = self.webhook_config(t)?;
        t.name = input.name;
        t.fields = serde_json::to_string(&input.defs).map_err(anyhow::Error::from)?;
        t.options = serde_json::to_string(&input.options).map_err(anyhow::Error::from)?;
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
        t.webhook_events = Some(serde_json::to_string(&w.events).map_err(anyhow::Error::from)?);
        t.webhook_config = Some(Config::Webhook(config).seal(&self.secrets));
        Ok(new_secret)
    }

    pub async fn create_template(
        &self,
        account_id: &str,
        body: TemplateInput,
    ) -> AppResult<TemplateView> {
        let input = body.validate(self).await?;
        let now = db::now_ms();
        let mut t = templates::Model {
            id: uuid::Uuid::new_v4().to_string(),
            account_id: account_id.to_string(),
            name: String::new(),
            fields: String::new(),
            options: String::new(),
            webhook_url: None,
            webhook_headers: None,
            webhook_secret: None,
            webhook_events: None,
            webhook_auth: None,
            webhook_config: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        self.apply(&mut t, input).await?;
        let t = db::templates::insert(&self.db, t).await?;
        self.view(&t, true, true)
    }

    pub async fn list_templates(&self, account_id: &str) -> AppResult<Vec<TemplateView>> {
        db::templates::list(&self.db, account_id)
            .await?
            .iter()
            .map(|t| self.view(t, false, false))
            .collect()
    }

    pub(super) async fn owned_template(
        &self,
        account_id: &str,
        id: &str,
    ) -> AppResult<templates::Model> {
        db::templates::get(&self.db, account_id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("template {id} not found")))
    }

    pub async fn get_template(&self, account_id: &str, id: &str) -> AppResult<TemplateView> {
        let t = self.owned_template(account_id, id).await?;
        self.view(&t, false, false)
    }

    pub async fn update_template(
        &self,
        account_id: &str,
        id: &str,
        body: TemplateInput,
    ) -> AppResult<TemplateView> {
        let mut t = self.owned_template(account_id, id).await?;
        let input = body.validate(self).await?;
        let new_secret = self.apply(&mut t, input).await?;
        let t = db::templates::update(&self.db, t).await?;
        self.view(&t, new_secret, false)
    }

    pub async fn delete_template(&self, account_id: &str, id: &str) -> AppResult<()> {
        if db::templates::soft_delete(&self.db, account_id, id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound(format!("template {id} not found")))
        }
    }

    pub async fn rotate_webhook_secret(
        &self,
        account_id: &str,
        id: &str,
    ) -> AppResult<TemplateView> {
        let mut t = self.owned_template(account_id, id).await?;
        let Some(mut w) = self.webhook_config(&t)? else {
            return Err(AppError::Conflict(
                "the template has no webhook to rotate a secret for".into(),
            ));
        };
        // As for destinations: the old secret still signs during the grace period.
        let grace = self.settings.delivery.secret_rotation_grace;
        let (fresh, _) = w
            .signature
            .choose_secret(None, None)
            .map_err(AppError::Unprocessable)?;
        w.previous_secret = Some(std::mem::replace(&mut w.secret, fresh));
        w.previous_secret_expires_at = Some(db::now_ms() + grace.as_millis() as i64);
        t.webhook_config = Some(Config::Webhook(w).seal(&self.secrets));
        t.webhook_headers = None;
        t.webhook_secret = None;
        t.webhook_auth = None;
        let t = db::templates::update(&self.db, t).await?;
        self.view(&t, true, false)
    }

    /// A live template of the account, compiled for extraction.
    pub async fn template_for_job(&self, account_id: &str, id: &str) -> AppResult<LoadedTemplate> {
        let t = self.owned_template(account_id, id).await?;
        self.load(&t)
    }

    /// A template by id even after deletion: a job keeps its template.
    pub async fn load_template(&self, id: &str) -> AppResult<LoadedTemplate> {
        let t = db::templates::get_any(&self.db, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("template {id} not found")))?;
        self.load(&t)
    }

    fn load(&self, t: &templates::Model) -> AppResult<LoadedTemplate> {
        let field_defs: Vec<FieldDef> =
            serde_json::from_str(&t.fields).map_err(anyhow::Error::from)?;
        let fields = compiled(&t.fields, &field_defs).map_err(|e| {
            AppError::Unprocessable(format!(
                "template {} no longer passes validation: {e}; save it again",
                t.id
            ))
        })?;
        let webhook = self.webhook_config(t)?.map(|config| Webhook {
            config,
            events: stored_events(t),
        });
        Ok(LoadedTemplate {
            id: t.id.clone(),
            field_defs,
            fields,
            options: serde_json::from_str(&t.options).map_err(anyhow::Error::from)?,
            webhook,
        })
    }
}
