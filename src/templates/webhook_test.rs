//! Test Connection for a template's webhook, saved or not: the settings are
//! checked as when saving, and sample values are made for the template's
//! fields; `delivery::probe` sends them.

use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::input::WebhookInput;
use super::{TemplateError, Templates};
use crate::db;
use crate::json_input::objects;
use crate::spec::FieldDef;
use crate::targets::{template_webhook_config, Config};
use crate::types::{AccountId, TemplateId};

/// The body of `POST /v1/templates/webhook/test`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookTest {
    /// A saved template whose stored secrets fill in masked values, and whose fields make the sample.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub template_id: Option<String>,
    pub webhook: WebhookInput,
    /// Fields to make sample values for (defaults to the saved template's).
    #[serde(default, deserialize_with = "objects")]
    pub fields: Vec<FieldDef>,
}

/// A plausible value of each field's type, so the receiver sees the shape it will get.
pub fn sample_values(fields: &[FieldDef]) -> Map<String, Value> {
    fields
        .iter()
        .map(|f| {
            let v = match f.ty.as_str() {
                "number" => json!(1250.5),
                "integer" => json!(3),
                "date" => json!("2026-11-30"),
                "boolean" => json!(true),
                _ => json!(format!("sample {}", f.name)),
            };
            (f.name.clone(), v)
        })
        .collect()
}

/// A webhook ready to be tested.
pub struct WebhookProbe {
    pub config: Config,
    pub template_id: Option<TemplateId>,
    pub sample: Map<String, Value>,
}

impl Templates {
    /// The webhook of a Test Connection, checked as when saving, with sample
    /// values for the template's fields.
    pub async fn webhook_probe(
        &self,
        account_id: &AccountId,
        t: WebhookTest,
    ) -> Result<WebhookProbe, TemplateError> {
        let template_id = match t.template_id.as_deref().filter(|id| !id.is_empty()) {
            None => None,
            Some(raw) => Some(
                TemplateId::parse(raw).ok_or_else(|| TemplateError::NotFound(raw.to_string()))?,
            ),
        };
        let (stored, mut fields) = match &template_id {
            Some(id) => {
                let row = self.owned(account_id, id).await?;
                let defs: Vec<FieldDef> = db::json("templates.fields", &row.fields)?;
                (template_webhook_config(&row, &self.secrets)?, defs)
            }
            None => (None, vec![]),
        };
        if !t.fields.is_empty() {
            fields = t.fields;
        }
        let valid = t.webhook.validate(&self.rules).await?;
        let config = self.webhook_destination(&valid.config, stored).await?;
        Ok(WebhookProbe {
            config: Config::Webhook(config),
            template_id,
            sample: sample_values(&fields),
        })
    }
}
