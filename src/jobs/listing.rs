//! An account's jobs, newest first, with filters and cursor paging; and a
//! page of a kept upload as an image.

use super::views::{JobPage, JobSummary};
use super::{JobError, Jobs};
use crate::db::{self, rfc3339};
use crate::storage::StorageError;
use crate::types::{AccountId, FileId, JobId, JobStatus, TemplateChoice};

/// Which jobs to list, as the client wrote it.
#[derive(Debug, Default)]
pub struct JobQuery {
    pub status: Option<String>,
    pub template_id: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
    /// The recycle bin instead of the live jobs.
    pub deleted: bool,
}

pub const DEFAULT_PAGE: u64 = 20;
pub const MAX_PAGE: u64 = 100;

fn bad(m: impl Into<String>) -> JobError {
    JobError::BadQuery(m.into())
}

/// `created_at` and id of the last job of a page.
fn cursor_of(job: &db::entities::jobs::Model) -> String {
    format!("{}.{}", job.created_at, job.id)
}

/// A cursor as [`cursor_of`] wrote it. One that names no job (a made-up id)
/// still pages correctly: only its order matters.
fn parse_cursor(c: &str) -> Result<(i64, JobId), JobError> {
    c.split_once('.')
        .and_then(|(at, id)| Some((at.parse().ok()?, JobId::parse(id)?)))
        .ok_or_else(|| bad("cursor: pass the next_cursor of the previous page unchanged"))
}

impl Jobs {
    pub async fn list(&self, account_id: &AccountId, q: &JobQuery) -> Result<JobPage, JobError> {
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
        // Every member is checked before any answer: a bad cursor is 400 even
        // beside a template id that names nothing.
        let before = q
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(parse_cursor)
            .transpose()?;
        let template_id = match q.template_id.as_deref().filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => match t.parse::<TemplateChoice>() {
                Ok(choice) => Some(choice),
                // Names no template: no job has it.
                Err(_) => {
                    return Ok(JobPage {
                        jobs: vec![],
                        next_cursor: None,
                    })
                }
            },
        };
        let filter = db::jobs::JobFilter {
            status,
            template_id: template_id.as_ref(),
            before: before.as_ref().map(|(at, id)| (*at, id)),
            deleted: q.deleted,
            limit: limit + 1,
        };
        let mut jobs = db::jobs::list(&self.db, account_id, filter).await?;
        let more = jobs.len() as u64 > limit;
        jobs.truncate(limit as usize);
        let ids: Vec<JobId> = jobs.iter().map(|j| j.id.clone()).collect();
        let files = db::files::of_jobs(&self.db, &ids).await?;
        let summaries = jobs
            .iter()
            .map(|j| {
                let own = files.iter().filter(|f| f.job_id == j.id);
                let done = own
                    .clone()
                    .filter(|f| f.status.is_document_outcome())
                    .count();
                JobSummary {
                    job_id: j.id.clone(),
                    template_id: j.template_id.clone(),
                    status: j.status,
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

    /// Whether each of the job's documents still has its upload kept (and
    /// so its pages can be shown), by file.
    pub async fn uploads_kept(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
    ) -> Result<Vec<(FileId, bool)>, JobError> {
        let job = self.owned(account_id, job_id).await?;
        Ok(db::files::of_job(&self.db, &job.id)
            .await?
            .into_iter()
            .map(|f| (f.id, f.blob_key.is_some()))
            .collect())
    }

    /// The job's documents in the recycle bin (the job's status leaves them out).
    pub async fn binned_files(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
    ) -> Result<Vec<super::JobFileStatus>, JobError> {
        let job = self.owned(account_id, job_id).await?;
        Ok(db::files::of_job(&self.db, &job.id)
            .await?
            .iter()
            .filter(|f| f.deleted_at.is_some() && f.erased_at.is_none())
            .map(|f| super::results::file_status(&job.template_id, f))
            .collect())
    }

    /// Page `number` of a document whose upload is still kept, as a PNG.
    pub async fn page_image(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
        file_id: &FileId,
        number: u32,
    ) -> Result<Vec<u8>, JobError> {
        let job = self.owned(account_id, job_id).await?;
        let file = self.owned_file(&job, file_id).await?;
        let gone = || JobError::UploadGone(file.id.clone());
        let key = file.blob_key.as_deref().ok_or_else(gone)?;
        let bytes = match self.blobs.get(key).await {
            Ok(b) => b,
            Err(StorageError::NotFound(_)) => return Err(gone()),
            Err(e) => return Err(e.into()),
        };
        if number == 0 || file.pages.is_some_and(|p| i64::from(number) > p) {
            return Err(JobError::NoSuchPage {
                file: file.id,
                page: number,
            });
        }
        self.reader
            .page_png(file.kind, bytes, number)
            .await
            .map_err(|e| JobError::PageUnreadable {
                page: number,
                reason: e.to_string(),
            })
    }
}
