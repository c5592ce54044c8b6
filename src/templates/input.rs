//! A template as clients send it, and its validation into what is stored.

use serde::de::IgnoredAny;
use serde::Deserialize;
use utoipa::ToSchema;

use super::TemplateError;
use crate::json_input::{objects, optional_object};
use crate::outbound::{ssrf, BasicAuth, CustomHeaders, EventFilter, SignatureScheme};
use crate::spec::{self, BlockDef, CheckDef, FieldDef, Options, TemplateRules};
use crate::targets::UrlRules;
use crate::types::EventType;

/// The body of `POST /v1/templates` and `PUT /v1/templates/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Sample invoices",
    "fields": [
        {"name": "invoice_number", "type": "string", "regex": "Invoice\\s*(?:No|#)\\.?:?\\s*([A-Z0-9-]+)"},
        {"name": "invoice_date", "type": "date", "anchor": "Date", "direction": "right", "date_formats": ["%d/%m/%Y"]},
        {"name": "total", "type": "number", "anchor": "Total due", "direction": "below", "required": true},
        {"name": "vendor", "type": "string", "zone": {"page": 1, "x": 0.0, "y": 0.03, "width": 0.5, "height": 0.05}}
    ],
    "webhook": {"url": "https://example.com/hooks/docpush", "headers": {"Authorization": "Bearer abc"}}
}))]
pub struct TemplateInput {
    /// 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// 1 to 100 field definitions.
    #[serde(deserialize_with = "objects")]
    pub fields: Vec<FieldDef>,
    #[serde(default, deserialize_with = "optional_object")]
    pub options: Option<Options>,
    /// Regexes that must all match a document's text for `"template_id": "auto"` to choose this template.
    #[serde(default)]
    pub keywords: Option<Vec<String>>,
    /// Regexes none of which may match.
    #[serde(default)]
    pub exclude_keywords: Option<Vec<String>>,
    /// Among templates whose keywords match, the highest priority wins (default 5).
    #[serde(default)]
    pub priority: Option<i32>,
    /// Blocks of named groups (invoice2data's `tables`).
    #[serde(default)]
    pub blocks: Option<Vec<BlockDef>>,
    /// Checks run after extraction (SPEC §2.3); one that fails sends the document to review.
    #[serde(default)]
    pub checks: Option<Vec<CheckDef>>,
    /// Where results are pushed; `null` or absent for none.
    #[serde(default, deserialize_with = "optional_object")]
    pub webhook: Option<WebhookInput>,
    /// Free text (e.g. `invoices`) that destination rules may select events by.
    #[serde(default)]
    #[schema(max_length = 100)]
    pub category: Option<String>,
    /// Read-only members of a template as returned, accepted and ignored so
    /// that a template read can be sent back with changes.
    #[serde(default)]
    #[schema(read_only, value_type = Option<String>)]
    pub id: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(read_only, value_type = Option<String>)]
    pub created_at: Option<IgnoredAny>,
    #[serde(default)]
    #[schema(read_only, value_type = Option<String>)]
    pub updated_at: Option<IgnoredAny>,
}

/// A template's webhook as clients send it. It is stored as a webhook
/// destination owned by the template, so it takes the same settings.
#[derive(Debug, Deserialize, serde::Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// An http(s) URL; loopback, private and metadata addresses are refused
    /// unless the operator allows their network.
    #[schema(example = "https://example.com/hooks/docpush")]
    pub url: String,
    /// Sent with every delivery; values are shown masked once saved, and a
    /// masked value sent back keeps the stored one.
    #[serde(default)]
    pub headers: Option<CustomHeaders>,
    /// Default: `["extraction.processed", "extraction.failed"]`.
    #[serde(default, skip_serializing)]
    #[schema(value_type = Option<EventFilterDoc>)]
    pub events: Option<EventFilter>,
    /// A `whsec_` secret of your own (or an `E_AI_K_` key with the
    /// `extracta-legacy` signature); left out, the stored one is kept or one is generated.
    #[serde(default)]
    pub secret: Option<String>,
    /// Builds the `Authorization` header; the password is sealed and shown masked.
    #[serde(default, deserialize_with = "optional_object")]
    pub basic_auth: Option<BasicAuth>,
    /// `standard` (the default) or `extracta-legacy`, which adds `x-webhook-signature`.
    #[serde(default)]
    pub signature: Option<SignatureScheme>,
    /// PEM certificate chain for mutual TLS, with `client_key`.
    #[serde(default)]
    pub client_cert: Option<String>,
    /// Sealed at rest and shown masked; a masked value keeps the stored key.
    #[serde(default)]
    pub client_key: Option<String>,
    #[serde(default)]
    pub client_key_password: Option<String>,
    /// PEM certificates trusted for this receiver besides the public roots.
    #[serde(default)]
    pub ca_cert: Option<String>,
    /// Shown after a rotation; accepted and ignored.
    #[serde(default, skip_serializing)]
    #[schema(read_only, value_type = Option<String>)]
    pub previous_secret_expires_at: Option<IgnoredAny>,
}

/// A template that passed validation, as it will be stored.
pub struct Input {
    pub name: String,
    pub defs: Vec<FieldDef>,
    pub options: Options,
    pub rules: TemplateRules,
    pub webhook: Option<ValidWebhook>,
    pub category: Option<String>,
}

/// The webhook's settings as a webhook destination's `config` (checked with
/// the stored one when saved), and its events.
pub struct ValidWebhook {
    pub config: serde_json::Value,
    pub events: EventFilter,
}

fn unprocessable(m: impl Into<String>) -> TemplateError {
    TemplateError::Invalid(m.into())
}

impl TemplateInput {
    /// Checks what serde cannot: lengths, field rules, options, and the webhook URL against the SSRF guard.
    pub async fn validate(self, rules: &UrlRules) -> Result<Input, TemplateError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(unprocessable("name: must be 1 to 200 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(unprocessable("name: control characters are not allowed"));
        }
        let (defs, _) = spec::check_fields(self.fields).map_err(|e| unprocessable(e.0))?;
        let options = spec::check_options(self.options).map_err(|e| unprocessable(e.0))?;
        let template_rules = TemplateRules {
            keywords: self.keywords.unwrap_or_default(),
            exclude_keywords: self.exclude_keywords.unwrap_or_default(),
            priority: self.priority,
            blocks: self.blocks.unwrap_or_default(),
            checks: self.checks.unwrap_or_default(),
        };
        // Each part is valid alone; together their regexes must fit one template's bound.
        spec::compile_template(&defs, &options, &template_rules).map_err(|e| unprocessable(e.0))?;
        let category = self
            .category
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        if let Some(c) = &category {
            if c.chars().count() > 100 || c.chars().any(char::is_control) {
                return Err(unprocessable(
                    "category: at most 100 characters, without control characters",
                ));
            }
        }
        let webhook = match self.webhook {
            None => None,
            Some(w) => Some(w.validate(rules).await?),
        };
        Ok(Input {
            category,
            name: name.to_string(),
            defs,
            options,
            rules: template_rules,
            webhook,
        })
    }
}

impl WebhookInput {
    pub async fn validate(mut self, rules: &UrlRules) -> Result<ValidWebhook, TemplateError> {
        // Checked here too so that a template with a refused URL fails before anything else.
        ssrf::check_url(&self.url, &rules.allowed_networks)
            .await
            .map_err(|e| unprocessable(format!("webhook.url: {e}")))?;
        if self.secret.as_deref() == Some(crate::outbound::MASK) {
            self.secret = None;
        }
        let events = self.events.take().unwrap_or_else(|| {
            EventFilter::of(&[EventType::ExtractionProcessed, EventType::ExtractionFailed])
        });
        let config = serde_json::to_value(&self).expect("a webhook input serialises");
        Ok(ValidWebhook { config, events })
    }
}
