//! Templates: the request clients send, its validation, CRUD, previews and
//! Test Connection of a template's webhook. The field language itself is
//! [`crate::spec`]; a webhook's settings are a [`crate::targets`] config.

pub mod choice;
mod error;
pub mod import;
pub mod input;
pub mod preview;
mod service;
mod views;
pub mod webhook_test;

pub use error::TemplateError;
pub use service::{LoadedTemplate, Templates};
pub use views::{TemplateView, WebhookView};
