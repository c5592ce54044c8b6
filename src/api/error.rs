//! `AppError` → status code and `{"error", "message"}` body.

use actix_web::http::header::RETRY_AFTER;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

use crate::error::AppError;

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
