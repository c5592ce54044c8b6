//! Job status and results, and review of a document's values.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::auth::Account;
use super::body::JsonBody;
use super::schemas::ErrorBody;
use super::{path_id, AppError, AppResult};
use crate::jobs::{
    JobPage, JobQuery, JobResults, JobStatusView, Jobs, LinkedResult, ResultFormat, Results,
    Reviewed,
};
use crate::outbound::links::ResultLinks;
use crate::types::{FileId, JobId};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// The id `POST /process-job` answered with.
    #[param(required = true, value_type = String, min_length = 1)]
    job_id: Option<String>,
}

/// A job's status, each document's status, skipped ZIP entries, progress and history.
#[utoipa::path(get, path = "/v1/job-status", tag = "jobs", security(("x-auth" = [])),
    params(StatusQuery),
    responses((status = 200, body = JobStatusView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn job_status(
    query: web::Query<StatusQuery>,
    account: Account,
    jobs: web::Data<Jobs>,
) -> AppResult<HttpResponse> {
    let job_id = query
        .job_id
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| AppError::BadRequest("the job_id query parameter is required".into()))?;
    let job_id: JobId = path_id(job_id.trim())?;
    Ok(HttpResponse::Ok().json(jobs.status(&account.0, &job_id).await?))
}

/// The body of `POST /v1/job-results`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultsRequest {
    #[serde(default)]
    #[schema(required = true, value_type = String, pattern = "\\S")]
    job_id: Option<String>,
    /// `json` (the default) or `csv`.
    #[serde(default)]
    result_format: Option<ResultFormat>,
}

/// A finished job's results, as JSON or CSV.
#[utoipa::path(post, path = "/v1/job-results", tag = "jobs", security(("x-auth" = [])),
    request_body = ResultsRequest,
    responses(
        (status = 200, description = "The results", content(
            (JobResults = "application/json"),
            (String = "text/csv", example = "file_name,status,invoice_number,total\ninvoice.pdf,PROCESS IMAGE SUCCESS,INV-1,1250.00\n"),
        )),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The job is still running", body = ErrorBody),
        (status = 410, description = "The results were purged after the retention period", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
pub async fn job_results(
    account: Account,
    JsonBody(body): JsonBody<ResultsRequest>,
    jobs: web::Data<Jobs>,
) -> AppResult<HttpResponse> {
    let job_id = body.job_id.as_deref().map(str::trim).unwrap_or_default();
    if job_id.is_empty() {
        return Err(AppError::BadRequest("job_id is required".into()));
    }
    let job_id: JobId = path_id(job_id)?;
    let format = body.result_format.unwrap_or(ResultFormat::Json);
    Ok(match jobs.results(&account.0, &job_id, format).await? {
        Results::Json(v) => HttpResponse::Ok().json(v),
        Results::Csv(text) => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(text),
    })
}

/// The body of a review edit.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditRequest {
    /// New values by field name, checked against the field types; other fields keep theirs.
    #[schema(value_type = Object, example = json!({"total": 1250.0}))]
    pub result: Map<String, Value>,
}

/// Edit a document's values; emits `extraction.edited`.
#[utoipa::path(patch, path = "/v1/jobs/{job_id}/files/{file_id}/result", tag = "review", security(("x-auth" = [])),
    params(("job_id" = String, Path), ("file_id" = String, Path)),
    request_body = EditRequest,
    responses((status = 200, body = Reviewed), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "No result to review, already confirmed, or locked for review by someone else (the message names the holder)", body = ErrorBody),
        (status = 410, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn edit_result(
    path: web::Path<(String, String)>,
    account: Account,
    JsonBody(body): JsonBody<EditRequest>,
    jobs: web::Data<Jobs>,
) -> AppResult<HttpResponse> {
    let (job_id, file_id) = job_and_file(&path.0, &path.1)?;
    Ok(HttpResponse::Ok().json(
        jobs.edit_result(&account.0, &job_id, &file_id, body.result, &account.actor())
            .await?,
    ))
}

/// The job and file a path names; a string that is no id names nothing.
pub fn job_and_file(job: &str, file: &str) -> AppResult<(JobId, FileId)> {
    let job: JobId = path_id(job)?;
    let file = FileId::parse(file)
        .ok_or_else(|| AppError::NotFound(format!("file {file} not found in job {job}")))?;
    Ok((job, file))
}

/// Confirm a document's values; emits `extraction.confirmed`.
#[utoipa::path(post, path = "/v1/jobs/{job_id}/files/{file_id}/confirm", tag = "review", security(("x-auth" = [])),
    params(("job_id" = String, Path), ("file_id" = String, Path)),
    responses((status = 200, body = Reviewed), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn confirm_result(
    path: web::Path<(String, String)>,
    account: Account,
    jobs: web::Data<Jobs>,
) -> AppResult<HttpResponse> {
    let (job_id, file_id) = job_and_file(&path.0, &path.1)?;
    Ok(HttpResponse::Ok().json(
        jobs.confirm_result(&account.0, &job_id, &file_id, &account.actor())
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only jobs with this status (`SUCCESS`, `FAILED`, `PROCESSING IMAGE`, …).
    #[param(
        pattern = "^(|NEW|UNZIPPING FILE|UNZIP FILE SUCCESS|UNZIP FILE FAILED|PROCESSING IMAGE|PROCESS IMAGE SUCCESS|PROCESS IMAGE FAILED|SUCCESS|FAILED)$"
    )]
    status: Option<String>,
    template_id: Option<String>,
    /// `next_cursor` from the previous page.
    #[param(
        pattern = "^([0-9]{1,15}[.][0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$"
    )]
    cursor: Option<String>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    /// `true` lists the recycle bin instead.
    deleted: Option<bool>,
}

/// The account's jobs, newest first, with filters and cursor paging.
#[utoipa::path(get, path = "/v1/jobs", operation_id = "list_jobs", tag = "jobs", security(("x-auth" = [])),
    params(ListQuery),
    responses((status = 200, body = JobPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    query: web::Query<ListQuery>,
    account: Account,
    jobs: web::Data<Jobs>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let q = JobQuery {
        status: q.status,
        template_id: q.template_id,
        cursor: q.cursor,
        limit: q.limit,
        deleted: q.deleted.unwrap_or(false),
    };
    Ok(HttpResponse::Ok().json(jobs.list(&account.0, &q).await?))
}

/// A page of a document as a PNG, while its upload is kept (until delivered;
/// a document that needs review, until confirmed).
#[utoipa::path(get, path = "/v1/jobs/{job_id}/files/{file_id}/pages/{page}", operation_id = "page_image", tag = "review", security(("x-auth" = [])),
    params(("job_id" = String, Path), ("file_id" = String, Path), ("page" = u32, Path, minimum = 1, description = "1-based page number")),
    responses(
        (status = 200, description = "The page", content_type = "image/png", body = Vec<u8>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 410, description = "The upload is no longer kept", body = ErrorBody)))]
pub async fn page(
    path: web::Path<(String, String, u32)>,
    account: Account,
    jobs: web::Data<Jobs>,
) -> AppResult<HttpResponse> {
    let (job_id, file_id, page) = path.into_inner();
    let (job_id, file_id) = job_and_file(&job_id, &file_id)?;
    let png = jobs.page_image(&account.0, &job_id, &file_id, page).await?;
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header(("Cache-Control", "private, max-age=300"))
        .body(png))
}

/// The result a webhook linked to instead of sending it (its body was over
/// the destination's `max_payload_bytes`): the document's result as it
/// stands. The signed link stands in for the API key.
#[utoipa::path(get, path = "/v1/result-links/{token}", operation_id = "get_linked_result", tag = "jobs",
    params(("token" = String, Path, description = "The token of `data.result_url`")),
    responses((status = 200, body = LinkedResult),
        (status = 404, description = "A wrong or expired link, or a document deleted or erased since", body = ErrorBody)))]
pub async fn linked_result(
    token: web::Path<String>,
    links: web::Data<ResultLinks>,
    jobs: web::Data<Jobs>,
) -> AppResult<HttpResponse> {
    let not_found = || {
        AppError::NotFound(
            "this result link is not valid (wrong, expired, or its document was deleted)".into(),
        )
    };
    let file = links
        .open(&token, crate::db::now_ms())
        .ok_or_else(not_found)?;
    let result = jobs.linked_result(&file).await?.ok_or_else(not_found)?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(result))
}
