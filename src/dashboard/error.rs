//! How a dashboard request fails: signed out → the login page; a form without
//! its CSRF token → 403; a service error → a page with the API's status code.

use actix_web::http::header::{ContentType, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::api::AppError;

#[derive(Debug, thiserror::Error)]
pub enum DashError {
    #[error("sign in to continue")]
    SignedOut,
    #[error(
        "the form has expired or did not come from this dashboard; reload the page and try again"
    )]
    Csrf,
    /// What the API would answer, shown as a page with the same status.
    #[error("{0}")]
    App(#[from] AppError),
}

/// Every stage's error reaches a page the way it reaches the API.
macro_rules! through_the_api {
    ($($error:ty),+) => {
        $(impl From<$error> for DashError {
            fn from(e: $error) -> Self {
                Self::App(e.into())
            }
        })+
    };
}

through_the_api!(
    crate::accounts::AccountError,
    crate::db::DbError,
    crate::delivery::DeliveryError,
    crate::destinations::DestinationError,
    crate::jobs::JobError,
    crate::json_input::InputError,
    crate::templates::TemplateError
);

impl From<askama::Error> for DashError {
    fn from(e: askama::Error) -> Self {
        Self::App(AppError::Internal(format!("rendering a page: {e}")))
    }
}

#[derive(Template)]
#[template(path = "dashboard/error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: String,
}

impl ResponseError for DashError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignedOut => StatusCode::SEE_OTHER,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::App(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::SignedOut = self {
            return HttpResponse::SeeOther()
                .insert_header((LOCATION, "/dashboard/login"))
                .finish();
        }
        match self {
            Self::App(AppError::Internal(cause)) => {
                tracing::error!(error.cause_chain = %cause, "dashboard request failed")
            }
            Self::App(AppError::Unavailable { cause, .. }) => {
                tracing::warn!(error.cause_chain = %cause, "dashboard request refused: a dependency is unavailable")
            }
            _ => {}
        }
        let status = self.status_code();
        let page = ErrorPage {
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error"),
            message: self.to_string(),
        };
        let mut resp = HttpResponse::build(status);
        if let Some(wait) = match self {
            Self::App(e) => e.retry_after(),
            _ => None,
        } {
            resp.insert_header((actix_web::http::header::RETRY_AFTER, wait.to_string()));
        }
        resp.content_type(ContentType::html())
            .body(page.render().unwrap_or_else(|_| self.to_string()))
    }
}
