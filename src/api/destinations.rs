//! Destination CRUD, secret rotation, Test Connection and bulk recovery.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::auth::Account;
use super::body::JsonBody;
use crate::db;
use crate::delivery::probe;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub async fn create(
    account: Account,
    JsonBody(v): JsonBody,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Created().json(state.create_destination(&account.0, &v).await?))
}

pub async fn list(account: Account, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.list_destinations(&account.0).await?))
}

pub async fn get(
    id: web::Path<String>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.get_destination(&account.0, &id).await?))
}

pub async fn update(
    id: web::Path<String>,
    account: Account,
    JsonBody(v): JsonBody,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.update_destination(&account.0, &id, &v).await?))
}

pub async fn delete(
    id: web::Path<String>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    state.delete_destination(&account.0, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn rotate_secret(
    id: web::Path<String>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.rotate_destination_secret(&account.0, &id).await?))
}

/// Test Connection for a saved destination.
pub async fn test(
    id: web::Path<String>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let (d, config) = state.destination_for(&account.0, &id).await?;
    state.check_destination_urls(&config).await?;
    Ok(HttpResponse::Ok().json(probe::test_destination(&state, Some(&d.id), &config).await))
}

/// Test Connection for a configuration not saved yet (same body as create).
pub async fn test_unsaved(
    account: Account,
    JsonBody(v): JsonBody,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let config = state.parse_unsaved_destination(&account.0, &v).await?;
    Ok(HttpResponse::Ok().json(probe::test_destination(&state, None, &config).await))
}

#[derive(Deserialize)]
pub struct RecoverQuery {
    since: Option<String>,
}

/// Re-sends every failed delivery of the destination created at or after `since`.
pub async fn recover(
    id: web::Path<String>,
    query: web::Query<RecoverQuery>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let (d, _) = state.destination_for(&account.0, &id).await?;
    let since = query.since.as_deref().ok_or_else(|| {
        AppError::BadRequest("the since query parameter (RFC 3339) is required".into())
    })?;
    let since = chrono::DateTime::parse_from_rfc3339(since)
        .map_err(|e| AppError::BadRequest(format!("since: not an RFC 3339 time: {e}")))?
        .timestamp_millis();
    if d.enabled == 0 {
        return Err(AppError::Conflict(format!(
            "destination {id} is disabled ({}); re-enable it with PUT first",
            d.disabled_reason.as_deref().unwrap_or("by the account")
        )));
    }
    let n = db::deliveries::requeue_failed_since(&state.db, &d.id, since).await?;
    state.deliveries_ready.notify_one();
    Ok(HttpResponse::Accepted().json(json!({"destination_id": d.id, "recovered": n})))
}
