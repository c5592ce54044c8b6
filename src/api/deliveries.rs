//! Deliveries: listing (dead letters with `status=failed`), attempts and replay.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::auth::Account;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::templates::service::rfc3339;

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    job_id: Option<String>,
    destination_id: Option<String>,
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
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
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
