//! The dashboard at `/dashboard`: server-rendered pages (askama templates in
//! `templates/dashboard/`) over the same services as the JSON API. Scripts and styles
//! are served from the binary; the Content-Security-Policy allows nothing else.

mod account;
mod deliveries;
mod destination_form;
mod destinations;
mod editor;
mod error;
mod form;
mod grid;
mod jobs;
mod lifecycle;
mod login;
mod review;
mod session;
mod templates;
mod webhook_form;

use actix_web::http::header::{self, ContentType};
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpResponse};
use askama::Template;

pub use error::DashError;
use session::Session;

pub type Page = Result<HttpResponse, DashError>;

/// Scripts, styles and images only from this server; no inline script or style;
/// no framing; forms post only here.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    let headers = DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CSP))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "same-origin"));
    cfg.service(
        web::scope("/dashboard")
            .wrap(headers)
            .route("", web::get().to(jobs::list))
            .route("/", web::get().to(jobs::list))
            .route("/static/{name}", web::get().to(asset))
            .route("/login", web::get().to(login::form))
            .route("/login", web::post().to(login::submit))
            .route("/logout", web::post().to(login::logout))
            .route("/jobs", web::get().to(jobs::list))
            .route("/jobs/{id}", web::get().to(jobs::show))
            .route("/jobs/{id}/lifecycle", web::post().to(lifecycle::action))
            .route(
                "/jobs/{id}/files/{file}/lifecycle",
                web::post().to(lifecycle::file_action),
            )
            .route("/audit", web::get().to(lifecycle::audit))
            .route("/jobs/{id}/results.{format}", web::get().to(jobs::results))
            .route(
                "/jobs/{id}/files/{file}/pages/{page}",
                web::get().to(jobs::page_image),
            )
            .route(
                "/jobs/{id}/files/{file}/review",
                web::post().to(review::review),
            )
            .route("/templates", web::get().to(templates::list))
            .route("/templates/new", web::get().to(templates::new))
            .route("/templates/new", web::post().to(templates::submit_new))
            .route("/templates/import", web::post().to(templates::import))
            .route("/templates/{id}", web::get().to(templates::show))
            .route("/templates/{id}", web::post().to(templates::submit))
            .route("/templates/{id}/delete", web::post().to(templates::delete))
            .route("/templates/{id}/rotate", web::post().to(templates::rotate))
            .route("/destinations", web::get().to(destinations::list))
            .route("/destinations/new", web::get().to(destinations::new))
            .route(
                "/destinations/new",
                web::post().to(destinations::submit_new),
            )
            .route("/destinations/{id}", web::get().to(destinations::show))
            .route("/destinations/{id}", web::post().to(destinations::submit))
            .route(
                "/destinations/{id}/{action}",
                web::post().to(destinations::action),
            )
            .route("/deliveries", web::get().to(deliveries::list))
            .route("/deliveries/{id}", web::get().to(deliveries::show))
            .route("/deliveries/{id}/retry", web::post().to(deliveries::retry))
            .route("/account", web::get().to(account::show))
            .route("/account/keys", web::post().to(account::create_key))
            .route("/account/settings", web::post().to(account::save_settings))
            .route(
                "/account/keys/{id}/revoke",
                web::post().to(account::revoke_key),
            )
            .default_service(web::to(not_found)),
    );
}

/// What the layout needs on every signed-in page.
pub struct Nav {
    pub csrf: String,
    pub active: &'static str,
}

impl Nav {
    fn new(session: &Session, active: &'static str) -> Self {
        Self {
            csrf: session.csrf.clone(),
            active,
        }
    }

    /// The colour of a status pill.
    pub fn class(&self, status: &str) -> &'static str {
        jobs::status_class(status)
    }

    /// The start of an id, enough to tell it apart in a list.
    pub fn short<'a>(&self, id: &'a str) -> &'a str {
        id.get(..8).unwrap_or(id)
    }
}

/// A page as HTML; never cached, since it shows an account's data.
fn html(t: &impl Template) -> Page {
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(t.render()?))
}

/// After a form: back to a page (303, so reloading does not post again).
fn see_other(location: &str) -> Page {
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish())
}

async fn not_found(_: Session) -> Page {
    Err(crate::api::AppError::NotFound("there is no such page".into()).into())
}

async fn asset(name: web::Path<String>) -> HttpResponse {
    let (body, content_type) = match name.as_str() {
        "dashboard.css" => (
            include_str!("../../templates/dashboard/static/dashboard.css"),
            "text/css; charset=utf-8",
        ),
        "dashboard.js" => (
            include_str!("../../templates/dashboard/static/dashboard.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(body)
}
