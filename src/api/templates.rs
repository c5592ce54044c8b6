//! Template CRUD and webhook secret rotation.

use actix_web::{web, HttpResponse};

use super::auth::Account;
use super::body::JsonBody;
use super::schemas::ErrorBody;
use crate::error::AppResult;
use crate::state::AppState;
use crate::templates::input::TemplateInput;
use crate::templates::service::TemplateView;

/// Create a template.
#[utoipa::path(post, path = "/v1/templates", operation_id = "create_template", tag = "templates", security(("x-auth" = [])),
    request_body = TemplateInput,
    responses(
        (status = 201, description = "Created; the webhook secret is shown this once", body = TemplateView),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, description = "Invalid template: the message names the field and the problem", body = ErrorBody),
    ))]
pub async fn create(
    account: Account,
    JsonBody(body): JsonBody<TemplateInput>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Created().json(state.create_template(&account.0, body).await?))
}

/// List the account's templates.
#[utoipa::path(get, path = "/v1/templates", operation_id = "list_templates", tag = "templates", security(("x-auth" = [])),
    responses((status = 200, body = Vec<TemplateView>), (status = 401, body = ErrorBody)))]
pub async fn list(account: Account, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.list_templates(&account.0).await?))
}

/// Read a template (header values masked, no secret).
#[utoipa::path(get, path = "/v1/templates/{id}", operation_id = "get_template", tag = "templates", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Template id")),
    responses((status = 200, body = TemplateView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    id: web::Path<String>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.get_template(&account.0, &id).await?))
}

/// Replace a template. Masked header values and a masked password keep the stored ones.
#[utoipa::path(put, path = "/v1/templates/{id}", operation_id = "update_template", tag = "templates", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Template id")),
    request_body = TemplateInput,
    responses(
        (status = 200, description = "Replaced; a secret made by this change is shown this once", body = TemplateView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
pub async fn update(
    id: web::Path<String>,
    account: Account,
    JsonBody(body): JsonBody<TemplateInput>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.update_template(&account.0, &id, body).await?))
}

/// Delete a template; jobs already submitted keep it.
#[utoipa::path(delete, path = "/v1/templates/{id}", operation_id = "delete_template", tag = "templates", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Template id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    id: web::Path<String>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    state.delete_template(&account.0, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new signing secret for the template's webhook, shown this once.
#[utoipa::path(post, path = "/v1/templates/{id}/webhook/rotate-secret", operation_id = "rotate_secret_template", tag = "templates", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Template id")),
    responses((status = 200, body = TemplateView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The template has no webhook", body = ErrorBody)))]
pub async fn rotate_secret(
    id: web::Path<String>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.rotate_webhook_secret(&account.0, &id).await?))
}
