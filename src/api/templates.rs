//! Template CRUD and webhook secret rotation.

use actix_web::{web, HttpResponse};

use super::auth::Account;
use super::body::JsonBody;
use super::schemas::ErrorBody;
use super::{path_id, AppError, AppResult, Gate};
use crate::delivery::probe::TestOutcome;
use crate::delivery::Deliveries;
use crate::templates::input::TemplateInput;
use crate::templates::preview::{Preview, PreviewTemplate};
use crate::templates::webhook_test::WebhookTest;
use crate::templates::{TemplateView, Templates};
use crate::types::{Origin, TemplateId};

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
    templates: web::Data<Templates>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Created().json(templates.create(&account.0, body, &account.actor()).await?))
}

/// Import an invoice2data template (YAML or JSON) as a docpush template.
#[utoipa::path(post, path = "/v1/templates/import", operation_id = "import_template", tag = "templates", security(("x-auth" = [])),
    request_body(content = String, description = "An invoice2data template", content_type = "application/yaml"),
    responses(
        (status = 201, description = "Imported; the template as stored", body = TemplateView),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, description = "Constructs with no counterpart, each named with its reason", body = ErrorBody),
    ))]
pub async fn import(
    account: Account,
    req: actix_web::HttpRequest,
    payload: web::Payload,
    gate: web::Data<Gate>,
    templates: web::Data<Templates>,
) -> AppResult<HttpResponse> {
    let limit = gate.limits.max_json_bytes;
    if super::body::declared_length(&req).is_some_and(|n| n > limit) {
        return Err(AppError::PayloadTooLarge(format!(
            "the request body is over the limit of {limit} bytes"
        )));
    }
    let body = super::body::read_limited(payload, limit).await?;
    if body.is_empty() {
        return Err(AppError::BadRequest(
            "the body must be an invoice2data template (YAML or JSON)".into(),
        ));
    }
    Ok(HttpResponse::Created().json(
        templates
            .import(&account.0, &body, &account.actor())
            .await?,
    ))
}

/// List the account's templates.
#[utoipa::path(get, path = "/v1/templates", operation_id = "list_templates", tag = "templates", security(("x-auth" = [])),
    responses((status = 200, body = Vec<TemplateView>), (status = 401, body = ErrorBody)))]
pub async fn list(account: Account, templates: web::Data<Templates>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(templates.list(&account.0).await?))
}

/// Read a template (header values masked, no secret).
#[utoipa::path(get, path = "/v1/templates/{id}", operation_id = "get_template", tag = "templates", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Template id")),
    responses((status = 200, body = TemplateView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    id: web::Path<String>,
    account: Account,
    templates: web::Data<Templates>,
) -> AppResult<HttpResponse> {
    let id: TemplateId = path_id(&id)?;
    Ok(HttpResponse::Ok().json(templates.get(&account.0, &id).await?))
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
    templates: web::Data<Templates>,
) -> AppResult<HttpResponse> {
    let id: TemplateId = path_id(&id)?;
    Ok(HttpResponse::Ok().json(
        templates
            .update(&account.0, &id, body, &account.actor())
            .await?,
    ))
}

/// Delete a template; jobs already submitted keep it.
#[utoipa::path(delete, path = "/v1/templates/{id}", operation_id = "delete_template", tag = "templates", security(("x-auth" = [])),
    params(("id" = String, Path, description = "Template id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    id: web::Path<String>,
    account: Account,
    templates: web::Data<Templates>,
) -> AppResult<HttpResponse> {
    let id: TemplateId = path_id(&id)?;
    templates.delete(&account.0, &id, &account.actor()).await?;
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
    templates: web::Data<Templates>,
) -> AppResult<HttpResponse> {
    let id: TemplateId = path_id(&id)?;
    Ok(HttpResponse::Ok().json(
        templates
            .rotate_webhook_secret(&account.0, &id, &account.actor())
            .await?,
    ))
}

/// The body of `POST /v1/templates/preview`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// The template's `fields` and `options` (saved or not).
    template: PreviewTemplate,
    /// One document (PDF or image) as base64 or a `data:` URL; empty is `400`.
    #[schema(format = Byte, min_length = 1)]
    actual_image: String,
}

/// Try a template on a document: values, confidences, warnings and each
/// value's box on its page. Charges the document's pages like a job.
#[utoipa::path(post, path = "/v1/templates/preview", operation_id = "preview_template", tag = "templates", security(("x-auth" = [])),
    request_body = PreviewRequest,
    responses(
        (status = 200, body = Preview),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, description = "Not enough credits for the document's pages", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, description = "Not a PDF or image", body = ErrorBody),
        (status = 422, description = "Invalid template, or an unreadable document", body = ErrorBody),
    ))]
pub async fn preview(
    req: actix_web::HttpRequest,
    payload: web::Payload,
    account: Account,
    gate: web::Data<Gate>,
    templates: web::Data<Templates>,
) -> AppResult<HttpResponse> {
    let limit = gate.limits.max_upload_bytes;
    let body_limit = (limit / 3 + 1) * 4 + gate.limits.max_json_bytes;
    if super::body::declared_length(&req).is_some_and(|n| n > body_limit) {
        return Err(AppError::PayloadTooLarge(format!(
            "the request body is over the limit of {body_limit} bytes (documents up to {limit} bytes)"
        )));
    }
    let body = super::body::read_limited(payload, body_limit).await?;
    let body: PreviewRequest = crate::json_input::parse(&body)?;
    let bytes = super::uploads::decode_base64(&body.actual_image, limit)?;
    drop(body.actual_image);
    Ok(HttpResponse::Ok().json(templates.preview(&account.0, body.template, bytes).await?))
}

/// Test Connection for a template's webhook before (or after) saving it:
/// checks the URL, connects, and sends one signed `destination.test` event with
/// sample values for the template's fields.
#[utoipa::path(post, path = "/v1/templates/webhook/test", operation_id = "test_template_webhook", tag = "templates", security(("x-auth" = [])),
    request_body = WebhookTest,
    responses(
        (status = 200, description = "What the test saw (a refused delivery is `ok: false`, not an error)", body = TestOutcome),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
pub async fn test_webhook(
    account: Account,
    JsonBody(body): JsonBody<WebhookTest>,
    templates: web::Data<Templates>,
    deliveries: web::Data<Deliveries>,
) -> AppResult<HttpResponse> {
    let probe = templates.webhook_probe(&account.0, body).await?;
    let outcome = deliveries
        .test_template_webhook(
            &probe.config,
            probe.template_id.as_ref(),
            probe.sample,
            Origin::Api,
        )
        .await;
    Ok(HttpResponse::Ok().json(outcome))
}
