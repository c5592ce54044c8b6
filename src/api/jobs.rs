//! Job status and results.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

use super::auth::Account;
use super::body::JsonBody;
use crate::error::{AppError, AppResult};
use crate::jobs::service::{ResultFormat, Results};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct StatusQuery {
    job_id: Option<String>,
}

pub async fn job_status(
    query: web::Query<StatusQuery>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let job_id = query
        .job_id
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| AppError::BadRequest("the job_id query parameter is required".into()))?;
    Ok(HttpResponse::Ok().json(state.job_status(&account.0, job_id.trim()).await?))
}

pub async fn job_results(
    account: Account,
    JsonBody(v): JsonBody,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let job_id = v
        .get("job_id")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| AppError::BadRequest("job_id is required".into()))?;
    let format = match v
        .get("result_format")
        .and_then(Value::as_str)
        .unwrap_or("json")
    {
        "json" => ResultFormat::Json,
        "csv" => ResultFormat::Csv,
        other => {
            return Err(AppError::BadRequest(format!(
                "result_format must be \"json\" or \"csv\", not {other:?}"
            )))
        }
    };
    Ok(
        match state.job_results(&account.0, job_id.trim(), format).await? {
            Results::Json(v) => HttpResponse::Ok().json(v),
            Results::Csv(text) => HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .body(text),
        },
    )
}

pub async fn edit_result(
    path: web::Path<(String, String)>,
    account: Account,
    JsonBody(v): JsonBody,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let (job_id, file_id) = path.into_inner();
    Ok(HttpResponse::Ok().json(state.edit_result(&account.0, &job_id, &file_id, &v).await?))
}

pub async fn confirm_result(
    path: web::Path<(String, String)>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let (job_id, file_id) = path.into_inner();
    Ok(HttpResponse::Ok().json(state.confirm_result(&account.0, &job_id, &file_id).await?))
}
