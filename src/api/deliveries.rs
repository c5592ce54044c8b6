//! Deliveries: listing (dead letters with `status=failed`), attempts and replay.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use utoipa::IntoParams;

use super::auth::Account;
use super::schemas::{Attempt, Delivery, ErrorBody, Retried};
use crate::db;
use crate::db::rfc3339;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `pending`, `succeeded` or `failed` (dead letters).
    #[param(pattern = "^(pending|succeeded|failed)$")]
    status: Option<String>,
    job_id: Option<String>,
    destination_id: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u64>,
}

fn view(d: &db::entities::deliveries::Model) -> serde_json::Value {
    json!({
        "id": d.id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "job_id": d.job_id,
        "file_id": d.file_id,
        "template_id": d.template_id,
        "destination_id": d.destination_id,
        "destination": if d.destination_id.is_some() { "destination" } else { "template_webhook" },
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": rfc3339(d.next_attempt_at),
        "last_error": d.last_error,
        "created_at": rfc3339(d.created_at),
        "succeeded_at": d.succeeded_at.map(rfc3339),
    })
}

/// Deliveries, newest first: `status=failed` lists the dead letters.
#[utoipa::path(get, path = "/v1/deliveries", operation_id = "list_deliveries", tag = "deliveries", security(("x-auth" = [])),
    params(ListQuery),
    responses((status = 200, body = Vec<Delivery>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    query: web::Query<ListQuery>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    if let Some(s) = &query.status {
        if ![
            db::deliveries::PENDING,
            db::deliveries::SUCCEEDED,
            db::deliveries::FAILED,
        ]
        .contains(&s.as_str())
        {
            return Err(AppError::BadRequest(
                "status must be pending, succeeded or failed".into(),
            ));
        }
    }
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::BadRequest("limit must be 1 to 1000".into()));
    }
    // No id holds a NUL character (and PostgreSQL refuses one in a query): such a filter matches nothing.
    let filters = [&query.job_id, &query.destination_id];
    if filters
        .iter()
        .any(|f| f.as_deref().is_some_and(|v| v.contains('\0')))
    {
        return Ok(HttpResponse::Ok().json(Vec::<Value>::new()));
    }
    let rows = db::deliveries::list(
        &state.db,
        &account.0,
        query.status.as_deref(),
        query.job_id.as_deref(),
        query.destination_id.as_deref(),
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(view).collect::<Vec<_>>()))
}

/// Every attempt of a delivery: time, status, latency, the start of the answer.
#[utoipa::path(get, path = "/v1/deliveries/{id}/attempts", operation_id = "delivery_attempts", tag = "deliveries", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Delivery id")),
    responses((status = 200, body = Vec<Attempt>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn attempts(
    id: web::Path<String>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let d = db::deliveries::get(&state.db, &account.0, &id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("delivery {id} not found")))?;
    let rows = db::deliveries::attempts_of(&state.db, &d.id).await?;
    Ok(HttpResponse::Ok().json(
        rows.iter()
            .map(|a| {
                json!({
                    "attempted_at": rfc3339(a.attempted_at),
                    "status_code": a.status_code,
                    "latency_ms": a.latency_ms,
                    "response_body": a.response_body,
                    "error": a.error,
                })
            })
            .collect::<Vec<_>>(),
    ))
}

/// Send a failed delivery again.
#[utoipa::path(post, path = "/v1/deliveries/{id}/retry", operation_id = "retry_delivery", tag = "deliveries", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Delivery id")),
    responses((status = 202, body = Retried), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The delivery has not failed", body = ErrorBody)))]
pub async fn retry(
    id: web::Path<String>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let d = db::deliveries::get(&state.db, &account.0, &id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("delivery {id} not found")))?;
    if !db::deliveries::requeue_failed(&state.db, &d.id).await? {
        return Err(AppError::Conflict(format!(
            "delivery {id} is {}, not failed",
            d.status
        )));
    }
    state.deliveries_ready.notify_one();
    Ok(HttpResponse::Accepted().json(json!({"id": d.id, "status": db::deliveries::PENDING})))
}
