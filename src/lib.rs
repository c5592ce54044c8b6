//! docpush: documents in, template fields out, results pushed to webhooks.
//!
//! The modules follow the pipeline: configuration and state, the HTTP API,
//! jobs and their workers, extraction, delivery, then storage and the database.
//! `outbound` (events, URL guard, headers, signing) sits below destinations,
//! templates (whose webhook is a webhook destination of their own) and
//! delivery, which sends to both; `dashboard` renders the same services as
//! pages.

pub mod config;
pub mod crypto;
pub mod error;
pub mod json_input;
pub mod private_fs;
pub mod stages;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod transient;
pub mod wake;

pub mod api;
pub mod dashboard;
pub mod delivery;
pub mod destinations;
pub mod extraction;
pub mod jobs;
pub mod outbound;
pub mod templates;

pub mod db;
pub mod storage;
