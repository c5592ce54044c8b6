//! HTTP only: extract, parse, call a service, respond. The whole URL map is in [`configure`].

mod auth;
mod deliveries;
mod destinations;
mod error;
mod jobs;
mod templates;
mod uploads;

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use crate::db;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics))
        .route("/process-job", web::post().to(uploads::process_job))
        .route("/job-status", web::get().to(jobs::job_status))
        .route("/job-results", web::post().to(jobs::job_results))
        .service(
            web::scope("/v1")
                .route("/process-job", web::post().to(uploads::process_job))
                .route("/job-status", web::get().to(jobs::job_status))
                .route("/job-results", web::post().to(jobs::job_results))
                .route("/account", web::get().to(account))
                .route("/templates", web::post().to(templates::create))
                .route("/templates", web::get().to(templates::list))
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

/// Query-string and path errors in the same JSON shape as every other error.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|e, _| AppError::BadRequest(e.to_string()).into())
}

/// Parses a JSON request body; malformed JSON is a 400.
fn json_body(body: &[u8]) -> AppResult<Value> {
    serde_json::from_slice(body)
        .map_err(|e| AppError::BadRequest(format!("the body is not valid JSON: {e}")))
}

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

async fn metrics(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let body = crate::delivery::metrics::render(&state.db).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}

async fn account(account: auth::Account, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let a = db::accounts::get(&state.db, &account.0)
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok(HttpResponse::Ok().json(json!({"id": a.id, "name": a.name, "credits": a.credits})))
}
