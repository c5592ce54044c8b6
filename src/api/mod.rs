//! HTTP only: extract, parse, call a service, respond. The whole URL map is in [`configure`].

mod account;
mod auth;
mod body;
mod deliveries;
mod destinations;
mod error;
mod jobs;
mod openapi;
pub mod schemas;
mod sign_in;
mod templates;
mod uploads;

pub use account::{KeyView, LedgerPage, LedgerQuery};
pub use body::read_limited;
pub use openapi::document as openapi_document;
pub use sign_in::{client_address, SignInGuard};

use actix_web::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::config::MetricsAccess;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Swagger UI would otherwise send the document's address to swagger.io's
    // online validator from every host but localhost: the page stays offline.
    let docs = utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
        .external_url_unchecked("/openapi.json", openapi::document())
        .config(utoipa_swagger_ui::Config::default().validator_url("none"));
    cfg.service(docs)
        .route(
            "/docs",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header((actix_web::http::header::LOCATION, "/docs/"))
                    .finish()
            }),
        )
        .route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics))
        .route("/process-job", web::post().to(uploads::process_job))
        .route("/job-status", web::get().to(jobs::job_status))
        .route("/job-results", web::post().to(jobs::job_results))
        .service(
            web::scope("/v1")
                .route("/process-job", web::post().to(uploads::process_job))
                .route("/job-status", web::get().to(jobs::job_status))
                .route("/job-results", web::post().to(jobs::job_results))
                .route("/account", web::get().to(account::get))
                .route("/account/ledger", web::get().to(account::ledger))
                .route("/keys", web::get().to(account::list_keys))
                .route("/keys", web::post().to(account::create_key))
                .route("/keys/{id}", web::delete().to(account::revoke_key))
                .route("/jobs", web::get().to(jobs::list))
                .route(
                    "/jobs/{job_id}/files/{file_id}/pages/{page}",
                    web::get().to(jobs::page),
                )
                .route("/templates", web::post().to(templates::create))
                .route("/templates", web::get().to(templates::list))
                .route("/templates/preview", web::post().to(templates::preview))
                .route(
                    "/templates/webhook/test",
                    web::post().to(templates::test_webhook),
                )
                .route("/templates/{id}", web::get().to(templates::get))
                .route("/templates/{id}", web::put().to(templates::update))
                .route("/templates/{id}", web::delete().to(templates::delete))
                .route(
                    "/templates/{id}/webhook/rotate-secret",
                    web::post().to(templates::rotate_secret),
                )
                .route("/deliveries", web::get().to(deliveries::list))
                .route(
                    "/deliveries/{id}/attempts",
                    web::get().to(deliveries::attempts),
                )
                .route("/deliveries/{id}/retry", web::post().to(deliveries::retry))
                .route("/destinations", web::post().to(destinations::create))
                .route("/destinations", web::get().to(destinations::list))
                .route(
                    "/destinations/test",
                    web::post().to(destinations::test_unsaved),
                )
                .route("/destinations/{id}", web::get().to(destinations::get))
                .route("/destinations/{id}", web::put().to(destinations::update))
                .route("/destinations/{id}", web::delete().to(destinations::delete))
                .route(
                    "/destinations/{id}/test",
                    web::post().to(destinations::test),
                )
                .route(
                    "/destinations/{id}/recover",
                    web::post().to(destinations::recover),
                )
                .route(
                    "/destinations/{id}/rotate-secret",
                    web::post().to(destinations::rotate_secret),
                )
                .route(
                    "/jobs/{job_id}/files/{file_id}/result",
                    web::patch().to(jobs::edit_result),
                )
                .route(
                    "/jobs/{job_id}/files/{file_id}/confirm",
                    web::post().to(jobs::confirm_result),
                ),
        )
        .default_service(web::to(error::not_found));
}

/// Query-string errors in the same JSON shape as every other error.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|e, _| AppError::BadRequest(e.to_string()).into())
}

/// A path segment that does not parse (a page number that is no number) names nothing: 404, as JSON.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|e, _| AppError::NotFound(format!("no such resource: {e}")).into())
}

/// Liveness and database reachability; needs no key.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = schemas::Health), (status = 503, description = "The database cannot be reached", body = schemas::Health)))]
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match state.db.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ok"})),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "unavailable", "database": "unreachable"}))
        }
    }
}

/// Whether the request may read `/metrics`: it shows every account's totals,
/// so it needs the operator's token unless the operator made it public.
fn metrics_allowed(req: &HttpRequest, access: &MetricsAccess) -> bool {
    if access.public {
        return true;
    }
    let Some(token) = &access.token else {
        return false;
    };
    let sent = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Digests of equal length compare without revealing how much of the token matched.
    Sha256::digest(sent.trim().as_bytes()) == Sha256::digest(token.expose().as_bytes())
}

/// Prometheus text; it shows every account's totals, so it needs the operator's metrics token unless made public.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(("metrics-token" = [])),
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 401, body = schemas::ErrorBody),
        (status = 429, body = schemas::ErrorBody),
    ))]
async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let client = sign_in::client_address(&req, &state.settings.sign_in.trusted_proxies);
    state.sign_ins.admit(client)?;
    if !metrics_allowed(&req, &state.settings.metrics) {
        let why = "a missing or wrong metrics token";
        state.sign_ins.refused(client, "GET /metrics", why);
        return Ok(HttpResponse::Unauthorized()
            .insert_header((WWW_AUTHENTICATE, "Bearer"))
            .json(json!({
                "error": "unauthorized",
                "message": "/metrics needs the operator's token (DOCPUSH_METRICS_TOKEN) as Authorization: Bearer <token>, or DOCPUSH_METRICS_PUBLIC=true",
            })));
    }
    let body = crate::delivery::metrics::render(&state.db).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
