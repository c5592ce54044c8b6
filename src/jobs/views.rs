//! What the jobs service answers with: the same types render the API's JSON,
//! the dashboard's pages and the OpenAPI document.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::unzip::Skipped;
use crate::types::{EventId, FileId, JobId, JobStatus, ResultStatus, TemplateChoice, TemplateId};

/// The 202 body of `POST /v1/process-job`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = JobAccepted)]
pub struct Accepted {
    #[schema(value_type = String)]
    pub job_id: JobId,
    #[schema(value_type = String)]
    pub template_id: TemplateChoice,
    #[schema(value_type = Object)]
    pub static_values: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobFileStatus {
    /// The template the document was read with (chosen by keywords in an `auto` job); `null` when none matched.
    #[schema(value_type = Option<String>)]
    pub template_id: Option<TemplateId>,
    #[schema(value_type = String)]
    pub file_id: FileId,
    pub file_name: String,
    #[schema(value_type = String)]
    pub status: JobStatus,
    pub pages: Option<i64>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Progress {
    pub total: u64,
    pub done: u64,
    pub pages_total: u64,
    pub pages_done: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Transition {
    #[schema(value_type = String)]
    pub status: JobStatus,
    pub at: String,
}

/// `GET /job-status`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobStatusView {
    #[schema(value_type = String)]
    pub job_id: JobId,
    #[schema(value_type = String)]
    pub template_id: TemplateChoice,
    /// `NEW`, `UNZIPPING FILE`, `UNZIP FILE SUCCESS`, `UNZIP FILE FAILED`,
    /// `PROCESSING IMAGE`, `PROCESS IMAGE SUCCESS`, `PROCESS IMAGE FAILED`, `SUCCESS` or `FAILED`.
    #[schema(value_type = String)]
    pub status: JobStatus,
    pub error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub files: Vec<JobFileStatus>,
    pub skipped: Vec<Skipped>,
    pub progress: Progress,
    pub history: Vec<Transition>,
    /// In the recycle bin, on hold, locked for review (SPEC §3).
    pub lifecycle: JobState,
}

/// Where a job stands in its lifecycle (SPEC §3).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobState {
    #[schema(value_type = String)]
    pub job_id: JobId,
    /// In the recycle bin (`DELETE /v1/jobs/{id}`), restorable.
    pub deleted: bool,
    /// On hold: its documents' events wait for `POST /v1/jobs/{id}/release`.
    pub held: bool,
    /// Who alone may edit or confirm its results: `key:<key id>` or `user:<key id>` (a dashboard session).
    pub locked_by: Option<String>,
    /// When the lock lapses unless renewed (RFC 3339).
    pub lock_expires_at: Option<String>,
}

/// One document's result.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FileResult {
    /// The template the document was read with (chosen by keywords in an `auto` job); `null` when none matched.
    #[schema(value_type = Option<String>)]
    pub template_id: Option<TemplateId>,
    #[schema(value_type = String)]
    pub file_id: FileId,
    pub file_name: String,
    #[schema(value_type = String)]
    pub status: JobStatus,
    /// `ok`, `needs_review`, `edited` or `confirmed`; `null` when the document failed.
    #[schema(value_type = Option<String>)]
    pub result_status: Option<ResultStatus>,
    pub pages: Option<i64>,
    /// Values by field name, typed per the template; `null` for a value not found.
    #[schema(value_type = Option<Object>)]
    pub result: Option<Map<String, Value>>,
    /// Reading confidence (0 to 1) by field name.
    #[schema(value_type = Option<Object>)]
    pub confidences: Option<Map<String, Value>>,
    /// Where each value was found: field → `{page, x, y, width, height}` in page fractions, or `null`.
    #[schema(value_type = Option<Object>)]
    pub boxes: Option<Map<String, Value>>,
    /// The names of fields whose located text did not parse as their type, and
    /// for values read by OCR and cleaned before parsing, `<field>: OCR read "…", cleaned to "…"`.
    pub warnings: Vec<String>,
    pub error: Option<String>,
}

/// What marks a clean-up note among a file's warnings.
const CLEANED: &str = ": OCR read ";

impl FileResult {
    /// The warnings that name a field whose text did not parse.
    pub fn unparsed(&self) -> Vec<&str> {
        self.warnings
            .iter()
            .filter(|w| !w.contains(CLEANED))
            .map(String::as_str)
            .collect()
    }

    /// The warnings that say what OCR clean-up changed.
    pub fn cleaned(&self) -> Vec<&str> {
        self.warnings
            .iter()
            .filter(|w| w.contains(CLEANED))
            .map(String::as_str)
            .collect()
    }

    /// Whether a person still has to look at the values.
    pub fn awaits_review(&self) -> bool {
        self.result_status.is_some_and(ResultStatus::awaits_review)
    }
}

/// `POST /v1/job-results` as JSON.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobResults {
    #[schema(value_type = String)]
    pub job_id: JobId,
    #[schema(value_type = String)]
    pub template_id: TemplateChoice,
    #[schema(value_type = String)]
    pub status: JobStatus,
    #[schema(value_type = Object)]
    pub static_values: Map<String, Value>,
    pub results: Vec<FileResult>,
}

/// What a review edit or confirmation stored and sent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Reviewed {
    #[schema(value_type = String)]
    pub job_id: JobId,
    #[schema(value_type = String)]
    pub template_id: TemplateChoice,
    #[schema(value_type = String)]
    pub file_id: FileId,
    pub file_name: String,
    pub pages: Option<i64>,
    #[schema(value_type = Object)]
    pub static_values: Map<String, Value>,
    #[schema(value_type = Object)]
    pub result: Map<String, Value>,
    #[schema(value_type = String)]
    pub result_status: ResultStatus,
    pub warnings: Vec<String>,
    /// For an edit: `{field: {"from", "to"}}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub changes: Option<Map<String, Value>>,
    #[schema(value_type = String)]
    pub event_id: EventId,
}

/// One job in a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobSummary {
    #[schema(value_type = String)]
    pub job_id: JobId,
    #[schema(value_type = String)]
    pub template_id: TemplateChoice,
    #[schema(value_type = String)]
    pub status: JobStatus,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_split_into_unparsed_fields_and_clean_up_notes() {
        let file = FileResult {
            template_id: None,
            file_id: FileId::new(),
            file_name: "scan.png".into(),
            status: JobStatus::ProcessImageSuccess,
            result_status: Some(ResultStatus::Ok),
            pages: Some(1),
            result: None,
            confidences: None,
            boxes: None,
            warnings: vec![
                "due".into(),
                "total: OCR read \"l2.5O\", cleaned to \"12.50\"".into(),
            ],
            error: None,
        };
        assert_eq!(file.unparsed(), ["due"]);
        assert_eq!(
            file.cleaned(),
            ["total: OCR read \"l2.5O\", cleaned to \"12.50\""]
        );
    }
}
