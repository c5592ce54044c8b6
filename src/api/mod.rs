//! HTTP only: extract, parse, call a service, respond. The whole URL map is in [`configure`].

mod account;
mod auth;
mod body;
mod deliveries;
mod destinations;
mod error;
mod jobs;
mod lifecycle;
mod openapi;
pub mod schemas;
mod sign_in;
mod tasks;
mod templates;
mod uploads;

pub use auth::Account;
pub use body::read_limited;
pub use error::{path_id, AppError, AppResult};
pub use jobs::job_and_file;
pub use openapi::document as openapi_document;
pub use sign_in::{client_address, SignInGuard};

use actix_web::http::header::{AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{web, HttpRequest, HttpResponse};
use sea_orm::DatabaseConnection;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::accounts::Accounts;
use crate::config::{Limits, MetricsAccess};
use crate::delivery::Deliveries;
use crate::destinations::Destinations;
use crate::jobs::Jobs;
use crate::outbound::links::ResultLinks;
use crate::storage::BlobStore;
use crate::tasks::Tasks;
use crate::templates::Templates;

/// What the HTTP layer keeps for itself: the sign-in throttle, who may read
/// `/metrics`, and the request limits.
pub struct Gate {
    pub sign_ins: SignInGuard,
    pub metrics: MetricsAccess,
    pub limits: Limits,
}

/// Everything the handlers (of the API and the dashboard) are handed; each
/// handler takes only the pieces it uses.
#[derive(Clone)]
pub struct Http {
    pub db: web::Data<DatabaseConnection>,
    pub accounts: web::Data<Accounts>,
    pub templates: web::Data<Templates>,
    pub destinations: web::Data<Destinations>,
    pub jobs: web::Data<Jobs>,
    pub deliveries: web::Data<Deliveries>,
    pub tasks: web::Data<Tasks>,
    pub links: web::Data<ResultLinks>,
    pub blobs: web::Data<BlobStore>,
    pub gate: web::Data<Gate>,
}

impl Http {
    /// Hands every piece to the app as its own `web::Data`.
    pub fn register(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.db.clone())
            .app_data(self.accounts.clone())
            .app_data(self.templates.clone())
            .app_data(self.destinations.clone())
            .app_data(self.jobs.clone())
            .app_data(self.deliveries.clone())
            .app_data(self.tasks.clone())
            .app_data(self.links.clone())
            .app_data(self.blobs.clone())
            .app_data(self.gate.clone());
    }
}

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
                .route("/account", web::patch().to(account::update))
                .route("/account/ledger", web::get().to(account::ledger))
                .route("/audit-log", web::get().to(account::audit_log))
                .route("/keys", web::get().to(account::list_keys))
                .route("/keys", web::post().to(account::create_key))
                .route("/keys/{id}", web::delete().to(account::revoke_key))
                .route("/jobs", web::get().to(jobs::list))
                .route("/jobs/{job_id}", web::delete().to(lifecycle::delete_job))
                .route(
                    "/jobs/{job_id}/restore",
                    web::post().to(lifecycle::restore_job),
                )
                .route("/jobs/{job_id}/hold", web::post().to(lifecycle::hold))
                .route("/jobs/{job_id}/release", web::post().to(lifecycle::release))
                .route("/jobs/{job_id}/lock", web::post().to(lifecycle::lock))
                .route("/jobs/{job_id}/unlock", web::post().to(lifecycle::unlock))
                .route(
                    "/jobs/{job_id}/files/{file_id}",
                    web::delete().to(lifecycle::delete_file),
                )
                .route(
                    "/jobs/{job_id}/files/{file_id}/restore",
                    web::post().to(lifecycle::restore_file),
                )
                .route(
                    "/jobs/{job_id}/files/{file_id}/pages/{page}",
                    web::get().to(jobs::page),
                )
                .route("/templates", web::post().to(templates::create))
                .route("/templates", web::get().to(templates::list))
                .route("/templates/preview", web::post().to(templates::preview))
                .route("/templates/import", web::post().to(templates::import))
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
                .route("/tasks/{id}", web::get().to(tasks::get))
                .route("/result-links/{token}", web::get().to(jobs::linked_result))
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

/// Whether this process can serve: the database, the blob store and the
/// free space of its disk. Needs no key.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses(
        (status = 200, body = schemas::Health),
        (status = 503, description = "The database or the blob store cannot be reached, or the disk is under its free-space watermark", body = schemas::Health,
            headers(("Retry-After" = u64, description = "Seconds to wait before asking again"))),
    ))]
async fn healthz(
    db: web::Data<DatabaseConnection>,
    blobs: web::Data<BlobStore>,
    gate: web::Data<Gate>,
) -> HttpResponse {
    let database = match crate::db::ping(&db).await {
        Ok(()) => "ok",
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            "unreachable"
        }
    };
    let mut storage = match blobs.probe().await {
        Ok(()) => "ok",
        Err(e) => {
            tracing::error!(error = %e, "health check: blob store unreachable");
            "unreachable"
        }
    };
    let space = match blobs.space() {
        Some(Ok(space)) => Some(space),
        Some(Err(e)) => {
            tracing::error!(error = %e, "health check: the blob store's free space cannot be read");
            storage = "unreachable";
            None
        }
        None => None,
    };
    let watermark = space.map(|s| gate.limits.free_space_watermark(s.total));
    if let (Some(space), Some(watermark)) = (space, watermark) {
        if storage == "ok" && space.available < watermark {
            tracing::warn!(
                free = space.available,
                watermark,
                "health check: low on disk space"
            );
            storage = "low_on_space";
        }
    }
    let healthy = database == "ok" && storage == "ok";
    let body = schemas::Health {
        status: if healthy { "ok" } else { "unavailable" },
        database,
        storage,
        free_bytes: space.map(|s| s.available),
        min_free_bytes: watermark,
    };
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        let wait = if body.storage == "low_on_space" && body.database == "ok" {
            error::LOW_SPACE_RETRY_AFTER
        } else {
            error::UNAVAILABLE_RETRY_AFTER
        };
        HttpResponse::ServiceUnavailable()
            .insert_header((RETRY_AFTER, wait.to_string()))
            .json(body)
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
async fn metrics(
    req: HttpRequest,
    gate: web::Data<Gate>,
    deliveries: web::Data<Deliveries>,
) -> AppResult<HttpResponse> {
    if !metrics_allowed(&req, &gate.metrics) {
        let client = gate.sign_ins.client(&req);
        let refused = if req.headers().contains_key(AUTHORIZATION) {
            gate.sign_ins
                .wrong(client, "GET /metrics", "a wrong metrics token")
        } else {
            gate.sign_ins.missing(client, "GET /metrics")
        };
        if !matches!(refused, AppError::Unauthorized) {
            return Err(refused);
        }
        return Ok(HttpResponse::Unauthorized()
            .insert_header((WWW_AUTHENTICATE, "Bearer"))
            .json(json!({
                "error": "unauthorized",
                "message": "/metrics needs the operator's token (DOCPUSH_METRICS_TOKEN) as Authorization: Bearer <token>, or DOCPUSH_METRICS_PUBLIC=true",
            })));
    }
    let body = deliveries.metrics().await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
