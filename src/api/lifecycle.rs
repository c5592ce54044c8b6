//! Document and batch actions (SPEC §3): delete, restore and erase; hold and
//! release; lock and unlock for review.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Account;
use super::jobs::job_and_file;
use super::schemas::ErrorBody;
use super::{path_id, AppResult};
use crate::jobs::{Deletion, JobState, Jobs};
use crate::types::JobId;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// `true` erases the document at once (no recycle bin, no restore).
    hard: Option<bool>,
}

impl DeleteQuery {
    fn how(&self) -> Deletion {
        if self.hard == Some(true) {
            Deletion::Erase
        } else {
            Deletion::ToBin
        }
    }
}

/// Move a job to the recycle bin (`document.deleted` per file, `batch.deleted`), or with `hard=true` erase every stored byte of it (`document.hard_deleted`).
#[utoipa::path(delete, path = "/v1/jobs/{job_id}", operation_id = "delete_job", tag = "lifecycle", security(("x-auth" = [])),
    params(("job_id" = String, Path), DeleteQuery),
    responses((status = 204, description = "In the recycle bin, or erased"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Erasing a job a worker is reading: bin it, or wait until it finishes", body = ErrorBody)))]
pub async fn delete_job(
    path: web::Path<String>,
    query: web::Query<DeleteQuery>,
    account: Account,
    jobs: web::Data<Jobs>,
) -> AppResult<HttpResponse> {
    let job_id: JobId = path_id(&path)?;
    jobs.delete(&account.0, &job_id, None, query.how(), &account.actor())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Move one document to the recycle bin (`document.deleted`), or with `hard=true` erase it (`document.hard_deleted`).
#[utoipa::path(delete, path = "/v1/jobs/{job_id}/files/{file_id}", operation_id = "delete_file", tag = "lifecycle", security(("x-auth" = [])),
    params(("job_id" = String, Path), ("file_id" = String, Path), DeleteQuery),
    responses((status = 204, description = "In the recycle bin, or erased"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Erasing a document of a job a worker is reading", body = ErrorBody)))]
pub async fn delete_file(
    path: web::Path<(String, String)>,
    query: web::Query<DeleteQuery>,
    account: Account,
    jobs: web::Data<Jobs>,
) -> AppResult<HttpResponse> {
    let (job_id, file_id) = job_and_file(&path.0, &path.1)?;
    jobs.delete(
        &account.0,
        &job_id,
        Some(&file_id),
        query.how(),
        &account.actor(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Bring a job back from the recycle bin (`document.restored` per file).
#[utoipa::path(post, path = "/v1/jobs/{job_id}/restore", operation_id = "restore_job", tag = "lifecycle", security(("x-auth" = [])),
    params(("job_id" = String, Path)),
    responses((status = 200, body = JobState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Not in the recycle bin", body = ErrorBody),
        (status = 410, description = "Purged after the retention period", body = ErrorBody)))]
pub async fn restore_job(
    path: web::Path<String>,
    account: Account,
    jobs: web::Data<Jobs>,
) -> AppResult<HttpResponse> {
    let job_id: JobId = path_id(&path)?;
    let state = jobs
        .restore(&account.0, &job_id, None, &account.actor())
        .await?;
    Ok(HttpResponse::Ok().json(state))
}

/// Bring one document back from the recycle bin (`document.restored`).
#[utoipa::path(post, path = "/v1/jobs/{job_id}/files/{file_id}/restore", operation_id = "restore_file", tag = "lifecycle", security(("x-auth" = [])),
    params(("job_id" = String, Path), ("file_id" = String, Path)),
    responses((status = 200, body = JobState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Not in the recycle bin", body = ErrorBody),
        (status = 410, description = "Purged after the retention period", body = ErrorBody)))]
pub async fn restore_file(
    path: web::Path<(String, String)>,
    account: Account,
    jobs: web::Data<Jobs>,
) -> AppResult<HttpResponse> {
    let (job_id, file_id) = job_and_file(&path.0, &path.1)?;
    let state = jobs
        .restore(&account.0, &job_id, Some(&file_id), &account.actor())
        .await?;
    Ok(HttpResponse::Ok().json(state))
}

/// What a batch action does.
#[derive(Clone, Copy)]
enum Action {
    Hold,
    Release,
    Lock,
    Unlock,
}

async fn act(
    path: &str,
    account: &Account,
    jobs: &Jobs,
    action: Action,
) -> AppResult<HttpResponse> {
    let job_id: JobId = path_id(path)?;
    let actor = account.actor();
    let state = match action {
        Action::Hold => jobs.hold(&account.0, &job_id, true, &actor).await?,
        Action::Release => jobs.hold(&account.0, &job_id, false, &actor).await?,
        Action::Lock => jobs.lock(&account.0, &job_id, true, &actor).await?,
        Action::Unlock => jobs.lock(&account.0, &job_id, false, &actor).await?,
    };
    Ok(HttpResponse::Ok().json(state))
}

/// Put a job on hold (`batch.on_hold`): deliveries of its documents' events wait until release.
#[utoipa::path(post, path = "/v1/jobs/{job_id}/hold", operation_id = "hold_job", tag = "lifecycle", security(("x-auth" = [])),
    params(("job_id" = String, Path)),
    responses((status = 200, body = JobState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 410, description = "In the recycle bin, or purged", body = ErrorBody)))]
pub async fn hold(
    path: web::Path<String>,
    account: Account,
    jobs: web::Data<Jobs>,
) -> AppResult<HttpResponse> {
    act(&path, &account, &jobs, Action::Hold).await
}

/// Release a held job (`batch.released`): its waiting deliveries go out.
#[utoipa::path(post, path = "/v1/jobs/{job_id}/release", operation_id = "release_job", tag = "lifecycle", security(("x-auth" = [])),
    params(("job_id" = String, Path)),
    responses((status = 200, body = JobState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 410, description = "In the recycle bin, or purged", body = ErrorBody)))]
pub async fn release(
    path: web::Path<String>,
    account: Account,
    jobs: web::Data<Jobs>,
) -> AppResult<HttpResponse> {
    act(&path, &account, &jobs, Action::Release).await
}

/// Lock a job for review by this key (`batch.locked`): others' edits and confirmations answer 409 until it is unlocked or lapses (30 minutes; locking again renews it).
#[utoipa::path(post, path = "/v1/jobs/{job_id}/lock", operation_id = "lock_job", tag = "lifecycle", security(("x-auth" = [])),
    params(("job_id" = String, Path)),
    responses((status = 200, body = JobState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Locked by someone else; the message names the holder", body = ErrorBody),
        (status = 410, description = "In the recycle bin, or purged", body = ErrorBody)))]
pub async fn lock(
    path: web::Path<String>,
    account: Account,
    jobs: web::Data<Jobs>,
) -> AppResult<HttpResponse> {
    act(&path, &account, &jobs, Action::Lock).await
}

/// Unlock a job this key locked (`batch.unlocked`).
#[utoipa::path(post, path = "/v1/jobs/{job_id}/unlock", operation_id = "unlock_job", tag = "lifecycle", security(("x-auth" = [])),
    params(("job_id" = String, Path)),
    responses((status = 200, body = JobState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Locked by someone else; the message names the holder", body = ErrorBody),
        (status = 410, description = "In the recycle bin, or purged", body = ErrorBody)))]
pub async fn unlock(
    path: web::Path<String>,
    account: Account,
    jobs: web::Data<Jobs>,
) -> AppResult<HttpResponse> {
    act(&path, &account, &jobs, Action::Unlock).await
}
