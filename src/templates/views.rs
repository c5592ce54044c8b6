//! A template as clients see it: the API's answers, the dashboard's forms
//! and the OpenAPI document all read these.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::outbound::events::EventFilterDoc;
use crate::outbound::{BasicAuth, EventFilter, SignatureScheme};
use crate::spec::{BlockDef, CheckDef, FieldDef, Options};
use crate::types::TemplateId;

/// The template as clients see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    #[schema(value_type = String)]
    pub id: TemplateId,
    pub name: String,
    pub fields: Vec<FieldDef>,
    pub options: Options,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude_keywords: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<BlockDef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckDef>,
    /// What destination rules select this template's events by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
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
