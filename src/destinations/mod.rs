//! Destinations (SPEC §4): where an account's events go besides the template
//! webhook — a webhook, an SQS queue or an S3 bucket — with event and template
//! filters. What each kind stores is a [`crate::targets`] config.

mod error;
pub mod input;
mod operation;
mod service;
mod views;

pub use error::DestinationError;
pub use service::Destinations;
pub use views::DestinationView;
