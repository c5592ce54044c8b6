//! A job's status and its results, as JSON or as CSV.

use serde_json::{Map, Value};

use super::service::static_values;
use super::unzip::Skipped;
use super::views::{FileResult, JobFileStatus, JobResults, JobStatusView, Progress, Transition};
use super::{JobError, Jobs};
use crate::db::{self, entities::files, rfc3339};
use crate::spec::{Compiled, Locator};
use crate::types::{AccountId, FileId, JobId, TemplateChoice, TemplateId};

/// The shape results take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResultFormat {
    Json,
    Csv,
}

pub enum Results {
    Json(JobResults),
    Csv(String),
}

impl Jobs {
    pub async fn status(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
    ) -> Result<JobStatusView, JobError> {
        let job = self.owned(account_id, job_id).await?;
        let mut files = db::files::of_job(&self.db, &job.id).await?;
        files.retain(|f| f.deleted_at.is_none() && f.erased_at.is_none());
        let history = db::jobs::transitions(&self.db, &job.id).await?;
        let skipped: Vec<Skipped> = db::json("jobs.skipped", &job.skipped)?;
        let done = files
            .iter()
            .filter(|f| f.status.is_document_outcome())
            .count();
        let pages_total: i64 = files.iter().filter_map(|f| f.pages_total.or(f.pages)).sum();
        let pages_done: i64 = files
            .iter()
            .filter_map(|f| {
                if f.status.is_document_outcome() {
                    f.pages_total.or(f.pages)
                } else {
                    f.pages_done
                }
            })
            .sum();
        let file_statuses = files
            .iter()
            .map(|f| file_status(&job.template_id, f))
            .collect();
        let lifecycle = super::lifecycle::state(&job, db::now_ms());
        Ok(JobStatusView {
            lifecycle,
            job_id: job.id,
            template_id: job.template_id,
            status: job.status,
            error: job.error,
            created_at: rfc3339(job.created_at),
            updated_at: rfc3339(job.updated_at),
            files: file_statuses,
            skipped,
            progress: Progress {
                total: files.len() as u64,
                done: done as u64,
                pages_total: pages_total.max(0) as u64,
                pages_done: pages_done.max(0) as u64,
            },
            history: history
                .into_iter()
                .map(|t| Transition {
                    status: t.status,
                    at: rfc3339(t.at),
                })
                .collect(),
        })
    }

    pub async fn results(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
        format: ResultFormat,
    ) -> Result<Results, JobError> {
        let job = self.owned(account_id, job_id).await?;
        if job.purged_at.is_some() {
            return Err(JobError::Purged(job.id));
        }
        if job.deleted_at.is_some() {
            return Err(JobError::Deleted(job.id));
        }
        if job.finished_at.is_none() {
            return Err(JobError::Running {
                job: job.id,
                status: job.status,
            });
        }
        let mut files = db::files::of_job(&self.db, &job.id).await?;
        files.retain(|f| f.deleted_at.is_none() && f.erased_at.is_none());
        let static_values = static_values(&job)?;
        let results = files
            .iter()
            .map(|f| file_result(&job.template_id, f))
            .collect::<Result<Vec<_>, _>>()?;
        match format {
            ResultFormat::Json => Ok(Results::Json(JobResults {
                job_id: job.id,
                template_id: job.template_id,
                status: job.status,
                static_values,
                results,
            })),
            ResultFormat::Csv => {
                // An `auto` job's columns: every chosen template's, in order of first appearance.
                let mut columns = Columns::default();
                let mut seen: Vec<&TemplateId> = Vec::new();
                for id in results.iter().filter_map(|r| r.template_id.as_ref()) {
                    if seen.contains(&id) {
                        continue;
                    }
                    seen.push(id);
                    columns.add(&self.templates.load(id).await?.compiled);
                }
                Ok(Results::Csv(csv_results(
                    &columns,
                    &static_values,
                    &results,
                )))
            }
        }
    }
}

impl Jobs {
    /// The result of document `file_id` as it stands, for a result link: no
    /// account is asked for (the link's signature stands in for it), so
    /// nothing is said of a document that is binned, erased or purged.
    pub async fn linked_result(&self, file_id: &FileId) -> Result<Option<LinkedResult>, JobError> {
        let Some(f) = db::files::get(&self.db, file_id).await? else {
            return Ok(None);
        };
        let Some(job) = db::jobs::get_any(&self.db, &f.job_id).await? else {
            return Ok(None);
        };
        let gone = job.deleted_at.is_some() || job.erased_at.is_some() || job.purged_at.is_some();
        if gone || f.deleted_at.is_some() || f.erased_at.is_some() || f.result.is_none() {
            return Ok(None);
        }
        Ok(Some(LinkedResult {
            job_id: job.id.clone(),
            static_values: static_values(&job)?,
            file: file_result(&job.template_id, &f)?,
        }))
    }
}

/// A document's result as a result link serves it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct LinkedResult {
    #[schema(value_type = String)]
    pub job_id: JobId,
    #[schema(value_type = Object)]
    pub static_values: Map<String, Value>,
    #[serde(flatten)]
    pub file: FileResult,
}

/// The template a document was read with: its own choice, else the job's.
fn read_with(job: &TemplateChoice, f: &files::Model) -> Option<TemplateId> {
    f.template_id.clone().or_else(|| job.fixed().cloned())
}

pub(crate) fn file_status(job: &TemplateChoice, f: &files::Model) -> JobFileStatus {
    JobFileStatus {
        template_id: read_with(job, f),
        file_id: f.id.clone(),
        file_name: f.file_name.clone(),
        status: f.status,
        pages: f.pages,
        error: f.error.clone(),
    }
}

/// A document's stored result; what does not read back is an error, never empty.
pub(super) fn file_result(job: &TemplateChoice, f: &files::Model) -> Result<FileResult, JobError> {
    Ok(FileResult {
        template_id: read_with(job, f),
        file_id: f.id.clone(),
        file_name: f.file_name.clone(),
        status: f.status,
        result_status: f.result_status,
        pages: f.pages,
        result: db::json_opt("files.result", f.result.as_deref())?,
        confidences: db::json_opt("files.confidences", f.confidences.as_deref())?,
        boxes: db::json_opt("files.boxes", f.boxes.as_deref())?,
        warnings: db::json_opt("files.warnings", f.warnings.as_deref())?.unwrap_or_default(),
        error: f.error.clone(),
    })
}

/// A cell: strings as they are, `null` empty, anything else as JSON text.
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A cell that a spreadsheet would run as a formula (one starting with `=`,
/// `+`, `-`, `@`, a tab or a CR) gets a leading `'`, which spreadsheets show
/// as text. A plain number such as `-12.50` stays as it is: it is no formula.
pub fn defuse(cell: String) -> String {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let number = cell
        .chars()
        .all(|c| c.is_ascii_digit() || ".eE+-".contains(c))
        && cell.parse::<f64>().is_ok();
    if risky && !number {
        format!("'{cell}")
    } else {
        cell
    }
}

/// The CSV's columns: the documents' values, then each lines field's item columns.
#[derive(Default)]
struct Columns {
    values: Vec<String>,
    /// Each lines field and its columns.
    items: Vec<(String, Vec<String>)>,
}

impl Columns {
    /// A template's columns, after those already there.
    fn add(&mut self, compiled: &Compiled) {
        let rows = |name: &str| {
            compiled.fields.iter().find_map(|f| match &f.locator {
                Locator::Rows(rows) if f.name == name => Some(rows),
                _ => None,
            })
        };
        for name in compiled.names() {
            match rows(name) {
                Some(rows) => {
                    let at = match self.items.iter().position(|(n, _)| n == name) {
                        Some(at) => at,
                        None => {
                            self.items.push((name.to_string(), Vec::new()));
                            self.items.len() - 1
                        }
                    };
                    for (column, _) in &rows.columns {
                        if !self.items[at].1.contains(column) {
                            self.items[at].1.push(column.clone());
                        }
                    }
                }
                None if !self.values.iter().any(|n| n == name) => self.values.push(name.into()),
                None => {}
            }
        }
    }
}

/// One row per document, or per line item where the template has lines
/// fields (SPEC §2.2): the document's columns repeated, the item's beside them.
fn csv_results(
    columns: &Columns,
    static_values: &Map<String, Value>,
    files: &[FileResult],
) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = vec!["file_name".into(), "status".into()];
    header.extend(columns.values.iter().cloned());
    header.extend(static_values.keys().cloned());
    for (field, item_columns) in &columns.items {
        header.extend(item_columns.iter().map(|c| format!("{field}.{c}")));
    }
    let header: Vec<String> = header.into_iter().map(defuse).collect();
    w.write_record(&header).expect("writing CSV to memory");
    let none = Map::new();
    let width: usize = columns.items.iter().map(|(_, c)| c.len()).sum();
    for f in files {
        let result = f.result.as_ref().unwrap_or(&none);
        let mut document = vec![f.file_name.clone(), f.status.to_string()];
        document.extend(columns.values.iter().map(|name| cell(result.get(name))));
        document.extend(static_values.values().map(|v| cell(Some(v))));
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut offset = 0;
        for (field, item_columns) in &columns.items {
            let items = result.get(field).and_then(Value::as_array);
            for item in items.into_iter().flatten() {
                let mut row = vec![String::new(); width];
                for (i, c) in item_columns.iter().enumerate() {
                    row[offset + i] = cell(item.get(c));
                }
                rows.push(row);
            }
            offset += item_columns.len();
        }
        if rows.is_empty() {
            rows.push(vec![String::new(); width]);
        }
        for items in rows {
            let row: Vec<String> = document.iter().cloned().chain(items).map(defuse).collect();
            w.write_record(&row).expect("writing CSV to memory");
        }
    }
    let bytes = w.into_inner().expect("writing CSV to memory");
    String::from_utf8(bytes).expect("CSV of strings is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::service::new_file;
    use crate::types::{DocKind, JobStatus};
    use serde_json::json;

    #[test]
    fn formulas_are_defused_and_numbers_kept() {
        for (raw, want) in [
            ("=1+2", "'=1+2"),
            ("+SUM(A1)", "'+SUM(A1)"),
            ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("-12.50", "-12.50"),
            ("-1e-7", "-1e-7"),
            ("-inf", "'-inf"),
            ("ACME", "ACME"),
            ("", ""),
        ] {
            assert_eq!(defuse(raw.to_string()), want, "{raw:?}");
        }
    }

    #[test]
    fn csv_quotes_and_orders_columns() {
        let mut f = new_file(&JobId::new(), 0, "a, \"b\".pdf", DocKind::Pdf, "k", 0);
        f.status = JobStatus::ProcessImageSuccess;
        f.result = Some(r#"{"total": 12.5, "vendor": "ACME, Inc", "missing": null}"#.into());
        let mut statics = Map::new();
        statics.insert("batch".into(), json!("B-1"));
        let columns = Columns {
            values: ["vendor", "total", "missing"].map(String::from).to_vec(),
            items: Vec::new(),
        };
        let out = csv_results(
            &columns,
            &statics,
            &[file_result(&TemplateChoice::Auto, &f).unwrap()],
        );
        assert_eq!(
            out,
            "file_name,status,vendor,total,missing,batch\n\"a, \"\"b\"\".pdf\",PROCESS IMAGE SUCCESS,\"ACME, Inc\",12.5,,B-1\n"
        );
    }

    #[test]
    fn csv_has_a_row_per_line_item() {
        let (_, fields) = crate::spec::parse_fields(&json!([
            {"name": "total", "type": "number", "regex": "x"},
            {"name": "items", "type": "lines", "table": {"columns": {"d": "D", "a": "A"}}}
        ]))
        .unwrap();
        let mut columns = Columns::default();
        columns.add(&Compiled::of_fields(fields));
        let file = |name: &str, result: &str| {
            let mut f = new_file(&JobId::new(), 0, name, DocKind::Pdf, "k", 0);
            f.status = JobStatus::ProcessImageSuccess;
            f.result = Some(result.into());
            file_result(&TemplateChoice::Auto, &f).unwrap()
        };
        let out = csv_results(
            &columns,
            &Map::new(),
            &[
                file(
                    "one.pdf",
                    r#"{"total": 3, "items": [{"d": "x", "a": 1}, {"d": "y", "a": 2}]}"#,
                ),
                file("none.pdf", r#"{"total": 0, "items": []}"#),
            ],
        );
        assert_eq!(
            out,
            "file_name,status,total,items.d,items.a\n\
             one.pdf,PROCESS IMAGE SUCCESS,3,x,1\n\
             one.pdf,PROCESS IMAGE SUCCESS,3,y,2\n\
             none.pdf,PROCESS IMAGE SUCCESS,0,,\n"
        );
    }
}
