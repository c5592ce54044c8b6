//! How a dashboard request fails: signed out → the login page; a form without
//! its CSRF token → 403; a service error → a page with the API's status code.

use actix_web::http::header::{ContentType, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::error::AppError;

#[derive(Debug, thiserror::Error)]
pub enum DashError {
    #[error("sign in to continue")]
    SignedOut,
    #[error(
        "the form has expired or did not come from this dashboard; reload the page and try again"
    )]
    Csrf,
    #[error("{0}")]
    App(#[from] AppError),
}

impl From<sea_orm::DbErr> for DashError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::App(e.into())
    }
}

impl From<askama::Error> for DashError {
    fn from(e: askama::Error) -> Self {
        Self::App(AppError::Internal(
            anyhow::Error::new(e).context("rendering a page"),
        ))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
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
        if let Self::App(AppError::Internal(e)) = self {
            tracing::error!(error.cause_chain = ?e, "dashboard request failed");
        }
        let status = self.status_code();
        let page = ErrorPage {
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error"),
            message: self.to_string(),
        };
        HttpResponse::build(status)
            .content_type(ContentType::html())
            .body(page.render().unwrap_or_else(|_| self.to_string()))
    }
}
