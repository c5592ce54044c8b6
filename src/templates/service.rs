//! Template CRUD: validation, the webhook with its generated secret, and
//! header values and secrets sealed at rest.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::fields::{self, Field, FieldDef, InvalidTemplate, Options};
use crate::db::{self, entities::templates};
use crate::delivery::events::EventType;
use crate::delivery::{ssrf, webhook};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// How a header value is shown once stored; sending it back in a PUT keeps the stored value.
pub const MASK: &str = "********";

/// The template as clients see it.
#[derive(Debug, Serialize)]
pub struct TemplateView {
    pub id: String,
    pub name: String,
    pub fields: Vec<FieldDef>,
    pub options: Options,
    pub webhook: Option<WebhookView>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize)]
pub struct WebhookView {
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub events: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
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
    pub events: Vec<String>,
}

impl Webhook {
    pub fn wants(&self, event: EventType) -> bool {
        self.events.iter().any(|e| e == event.as_str() || e == "*")
    }
}

struct Input {
    name: String,
    defs: Vec<FieldDef>,
    options: Options,
    webhook: Option<WebhookInput>,
}

struct WebhookInput {
    url: String,
    headers: BTreeMap<String, String>,
    events: Vec<String>,
    /// A secret the client chose; `None` keeps the stored one (or generates one).
    secret: Option<String>,
}

fn unprocessable(e: InvalidTemplate) -> AppError {
    AppError::Unprocessable(e.0)
}

async fn parse_input(state: &AppState, body: &Value) -> AppResult<Input> {
    let obj = body
        .as_object()
        .ok_or_else(|| AppError::Unprocessable("the body must be a JSON object".into()))?;
    let name = match obj.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => s.trim().to_string(),
        Some(Value::String(_)) => {
            return Err(AppError::Unprocessable(
                "name: must be 1 to 200 characters".into(),
            ))
        }
        _ => return Err(AppError::Unprocessable("name: a string is required".into())),
    };
    let raw_fields = obj
        .get("fields")
        .ok_or_else(|| AppError::Unprocessable("fields: an array of fields is required".into()))?;
    let (defs, _) = fields::parse_fields(raw_fields).map_err(unprocessable)?;
    let options = fields::parse_options(obj.get("options")).map_err(unprocessable)?;
    let webhook = match obj.get("webhook") {
        None | Some(Value::Null) => None,
        Some(w @ Value::Object(_)) => Some(parse_webhook(state, w).await?),
        Some(_) => {
            return Err(AppError::Unprocessable(
                "webhook: must be an object with a url".into(),
            ))
        }
    };
    Ok(Input {
        name,
        defs,
        options,
        webhook,
    })
}

/// Most custom headers one webhook may carry.
pub const MAX_CUSTOM_HEADERS: usize = 20;
/// Longest custom header name, in bytes.
pub const MAX_HEADER_NAME_BYTES: usize = 128;
/// Longest custom header value, in bytes.
pub const MAX_HEADER_VALUE_BYTES: usize = 4096;

async fn parse_webhook(state: &AppState, w: &Value) -> AppResult<WebhookInput> {
    let bad = |m: String| AppError::Unprocessable(m);
    let url = w
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("webhook.url: a URL string is required".into()))?;
    let url = ssrf::check_url(url, &state.settings.delivery.allowed_networks)
        .await
        .map_err(|e| bad(format!("webhook.url: {e}")))?;
    let headers = parse_headers("webhook.headers", w.get("headers"))?;
    let events = parse_events(
        "webhook.events",
        w.get("events"),
        &[EventType::ExtractionProcessed, EventType::ExtractionFailed],
    )?;
    let secret = match w.get("secret") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == MASK => None,
        Some(Value::String(s)) if crate::crypto::is_webhook_secret(s) => Some(s.clone()),
        Some(_) => {
            return Err(bad(
                "webhook.secret: must be a Standard Webhooks secret (whsec_ + base64 of at least 24 bytes), or left out to keep or generate one".into(),
            ))
        }
    };
    Ok(WebhookInput {
        url: url.to_string(),
        headers,
        events,
        secret,
    })
}

/// Custom headers of a webhook: valid names and values, none that docpush sets itself.
pub(crate) fn parse_headers(
    field: &str,
    raw: Option<&Value>,
) -> AppResult<BTreeMap<String, String>> {
    let bad = |m: String| AppError::Unprocessable(m);
    let mut headers = BTreeMap::new();
    match raw {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            if map.len() > MAX_CUSTOM_HEADERS {
                return Err(bad(format!(
                    "{field}: {} headers, more than the limit of {MAX_CUSTOM_HEADERS}",
                    map.len()
                )));
            }
            for (k, v) in map {
                if k.len() > MAX_HEADER_NAME_BYTES {
                    return Err(bad(format!(
                        "{field}: a header name is longer than {MAX_HEADER_NAME_BYTES} bytes"
                    )));
                }
                let v = v
                    .as_str()
                    .ok_or_else(|| bad(format!("{field}.{k}: the value must be a string")))?;
                if v.len() > MAX_HEADER_VALUE_BYTES {
                    return Err(bad(format!(
                        "{field}.{k}: the value is longer than {MAX_HEADER_VALUE_BYTES} bytes"
                    )));
                }
                reqwest::header::HeaderName::from_bytes(k.as_bytes())
                    .map_err(|_| bad(format!("{field}: {k:?} is not a valid header name")))?;
                reqwest::header::HeaderValue::from_str(v)
                    .map_err(|_| bad(format!("{field}.{k}: not a valid header value")))?;
                if let Some(why) = webhook::refused_header(k) {
                    return Err(bad(format!("{field}: {k} {why}")));
                }
                headers.insert(k.clone(), v.to_string());
            }
        }
        Some(_) => return Err(bad(format!("{field}: must be an object of strings"))),
    }
    Ok(headers)
}

/// An event filter: known event types or `"*"`; `default` when absent.
pub(crate) fn parse_events(
    field: &str,
    raw: Option<&Value>,
    default: &[EventType],
) -> AppResult<Vec<String>> {
    match raw {
        None | Some(Value::Null) => Ok(default.iter().map(|e| e.as_str().to_string()).collect()),
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut out = Vec::new();
            for e in items {
                let s = e.as_str().unwrap_or_default();
                if s != "*" && s.parse::<EventType>().is_err() {
                    return Err(AppError::Unprocessable(format!(
                        "{field}: unknown event type {e}"
                    )));
                }
                out.push(s.to_string());
            }
            Ok(out)
        }
        Some(_) => Err(AppError::Unprocessable(format!(
            "{field}: must be a non-empty list of event types or [\"*\"]"
        ))),
    }
}

pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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
                Some(WebhookView {
                    url: url.clone(),
                    headers,
                    events: serde_json::from_str(t.webhook_events.as_deref().unwrap_or("[]"))
                        .unwrap_or_default(),
                    secret,
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

    /// Writes the validated input into `t`, keeping the secret and masked header values.
    fn apply(&self, t: &mut templates::Model, input: Input) -> AppResult<bool> {
        let old_headers = self.open_headers(t)?;
        t.name = input.name;
        t.fields = serde_json::to_string(&input.defs).map_err(anyhow::Error::from)?;
        t.options = serde_json::to_string(&input.options).map_err(anyhow::Error::from)?;
        let mut new_secret = false;
        match input.webhook {
            None => {
                t.webhook_url = None;
                t.webhook_headers = None;
                t.webhook_secret = None;
                t.webhook_events = None;
            }
            Some(mut w) => {
                for (k, v) in w.headers.iter_mut() {
                    if v == MASK {
                        *v = old_headers.get(k).cloned().ok_or_else(|| {
                            AppError::Unprocessable(format!("webhook.headers.{k}: a masked value can only keep an existing header"))
                        })?;
                    }
                }
                t.webhook_url = Some(w.url);
                t.webhook_headers = Some(
                    self.secrets
                        .seal(&serde_json::to_string(&w.headers).map_err(anyhow::Error::from)?),
                );
                t.webhook_events =
                    Some(serde_json::to_string(&w.events).map_err(anyhow::Error::from)?);
                if let Some(chosen) = &w.secret {
                    t.webhook_secret = Some(self.secrets.seal(chosen));
                } else if t.webhook_secret.is_none() {
                    t.webhook_secret =
                        Some(self.secrets.seal(&crate::crypto::new_webhook_secret()));
                    new_secret = true;
                }
            }
        }
        Ok(new_secret)
    }

    pub async fn create_template(&self, account_id: &str, body: &Value) -> AppResult<TemplateView> {
        let input = parse_input(self, body).await?;
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
        body: &Value,
    ) -> AppResult<TemplateView> {
        let mut t = self.owned_template(account_id, id).await?;
        let input = parse_input(self, body).await?;
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
        t.webhook_secret = Some(self.secrets.seal(&crate::crypto::new_webhook_secret()));
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
                events: serde_json::from_str(t.webhook_events.as_deref().unwrap_or("[]"))
                    .unwrap_or_default(),
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
