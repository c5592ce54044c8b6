//! Table models, one module per table, kept free of behaviour.

pub mod accounts;
pub mod api_keys;
pub mod audit_log;
pub mod credit_ledger;
pub mod deliveries;
pub mod delivery_attempts;
pub mod destinations;
pub mod events;
pub mod files;
pub mod job_transitions;
pub mod jobs;
pub mod sessions;
pub mod tasks;
pub mod templates;
