//! Where events go: a template's own webhook, or a destination (a webhook,
//! an SQS queue, an S3 bucket). What each kind needs as clients send it and
//! as it is stored (sealed at rest, masked when shown), the filters that pick
//! its events, and the network rules its URLs must meet. Templates and
//! destinations store targets; delivery opens them and sends.

pub mod config;
pub mod filters;
pub mod input;
mod template_webhook;

pub use config::{Config, S3Config, SqsConfig, WebhookConfig};
pub use filters::{
    destination_wants, EventFacts, RuleDoc, Rules, TemplateFilter, TemplateFilterDoc,
    MAX_TEMPLATE_IDS,
};
pub use input::ConfigInputDoc;
pub use template_webhook::{
    stored_config as template_webhook_config, stored_events as template_webhook_events,
    TemplateWebhook,
};

use ipnet::IpNet;

use crate::crypto::SecretBox;
use crate::db::entities::destinations;
use crate::outbound::ssrf;
use crate::types::Blame;

/// Why a target cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// What the client sent is not a target we may send to; the message
    /// names the member (`config.url: …`).
    #[error("{0}")]
    Invalid(String),
    /// Stored settings that do not open (written under another secret key, or
    /// damaged); the message says what did not.
    #[error("{0}")]
    Unreadable(String),
}

impl TargetError {
    pub fn blame(&self) -> Blame {
        match self {
            Self::Invalid(_) => Blame::Caller,
            Self::Unreadable(_) => Blame::Bug,
        }
    }
}

/// The rules every URL a target connects to must meet: the SSRF guard (with
/// the operator's allowed networks) and, when the operator asks, HTTPS only.
#[derive(Clone, Debug, Default)]
pub struct UrlRules {
    pub allowed_networks: Vec<IpNet>,
    pub https_only: bool,
}

impl UrlRules {
    /// Checks every URL of `config`, resolving host names.
    pub async fn check(&self, config: &Config) -> Result<(), TargetError> {
        for (field, url) in config.urls() {
            let parsed = ssrf::check_url(url, &self.allowed_networks)
                .await
                .map_err(|e| TargetError::Invalid(format!("{field}: {e}")))?;
            if self.https_only && parsed.scheme() != "https" {
                return Err(TargetError::Invalid(format!(
                    "{field}: only https URLs are accepted (DOCPUSH_HTTPS_ONLY)"
                )));
            }
        }
        Ok(())
    }
}

/// A stored destination's settings, opened.
pub fn open_destination(
    d: &destinations::Model,
    secrets: &SecretBox,
) -> Result<Config, TargetError> {
    Config::open(&d.config, secrets)
}
