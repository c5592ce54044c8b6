//! Destination CRUD, secret rotation, Test Connection and bulk recovery.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use utoipa::{IntoParams, ToSchema};

use super::auth::Account;
use super::body::JsonBody;
use super::schemas::ErrorBody;
use super::{path_id, AppError, AppResult};
use crate::delivery::probe::TestOutcome;
use crate::delivery::Deliveries;
use crate::destinations::input::DestinationInput;
use crate::destinations::{DestinationView, Destinations};
use crate::tasks::TaskView;
use crate::types::{DestinationId, Origin};

/// Create a destination: a webhook, an SQS queue or an S3 bucket.
#[utoipa::path(post, path = "/v1/destinations", operation_id = "create_destination", tag = "destinations", security(("x-auth" = [])),
    request_body = DestinationInput,
    responses(
        (status = 201, description = "Created; a webhook's secret is shown this once", body = DestinationView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, description = "Invalid destination, the message names the member", body = ErrorBody),
    ))]
pub async fn create(
    account: Account,
    JsonBody(body): JsonBody<DestinationInput>,
    destinations: web::Data<Destinations>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Created().json(
        destinations
            .create(&account.0, body, &account.actor())
            .await?,
    ))
}

/// List the account's destinations.
#[utoipa::path(get, path = "/v1/destinations", operation_id = "list_destinations", tag = "destinations", security(("x-auth" = [])),
    responses((status = 200, body = Vec<DestinationView>), (status = 401, body = ErrorBody)))]
pub async fn list(
    account: Account,
    destinations: web::Data<Destinations>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(destinations.list(&account.0).await?))
}

/// Read a destination (secrets masked).
#[utoipa::path(get, path = "/v1/destinations/{id}", operation_id = "get_destination", tag = "destinations", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Destination id")),
    responses((status = 200, body = DestinationView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    id: web::Path<String>,
    account: Account,
    destinations: web::Data<Destinations>,
) -> AppResult<HttpResponse> {
    let id: DestinationId = path_id(&id)?;
    Ok(HttpResponse::Ok().json(destinations.get(&account.0, &id).await?))
}

/// Replace a destination; masked secrets keep their stored values, and `enabled: true` (or omitting it) re-enables it.
#[utoipa::path(put, path = "/v1/destinations/{id}", operation_id = "update_destination", tag = "destinations", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Destination id")),
    request_body = DestinationInput,
    responses((status = 200, body = DestinationView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    id: web::Path<String>,
    account: Account,
    JsonBody(body): JsonBody<DestinationInput>,
    destinations: web::Data<Destinations>,
) -> AppResult<HttpResponse> {
    let id: DestinationId = path_id(&id)?;
    Ok(HttpResponse::Ok().json(
        destinations
            .update(&account.0, &id, body, &account.actor())
            .await?,
    ))
}

/// Delete a destination; its pending deliveries end.
#[utoipa::path(delete, path = "/v1/destinations/{id}", operation_id = "delete_destination", tag = "destinations", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Destination id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    id: web::Path<String>,
    account: Account,
    destinations: web::Data<Destinations>,
) -> AppResult<HttpResponse> {
    let id: DestinationId = path_id(&id)?;
    destinations
        .delete(&account.0, &id, &account.actor())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new webhook secret; the old one keeps signing beside it for the grace period.
#[utoipa::path(post, path = "/v1/destinations/{id}/rotate-secret", operation_id = "rotate_secret_destination", tag = "destinations", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Destination id")),
    responses((status = 200, body = DestinationView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Not a webhook", body = ErrorBody)))]
pub async fn rotate_secret(
    id: web::Path<String>,
    account: Account,
    destinations: web::Data<Destinations>,
) -> AppResult<HttpResponse> {
    let id: DestinationId = path_id(&id)?;
    Ok(HttpResponse::Ok().json(
        destinations
            .rotate_secret(&account.0, &id, &account.actor())
            .await?,
    ))
}

/// Test Connection for a saved destination: sends a signed `destination.test` event.
#[utoipa::path(post, path = "/v1/destinations/{id}/test", operation_id = "test_destination", tag = "destinations", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Destination id")),
    responses((status = 200, description = "What happened, whether or not it worked", body = TestOutcome),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn test(
    id: web::Path<String>,
    account: Account,
    destinations: web::Data<Destinations>,
    deliveries: web::Data<Deliveries>,
) -> AppResult<HttpResponse> {
    let id: DestinationId = path_id(&id)?;
    let config = destinations.opened(&account.0, &id).await?;
    Ok(HttpResponse::Ok().json(
        deliveries
            .test_destination(Some(&id), &config, Origin::Api)
            .await,
    ))
}

/// Test Connection for a configuration not saved yet (the body of create; `events` may be left out).
#[utoipa::path(post, path = "/v1/destinations/test", operation_id = "test_unsaved_destination", tag = "destinations", security(("x-auth" = [])),
    request_body = DestinationInput,
    responses((status = 200, description = "What happened, whether or not it worked", body = TestOutcome),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn test_unsaved(
    account: Account,
    JsonBody(body): JsonBody<DestinationInput>,
    destinations: web::Data<Destinations>,
    deliveries: web::Data<Deliveries>,
) -> AppResult<HttpResponse> {
    let config = destinations.parse_unsaved(&account.0, body).await?;
    Ok(HttpResponse::Ok().json(
        deliveries
            .test_destination(None, &config, Origin::Api)
            .await,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecoverQuery {
    /// RFC 3339, for clients that send no body: the body's `since`.
    #[param(value_type = Option<String>, format = DateTime, example = "2026-11-30T00:00:00Z")]
    since: Option<String>,
}

/// The window of failed deliveries to send again.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverInput {
    /// RFC 3339: failed deliveries created at or after this time. Required,
    /// here or as the `since` query parameter.
    #[serde(default)]
    #[schema(format = DateTime, example = "2026-11-30T00:00:00Z")]
    since: Option<String>,
    /// RFC 3339: and before this time (default: now and later).
    #[serde(default)]
    #[schema(format = DateTime, example = "2026-12-01T00:00:00Z")]
    until: Option<String>,
}

fn instant(member: &str, v: &str) -> AppResult<i64> {
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| t.timestamp_millis())
        .map_err(|e| AppError::BadRequest(format!("{member}: not an RFC 3339 time: {e}")))
}

/// Send again every failed delivery of the destination created in a window, as a background task.
#[utoipa::path(post, path = "/v1/destinations/{id}/recover", operation_id = "recover_destination", tag = "destinations", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Destination id"), RecoverQuery),
    request_body(content = Option<RecoverInput>, description = "The window; `since` may instead be a query parameter"),
    responses((status = 202, description = "The task, to follow at `GET /v1/tasks/{task_id}`", body = TaskView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "The destination is disabled, or a recovery of it has not ended", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn recover(
    id: web::Path<String>,
    query: web::Query<RecoverQuery>,
    body: web::Bytes,
    account: Account,
    destinations: web::Data<Destinations>,
) -> AppResult<HttpResponse> {
    let input: RecoverInput = match body.iter().all(u8::is_ascii_whitespace) {
        true => RecoverInput {
            since: None,
            until: None,
        },
        false => crate::json_input::parse(&body)?,
    };
    let since = input.since.or(query.into_inner().since).ok_or_else(|| {
        AppError::Unprocessable(
            "since: required, an RFC 3339 time (in the body or the query)".into(),
        )
    })?;
    let until = input
        .until
        .as_deref()
        .map(|u| instant("until", u))
        .transpose()?;
    let since = instant("since", &since)?;
    let id: DestinationId = path_id(&id)?;
    let task = destinations.recover(&account.0, &id, since, until).await?;
    Ok(HttpResponse::Accepted().json(task))
}
