use crate::db::DbError;
use crate::delivery::DeliveryError;
use crate::storage::StorageError;
use crate::templates::TemplateError;
use crate::types::{Blame, FileId, JobId, JobStatus};

/// Why a job request or a job worker's step failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("job {0} not found")]
    NotFound(JobId),
    #[error("file {file} not found in job {job}")]
    FileNotFound { job: JobId, file: FileId },
    #[error("the results of job {0} were purged after the retention period")]
    Purged(JobId),
    #[error("job {0} is in the recycle bin; restore it with POST /v1/jobs/{0}/restore")]
    Deleted(JobId),
    #[error("file {file} of job {job} is in the recycle bin; restore it with POST /v1/jobs/{job}/files/{file}/restore")]
    FileDeleted { job: JobId, file: FileId },
    #[error("{0} is not in the recycle bin")]
    NotDeleted(String),
    /// Someone else holds the job's review lock.
    #[error("job {job} is locked for review by {holder} until {until}; only they may edit or confirm its results")]
    Locked {
        job: JobId,
        holder: String,
        until: String,
    },
    #[error(
        "job {job} is still running (status {status}); try again when it is SUCCESS or FAILED"
    )]
    Running { job: JobId, status: JobStatus },
    /// A document whose result cannot be reviewed now (none yet, or confirmed already).
    #[error("{0}")]
    NotReviewable(String),
    #[error("the upload of file {0} is no longer kept: documents are deleted once delivered (those that need review, once confirmed)")]
    UploadGone(FileId),
    #[error("file {file} has no page {page}")]
    NoSuchPage { file: FileId, page: u32 },
    #[error("page {page} cannot be shown: {reason}")]
    PageUnreadable { page: u32, reason: String },
    /// An edited value that is not of its field's type, or names no field.
    #[error("result.{field}: {reason}")]
    InvalidValue { field: String, reason: String },
    #[error("actual_image is empty: send the document's bytes")]
    EmptyDocument,
    /// What the caller sent breaks a rule (a reused idempotency key, an edit of nothing).
    #[error("{0}")]
    Rejected(String),
    /// The account has as many documents waiting as it may (admission control).
    #[error("{queued} documents of this account are waiting to be processed, the most it may have queued ({limit}); send more once some have finished")]
    Busy { queued: u64, limit: u64 },
    /// Free space of the blob store is under the operator's watermark.
    #[error("the server is low on disk space and accepts no documents for now; try again later")]
    LowOnSpace,
    /// A filter or cursor that means nothing.
    #[error("{0}")]
    BadQuery(String),
    #[error("the document is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("the document is not a PDF, PNG, JPEG, TIFF, WebP or ZIP (detected from its content)")]
    NotADocument,
    /// Another worker owns the job now (this one's lease ran out).
    #[error("job {0} moved on without this worker")]
    LeaseLost(JobId),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    /// What should not happen: a stored job in a state no step leads to.
    #[error("{0}")]
    Unexpected(String),
}

impl JobError {
    pub fn blame(&self) -> Blame {
        match self {
            Self::Template(e) => e.blame(),
            Self::Database(e) => e.blame(),
            Self::Storage(e) => e.blame(),
            Self::Delivery(e) => e.blame(),
            Self::LeaseLost(_) | Self::Unexpected(_) => Blame::Bug,
            _ => Blame::Caller,
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.blame().is_retryable()
    }
}

impl From<sea_orm::DbErr> for JobError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Database(e.into())
    }
}
