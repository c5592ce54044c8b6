//! The job: submission, status and results, review, archives, retention,
//! and the workers that move each job through its statuses.

mod error;
mod lifecycle;
pub mod listing;
mod locks;
pub(crate) mod results;
pub mod retention;
mod review;
mod service;
pub mod unzip;
pub mod views;
pub mod worker;

pub use error::JobError;
pub use lifecycle::Deletion;
pub use listing::JobQuery;
pub use results::{defuse, LinkedResult, ResultFormat, Results};
pub use service::{Jobs, Upload};
pub use views::{
    Accepted, FileResult, JobFileStatus, JobPage, JobResults, JobState, JobStatusView, JobSummary,
    Reviewed,
};
