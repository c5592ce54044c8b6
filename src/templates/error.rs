use crate::db::DbError;
use crate::extraction::ExtractionError;
use crate::targets::TargetError;
use crate::types::{Blame, TemplateId};

/// Why a template request failed.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template {0} not found")]
    NotFound(String),
    /// What the client sent breaks a rule of the template format; the
    /// message names the member (`fields[2].regex (field "total"): …`).
    #[error("{0}")]
    Invalid(String),
    /// A stored template that the current rules refuse: it must be saved again.
    #[error("template {id} no longer passes validation: {reason}; save it again")]
    Stale { id: TemplateId, reason: String },
    #[error("the template has no webhook to rotate a secret for")]
    NoWebhook,
    #[error("the document is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("actual_image is empty: send the document's bytes")]
    EmptyDocument,
    #[error(
        "a preview reads one PDF, PNG, JPEG, TIFF or WebP document (detected from its content)"
    )]
    NotADocument,
    #[error("actual_image: {0}")]
    Unreadable(#[source] ExtractionError),
    #[error("insufficient credits: {0}")]
    InsufficientCredits(String),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Database(#[from] DbError),
}

impl TemplateError {
    pub fn blame(&self) -> Blame {
        match self {
            Self::Unreadable(e) => e.blame(),
            Self::Target(e) => e.blame(),
            Self::Database(e) => e.blame(),
            _ => Blame::Caller,
        }
    }
}

impl From<sea_orm::DbErr> for TemplateError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Database(e.into())
    }
}
