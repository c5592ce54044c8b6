//! The job: its statuses, submission, workers, archives and retention.

pub mod listing;
pub mod retention;
pub mod review;
pub mod service;
pub mod status;
pub mod unzip;
pub mod worker;

pub use status::JobStatus;
