//! `AppError` → status code and `{"error", "message"}` body.

use actix_web::http::header::RETRY_AFTER;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::error::AppError;

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
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
        if let Self::Internal(e) = self {
            tracing::error!(error.cause_chain = ?e, "request failed");
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

/// Answers unknown paths with the same JSON error shape.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound("no such endpoint".into()))
}
