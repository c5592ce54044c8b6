//! Background tasks, followed by id.

use actix_web::{web, HttpResponse};

use super::auth::Account;
use super::schemas::ErrorBody;
use super::{path_id, AppError, AppResult};
use crate::tasks::{TaskView, Tasks};
use crate::types::TaskId;

/// Where a background task stands (e.g. a destination's `recover`).
#[utoipa::path(get, path = "/v1/tasks/{id}", operation_id = "get_task", tag = "destinations", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Task id")),
    responses((status = 200, body = TaskView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    id: web::Path<String>,
    account: Account,
    tasks: web::Data<Tasks>,
) -> AppResult<HttpResponse> {
    let id: TaskId = path_id(&id)?;
    let task = tasks
        .get(&account.0, &id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("task {id} not found")))?;
    Ok(HttpResponse::Ok().json(task))
}
