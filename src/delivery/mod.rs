//! Events → targets. An event is stored once ([`emit`]); each target that
//! wants it gets a delivery row, worked by the [`worker`] with retries until
//! it succeeds or is dead-lettered. Every attempt is logged. [`Deliveries`]
//! is what the API and the dashboard ask: the list, each delivery's
//! attempts, replays, Test Connection and the metrics.

mod attempt;
pub mod aws;
mod claims;
mod emit;
mod error;
mod health;
pub mod listing;
pub mod metrics;
pub mod probe;
mod sender;
mod sent;
mod settle;
mod throttle;
pub mod webhook;
pub mod worker;
pub mod xml;

pub use emit::{emit, emit_all, Emitted, NewEvent};
pub use error::DeliveryError;
pub use health::{announce, FAILING_AFTER};
pub use listing::{Deliveries, DeliveryQuery};
pub use metrics::Metrics;
pub use sender::{destination_body, Outgoing, Sender};
pub use sent::{Outcome, Sent};
pub use settle::release_uploads;
pub use worker::Dispatcher;
