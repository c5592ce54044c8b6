//! Test Connection for a template's webhook, saved or not: the settings are
//! checked as when saving, and sample values are made for the template's
//! fields; `delivery::probe` sends them.

use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::fields::FieldDef;
use super::input::WebhookInput;
use crate::destinations::Config;
use crate::error::AppResult;
use crate::json_input::objects;
use crate::state::AppState;

/// The body of `POST /v1/templates/webhook/test`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookTest {
    /// A saved template whose stored secrets fill in masked values, and whose fields make the sample.
    #[serde(default)]
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
    pub template_id: Option<String>,
    pub sample: Map<String, Value>,
}

impl AppState {
    pub async fn template_webhook_probe(
        &self,
        account_id: &str,
        t: WebhookTest,
    ) -> AppResult<WebhookProbe> {
        let (stored, mut fields) = match t.template_id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => {
                let row = self.owned_template(account_id, id).await?;
                let defs: Vec<FieldDef> =
                    serde_json::from_str(&row.fields).map_err(anyhow::Error::from)?;
                (self.webhook_config(&row)?, defs)
            }
            None => (None, vec![]),
        };
        if !t.fields.is_empty() {
            fields = t.fields;
        }
        let valid = t.webhook.validate(self).await?;
        let config = self.webhook_destination(&valid.config, stored).await?;
        Ok(WebhookProbe {
            config: Config::Webhook(config),
            template_id: t.template_id,
            sample: sample_values(&fields),
        })
    }
}
