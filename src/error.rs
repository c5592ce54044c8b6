//! The error every service returns; `api::error` turns it into a status and a
//! `{"error", "message"}` body. Internal causes are logged, never sent.

use std::fmt;

#[derive(thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("a valid API key is required in the x-auth header")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// The stable machine-readable code of the error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::Gone(_) => "gone",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Unprocessable(_) => "validation_failed",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Internal(_) => "internal_error",
        }
    }
}

impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Internal(e) => write!(f, "internal error: {e:?}"),
            other => write!(f, "{other}"),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        // PostgreSQL refuses U+0000 in text even as a query parameter, so an id
        // carrying one (from a URL or a body) is refused there; it names nothing.
        let text = e.to_string();
        if text.contains("invalid byte sequence for encoding") && text.contains("0x00") {
            return Self::NotFound("not found: ids never contain NUL characters".into());
        }
        Self::Internal(anyhow::Error::new(e).context("database"))
    }
}

impl From<crate::storage::StorageError> for AppError {
    fn from(e: crate::storage::StorageError) -> Self {
        Self::Internal(anyhow::Error::new(e).context("blob storage"))
    }
}

pub type AppResult<T> = Result<T, AppError>;
