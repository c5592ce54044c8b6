//! Deliveries: listing (dead letters with `status=failed`), attempts and replay.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Account;
use super::schemas::{ErrorBody, Retried};
use super::{path_id, AppResult};
use crate::delivery::listing::{Attempt, Delivery};
use crate::delivery::{Deliveries, DeliveryQuery};
use crate::types::{DeliveryId, DeliveryStatus};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `pending`, `succeeded` or `failed` (dead letters).
    #[param(pattern = "^(pending|succeeded|failed)$")]
    status: Option<String>,
    job_id: Option<String>,
    destination_id: Option<String>,
    template_id: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u64>,
}

/// Deliveries, newest first: `status=failed` lists the dead letters.
#[utoipa::path(get, path = "/v1/deliveries", operation_id = "list_deliveries", tag = "deliveries", security(("x-auth" = [])),
    params(ListQuery),
    responses((status = 200, body = Vec<Delivery>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    query: web::Query<ListQuery>,
    account: Account,
    deliveries: web::Data<Deliveries>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let q = DeliveryQuery {
        status: q.status,
        job_id: q.job_id,
        destination_id: q.destination_id,
        template_id: q.template_id,
        limit: q.limit,
    };
    Ok(HttpResponse::Ok().json(deliveries.list(&account.0, &q).await?))
}

/// Every attempt of a delivery: time, status, latency, the start of the answer.
#[utoipa::path(get, path = "/v1/deliveries/{id}/attempts", operation_id = "delivery_attempts", tag = "deliveries", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Delivery id")),
    responses((status = 200, body = Vec<Attempt>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn attempts(
    id: web::Path<String>,
    account: Account,
    deliveries: web::Data<Deliveries>,
) -> AppResult<HttpResponse> {
    let id: DeliveryId = path_id(&id)?;
    let (_, attempts) = deliveries.with_attempts(&account.0, &id).await?;
    Ok(HttpResponse::Ok().json(attempts))
}

/// Send a failed delivery again.
#[utoipa::path(post, path = "/v1/deliveries/{id}/retry", operation_id = "retry_delivery", tag = "deliveries", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Delivery id")),
    responses((status = 202, body = Retried), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The delivery has not failed", body = ErrorBody)))]
pub async fn retry(
    id: web::Path<String>,
    account: Account,
    deliveries: web::Data<Deliveries>,
) -> AppResult<HttpResponse> {
    let id: DeliveryId = path_id(&id)?;
    let id = deliveries.retry(&account.0, &id).await?;
    Ok(HttpResponse::Accepted().json(Retried {
        id,
        status: DeliveryStatus::Pending,
    }))
}
