//! Template CRUD: the webhook with its generated secret, header values,
//! credentials and secrets sealed at rest, and templates loaded for workers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::fields::{self, Field, FieldDef, Options};
use super::input::{Input, TemplateInput};
use crate::db::{self, entities::templates, rfc3339};
use crate::error::{AppError, AppResult};
use crate::outbound::events::EventFilterDoc;
use crate::outbound::{BasicAuth, EventFilter, EventType, SignatureScheme, MASK};
use crate::state::AppState;

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
}

/// A stored template with its fields compiled, as workers use it.
pub struct LoadedTemplate {
    pub id: String,
    pub field_defs: Vec<FieldDef>,
    pub fields: Vec<Field>,
    pub options: Options,
    pub webhook: Option<Webhook>,
}

/// The template's webhook with its secrets opened.
#[derive(Clone, Debug)]
pub struct Webhook {
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub secret: String,
    pub events: EventFilter,
    pub auth: WebhookAuth,
}

impl Webhook {
    pub fn wants(&self, event: EventType) -> bool {
        self.events.wants(event)
    }
}

/// How the webhook authenticates to its receiver; stored sealed, as one JSON.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WebhookAuth {
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

    fn seal_json(&self, v: &impl Serialize) -> AppResult<String> {
        let json = serde_json::to_string(v).map_err(anyhow::Error::from)?;
        Ok(self.secrets.seal(&json))
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
        let webhook = match &t.webhook_url {
            None => None,
            Some(url) => {
                let mut headers = self.open_headers(t)?;
                if !reveal_headers {
                    headers.values_mut().for_each(|v| *v = MASK.to_string());
                }
                let secret = match (&t.webhook_secret, reveal_secret) {
                    (Some(s), true) => Some(self.secrets.open(s)?),
                    _ => None,
                };
                let auth = self.open_auth(t)?;
                Some(WebhookView {
                    url: url.clone(),
                    headers,
                    events: stored_events(t),
                    secret,
                    basic_auth: auth.basic_auth.map(|b| BasicAuth {
                        password: MASK.to_string(),
                        ..b
                    }),
                    signature: auth.signature,
                })
            }
        };
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

    /// Writes the validated input into `t`, keeping the secret, masked header
    /// values and a masked password; `true` when a new secret was made.
    fn apply(&self, t: &mut templates::Model, input: Input) -> AppResult<bool> {
        let old_headers = self.open_headers(t)?;
        let old_auth = self.open_auth(t)?;
        let old_secret = t
            .webhook_secret
            .as_ref()
            .map(|s| self.secrets.open(s))
            .transpose()?;
        t.name = input.name;
        t.fields = serde_json::to_string(&input.defs).map_err(anyhow::Error::from)?;
        t.options = serde_json::to_string(&input.options).map_err(anyhow::Error::from)?;
        let Some(mut w) = input.webhook else {
            t.webhook_url = None;
            t.webhook_headers = None;
            t.webhook_secret = None;
            t.webhook_events = None;
            t.webhook_auth = None;
            return Ok(false);
        };
        w.headers
            .keep_masked(&old_headers)
            .map_err(|e| AppError::Unprocessable(format!("webhook.headers.{e}")))?;
        if let Some(b) = w.basic_auth.as_mut().filter(|b| b.password == MASK) {
            b.password = old_auth.basic_auth.map(|old| old.password).ok_or_else(|| {
                AppError::Unprocessable(
                    "webhook.basic_auth.password: a masked value can only keep a stored password"
                        .into(),
                )
            })?;
        }
        let (secret, new_secret) = w
            .signature
            .choose_secret(w.secret.as_deref(), old_secret.as_deref())
            .map_err(|e| AppError::Unprocessable(format!("webhook.secret: {e}")))?;
        let auth = WebhookAuth {
            basic_auth: w.basic_auth,
            signature: w.signature,
        };
        t.webhook_url = Some(w.url);
        t.webhook_headers = Some(self.seal_json(&w.headers.0)?);
        t.webhook_auth = Some(self.seal_json(&auth)?);
        t.webhook_events = Some(serde_json::to_string(&w.events).map_err(anyhow::Error::from)?);
        t.webhook_secret = Some(self.secrets.seal(&secret));
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
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        self.apply(&mut t, input)?;
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

    async fn owned_template(&self, account_id: &str, id: &str) -> AppResult<templates::Model> {
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
        let new_secret = self.apply(&mut t, input)?;
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
        if t.webhook_url.is_none() {
            return Err(AppError::Conflict(
                "the template has no webhook to rotate a secret for".into(),
            ));
        }
        let auth = self.open_auth(&t)?;
        let (secret, _) = auth
            .signature
            .choose_secret(None, None)
            .map_err(AppError::Unprocessable)?;
        t.webhook_secret = Some(self.secrets.seal(&secret));
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
        let fields = field_defs
            .iter()
            .map(fields::compile)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                AppError::Unprocessable(format!(
                    "template {} no longer passes validation: {e}; save it again",
                    t.id
                ))
            })?;
        let webhook = match (&t.webhook_url, &t.webhook_secret) {
            (Some(url), Some(secret)) => Some(Webhook {
                url: url.clone(),
                headers: self.open_headers(t)?,
                secret: self.secrets.open(secret)?,
                events: stored_events(t),
                auth: self.open_auth(t)?,
            }),
            _ => None,
        };
        Ok(LoadedTemplate {
            id: t.id.clone(),
            field_defs,
            fields,
            options: serde_json::from_str(&t.options).map_err(anyhow::Error::from)?,
            webhook,
        })
    }
}
