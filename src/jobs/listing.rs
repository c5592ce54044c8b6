//! An account's jobs, newest first, with filters and cursor paging; and a
//! page of a kept upload as an image.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::file_done;
use super::JobStatus;
use crate::db::{self, rfc3339};
use crate::error::{AppError, AppResult};
use crate::extraction::DocKind;
use crate::state::AppState;
use crate::storage::StorageError;

/// Which jobs to list.
#[derive(Debug, Default)]
pub struct JobQuery {
    pub status: Option<String>,
    pub template_id: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// One job in a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobSummary {
    pub job_id: String,
    pub template_id: String,
    pub status: String,
    pub error: Option<String>,
    /// The uploaded file's name (the archive's for a ZIP).
    pub file_name: String,
    /// Documents in the job, and how many of them are finished.
    pub files: u64,
    pub files_done: u64,
    pub created_at: String,
    pub updated_at: String,
}

/// A page of jobs; pass `next_cursor` as `cursor` for the next (older) page.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobPage {
    pub jobs: Vec<JobSummary>,
    pub next_cursor: Option<String>,
}

pub const DEFAULT_PAGE: u64 = 20;
pub const MAX_PAGE: u64 = 100;

fn bad(m: impl Into<String>) -> AppError {
    AppError::BadRequest(m.into())
}

/// `created_at` and id of the last job of a page.
fn cursor_of(job: &db::entities::jobs::Model) -> String {
    format!("{}.{}", job.created_at, job.id)
}

fn parse_cursor(c: &str) -> AppResult<(i64, &str)> {
    c.split_once('.')
        .and_then(|(at, id)| Some((at.parse().ok()?, id)))
        .filter(|(_, id)| !id.is_empty() && !id.contains('\0'))
        .ok_or_else(|| bad("cursor: pass the next_cursor of the previous page unchanged"))
}

impl AppState {
    pub async fn list_jobs(&self, account_id: &str, q: &JobQuery) -> AppResult<JobPage> {
        let limit = q.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(bad(format!("limit must be 1 to {MAX_PAGE}")));
        }
        let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(s.parse::<JobStatus>().map_err(|_| {
                let all: Vec<&str> = JobStatus::ALL.iter().map(|s| s.as_str()).collect();
                bad(format!("status must be one of {}", all.join(", ")))
            })?),
        };
        let template_id = q.template_id.as_deref().filter(|t| !t.is_empty());
        if template_id.is_some_and(|t| t.contains('\0')) {
            return Ok(JobPage {
                jobs: vec![],
                next_cursor: None,
            });
        }
        let before = q
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(parse_cursor)
            .transpose()?;
        let filter = db::jobs::JobFilter {
            status: status.map(JobStatus::as_str),
            template_id,
            before,
            limit: limit + 1,
        };
        let mut jobs = db::jobs::list(&self.db, account_id, filter).await?;
        let more = jobs.len() as u64 > limit;
        jobs.truncate(limit as usize);
        let ids: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
        let files = db::jobs::files_of_jobs(&self.db, &ids).await?;
        let summaries = jobs
            .iter()
            .map(|j| {
                let own = files.iter().filter(|f| f.job_id == j.id);
                let done = own
                    .clone()
                    .filter(|f| f.status.parse::<JobStatus>().is_ok_and(file_done))
                    .count();
                JobSummary {
                    job_id: j.id.clone(),
                    template_id: j.template_id.clone(),
                    status: j.status.clone(),
                    error: j.error.clone(),
                    file_name: j.source_name.clone(),
                    files: own.count() as u64,
                    files_done: done as u64,
                    created_at: rfc3339(j.created_at),
                    updated_at: rfc3339(j.updated_at),
                }
            })
            .collect();
        Ok(JobPage {
            jobs: summaries,
            next_cursor: if more {
                jobs.last().map(cursor_of)
            } else {
                None
            },
        })
    }

    /// Page `number` of a document whose upload is still kept, as a PNG.
    pub async fn page_image(
        &self,
        account_id: &str,
        job_id: &str,
        file_id: &str,
        number: u32,
    ) -> AppResult<Vec<u8>> {
        let job = db::jobs::get(&self.db, account_id, job_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("job {job_id} not found")))?;
        let file = db::jobs::get_file(&self.db, file_id)
            .await?
            .filter(|f| f.job_id == job.id)
            .ok_or_else(|| {
                AppError::NotFound(format!("file {file_id} not found in job {job_id}"))
            })?;
        let gone = || {
            AppError::Gone(format!(
                "the upload of file {file_id} is no longer kept: documents are deleted once delivered (those that need review, once confirmed)"
            ))
        };
        let key = file.blob_key.as_deref().ok_or_else(gone)?;
        let bytes = match self.blobs.get(key).await {
            Ok(b) => b,
            Err(StorageError::NotFound(_)) => return Err(gone()),
            Err(e) => return Err(e.into()),
        };
        let kind: DocKind = file.kind.parse().map_err(anyhow::Error::msg)?;
        if number == 0 || file.pages.is_some_and(|p| i64::from(number) > p) {
            return Err(AppError::NotFound(format!(
                "file {file_id} has no page {number}"
            )));
        }
        self.reader
            .page_png(kind, bytes, number)
            .await
            .map_err(|e| AppError::NotFound(format!("page {number} cannot be shown: {e}")))
    }
}
