//! Template CRUD and webhook secret rotation.

use actix_web::{web, HttpResponse};

use super::auth::Account;
use super::body::JsonBody;
use crate::error::AppResult;
use crate::state::AppState;

pub async fn create(
    account: Account,
    JsonBody(v): JsonBody,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Created().json(state.create_template(&account.0, &v).await?))
}

pub async fn list(account: Account, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.list_templates(&account.0).await?))
}

pub async fn get(
    id: web::Path<String>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.get_template(&account.0, &id).await?))
}

pub async fn update(
    id: web::Path<String>,
    account: Account,
    JsonBody(v): JsonBody,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.update_template(&account.0, &id, &v).await?))
}

pub async fn delete(
    id: web::Path<String>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    state.delete_template(&account.0, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn rotate_secret(
    id: web::Path<String>,
    account: Account,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.rotate_webhook_secret(&account.0, &id).await?))
}
