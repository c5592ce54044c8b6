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
    /// A dependency failed or a bug: the cause is logged, the client told nothing.
    #[error("internal error")]
    Internal(String),
}

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
            Self::Internal(_) => "internal_error",
        }
    }

    /// A failure that is not the caller's: its whole cause chain, for the log.
    fn internal(e: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            chain.push_str(": ");
            chain.push_str(&c.to_string());
            cause = c.source();
        }
        Self::Internal(chain)
    }
}

impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Internal(cause) => write!(f, "internal error: {cause}"),
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
        Self::internal(&e)
    }
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        Self::internal(&e)
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
            E::Stale { .. } | E::EmptyDocument => Self::Unprocessable(m),
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
            E::NotAWebhook(_) | E::Disabled { .. } => Self::Conflict(m),
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
            E::NegativeCredits => Self::Unprocessable(m),
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
            E::Purged(_) | E::UploadGone(_) => Self::Gone(m),
            E::Running { .. } | E::NotReviewable(_) => Self::Conflict(m),
            E::InvalidValue { .. } | E::Rejected(_) => Self::Unprocessable(m),
            E::BadQuery(_) => Self::BadRequest(m),
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
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            tracing::error!(error.cause_chain = %cause, "request failed");
        }
        let mut resp = HttpResponse::build(self.status_code());
        if let Self::TooManyRequests { retry_after, .. } = self {
            resp.insert_header((RETRY_AFTER, retry_after.to_string()));
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
