//! The HTTP face of every failure: each stage's error becomes an
//! [`AppError`] (a status and a stable `{"error", "message"}` body) here and
//! nowhere else. Causes of 5xx answers are logged, never sent.

use std::fmt;

use actix_web::http::header::RETRY_AFTER;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

use crate::accounts::AccountError;
use crate::db::DbError;
use crate::delivery::DeliveryError;
use crate::destinations::DestinationError;
use crate::jobs::JobError;
use crate::json_input::InputError;
use crate::storage::StorageError;
use crate::targets::TargetError;
use crate::templates::TemplateError;
use crate::types::{Blame, Id};

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
    /// The database or the blob store cannot be used now, or the disk is
    /// nearly full: the request may succeed if sent again after `retry_after`
    /// seconds. The cause is logged.
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after: u64,
        cause: String,
    },
    /// The blob store ran out of space while storing the request's document.
    #[error("{0}")]
    InsufficientStorage(String),
    /// A bug: the cause is logged, the client told nothing.
    #[error("internal error")]
    Internal(String),
}

/// How long a client is asked to wait when a dependency is down: long enough
/// for a database restart or a fail-over, short enough not to lose minutes.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 5;
/// An account at its queue limit: about what a 2-core host needs to work through a few dozen documents.
pub const ADMISSION_RETRY_AFTER: u64 = 10;
/// A disk under its free-space watermark frees up only when the operator
/// acts or documents are released (once delivered) and purged.
pub const LOW_SPACE_RETRY_AFTER: u64 = 60;

pub type AppResult<T> = Result<T, AppError>;

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
            Self::Unavailable { .. } => "unavailable",
            Self::InsufficientStorage(_) => "insufficient_storage",
            Self::Internal(_) => "internal_error",
        }
    }

    /// What a dependency's failure means to the caller: a passing outage
    /// (503 with `Retry-After`), or a bug (500).
    fn dependency(e: &(dyn std::error::Error + 'static), blame: Blame, what: &str) -> Self {
        match blame {
            Blame::Dependency => Self::Unavailable {
                message: format!("{what} cannot be reached at the moment; try again shortly"),
                retry_after: UNAVAILABLE_RETRY_AFTER,
                cause: chain(e),
            },
            _ => Self::internal(e),
        }
    }

    /// A failure that is not the caller's: its whole cause chain, for the log.
    fn internal(e: &(dyn std::error::Error + 'static)) -> Self {
        Self::Internal(chain(e))
    }
}

/// An error and its causes, for the log.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        chain.push_str(": ");
        chain.push_str(&c.to_string());
        cause = c.source();
    }
    chain
}

impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Internal(cause) => write!(f, "internal error: {cause}"),
            Self::Unavailable { cause, .. } => write!(f, "unavailable: {cause}"),
            other => write!(f, "{other}"),
        }
    }
}

/// The id in a path, or 404 naming it: a string that is no id of its kind names nothing.
pub fn path_id<T: Id>(raw: &str) -> Result<T, AppError> {
    T::parse(raw).ok_or_else(|| AppError::NotFound(format!("{} {raw} not found", T::KIND)))
}

impl From<InputError> for AppError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::Malformed(_) => Self::BadRequest(e.to_string()),
            InputError::Invalid(m) => Self::Unprocessable(m),
        }
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        Self::dependency(&e, e.blame(), "the database")
    }
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        if e.is_out_of_space() {
            return Self::InsufficientStorage(
                "the document could not be stored: the server is out of disk space; nothing was kept".into(),
            );
        }
        Self::dependency(&e, e.blame(), "the blob store")
    }
}

impl From<TargetError> for AppError {
    fn from(e: TargetError) -> Self {
        match e {
            TargetError::Invalid(m) => Self::Unprocessable(m),
            other => Self::internal(&other),
        }
    }
}

impl From<TemplateError> for AppError {
    fn from(e: TemplateError) -> Self {
        use TemplateError as E;
        let m = e.to_string();
        match e {
            E::NotFound(_) => Self::NotFound(m),
            E::Invalid(m) => Self::Unprocessable(m),
            E::Stale { .. } => Self::Unprocessable(m),
            E::EmptyDocument => Self::BadRequest(m),
            // A document we cannot read is the caller's; an engine that did not load is ours.
            E::Unreadable(x) if x.blame() == Blame::Caller => Self::Unprocessable(m),
            E::Unreadable(x) => Self::internal(&x),
            E::NoWebhook | E::InsufficientCredits(_) => Self::Conflict(m),
            E::TooLarge { .. } => Self::PayloadTooLarge(m),
            E::NotADocument => Self::UnsupportedMediaType(m),
            E::Target(t) => t.into(),
            E::Database(d) => d.into(),
        }
    }
}

impl From<DestinationError> for AppError {
    fn from(e: DestinationError) -> Self {
        use DestinationError as E;
        let m = e.to_string();
        match e {
            E::NotFound(_) => Self::NotFound(m),
            E::Invalid(m) => Self::Unprocessable(m),
            E::NotAWebhook(_) | E::Disabled { .. } | E::Recovering { .. } => Self::Conflict(m),
            E::Target(t) => t.into(),
            E::Database(d) => d.into(),
        }
    }
}

impl From<AccountError> for AppError {
    fn from(e: AccountError) -> Self {
        use AccountError as E;
        let m = e.to_string();
        match e {
            E::Gone => Self::Unauthorized,
            E::BadQuery(_) => Self::BadRequest(m),
            E::KeyNotFound(_) | E::NoSuchAccount(_) => Self::NotFound(m),
            E::LastKey(_) | E::OwnKey(_) | E::NameTaken(_) => Self::Conflict(m),
            E::NegativeCredits | E::Invalid(_) => Self::Unprocessable(m),
            E::Database(d) => d.into(),
        }
    }
}

impl From<DeliveryError> for AppError {
    fn from(e: DeliveryError) -> Self {
        use DeliveryError as E;
        let m = e.to_string();
        match e {
            E::NotFound(_) => Self::NotFound(m),
            E::BadQuery(_) => Self::BadRequest(m),
            E::NotFailed { .. } => Self::Conflict(m),
            E::Database(d) => d.into(),
            E::Storage(s) => s.into(),
        }
    }
}

impl From<JobError> for AppError {
    fn from(e: JobError) -> Self {
        use JobError as E;
        let m = e.to_string();
        match e {
            E::NotFound(_) | E::FileNotFound { .. } => Self::NotFound(m),
            E::NoSuchPage { .. } | E::PageUnreadable { .. } => Self::NotFound(m),
            E::Purged(_) | E::UploadGone(_) | E::Deleted(_) | E::FileDeleted { .. } => {
                Self::Gone(m)
            }
            E::Running { .. } | E::NotReviewable(_) | E::NotDeleted(_) | E::Locked { .. } => {
                Self::Conflict(m)
            }
            E::InvalidValue { .. } | E::Rejected(_) => Self::Unprocessable(m),
            E::BadQuery(_) | E::EmptyDocument => Self::BadRequest(m),
            E::Busy { .. } => Self::TooManyRequests {
                message: m,
                retry_after: ADMISSION_RETRY_AFTER,
            },
            E::LowOnSpace => Self::Unavailable {
                message: m.clone(),
                retry_after: LOW_SPACE_RETRY_AFTER,
                cause: m,
            },
            E::TooLarge { .. } => Self::PayloadTooLarge(m),
            E::NotADocument => Self::UnsupportedMediaType(m),
            E::Template(t) => t.into(),
            E::Database(d) => d.into(),
            E::Storage(s) => s.into(),
            E::Delivery(d) => d.into(),
            E::LeaseLost(_) | E::Unexpected(_) => Self::internal(&e),
        }
    }
}

impl AppError {
    /// Seconds the client should wait before sending the request again, when waiting helps.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after, .. } | Self::Unavailable { retry_after, .. } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Gone(_) => StatusCode::GONE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => tracing::error!(error.cause_chain = %cause, "request failed"),
            Self::Unavailable { cause, .. } => {
                tracing::warn!(error.cause_chain = %cause, "request refused: a dependency is unavailable")
            }
            _ => {}
        }
        let mut resp = HttpResponse::build(self.status_code());
        if let Some(wait) = self.retry_after() {
            resp.insert_header((RETRY_AFTER, wait.to_string()));
        }
        resp.json(json!({
            "error": self.code(),
            "message": self.to_string(),
        }))
    }
}

/// Answers unknown paths, and known paths asked with another method, in the same JSON error shape.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let Some(mut methods) = super::openapi::methods_of(req.path()) else {
        return Err(AppError::NotFound("no such endpoint".into()));
    };
    methods.sort_unstable();
    methods.dedup();
    let e = AppError::MethodNotAllowed(format!(
        "{} is not allowed on {}; use {}",
        req.method(),
        req.path(),
        methods.join(", ")
    ));
    let mut resp = e.error_response();
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&methods.join(", ")) {
        resp.headers_mut().insert(actix_web::http::header::ALLOW, v);
    }
    Ok(resp)
}
