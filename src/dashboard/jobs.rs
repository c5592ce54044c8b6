//! Jobs: the list (filters, paging, live while jobs run), one job with its
//! files, values and history, downloads, page images, and review.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::grid::{self, Grid};
use super::session::Session;
use super::{html, DashError, Nav, Page};
use crate::api::{job_and_file, path_id, AppError};
use crate::jobs::{
    FileResult, JobError, JobFileStatus, JobQuery, JobStatusView, JobSummary, Jobs, ResultFormat,
    Results,
};
use crate::templates::{LoadedTemplate, Templates};
use crate::types::{AccountId, FileId, JobId, JobStatus, TemplateId};

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    template_id: Option<String>,
    cursor: Option<String>,
    /// Any value: the recycle bin instead.
    deleted: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard/jobs.html")]
struct JobsPage {
    nav: Nav,
    jobs: Vec<JobSummary>,
    names: BTreeMap<String, String>,
    statuses: Vec<&'static str>,
    status: String,
    template_id: String,
    next: Option<String>,
    live: bool,
    has_templates: bool,
    /// The recycle bin is shown.
    bin: bool,
}

impl JobsPage {
    fn template_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map_or(id, String::as_str)
    }
}

pub fn status_class(status: &str) -> &'static str {
    match status {
        "SUCCESS"
        | "PROCESS IMAGE SUCCESS"
        | "UNZIP FILE SUCCESS"
        | "succeeded"
        | "ok"
        | "confirmed" => "good",
        "FAILED" | "PROCESS IMAGE FAILED" | "UNZIP FILE FAILED" | "failed" => "bad",
        "needs_review" | "edited" => "warn",
        _ => "busy",
    }
}

/// Template ids → names, deleted templates included by id only.
pub(super) async fn template_names(
    templates: &Templates,
    account_id: &AccountId,
) -> Result<BTreeMap<String, String>, DashError> {
    Ok(templates
        .list(account_id)
        .await?
        .into_iter()
        .map(|t| (t.id.to_string(), t.name))
        .collect())
}

fn query_string(pairs: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .copied()
        .collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

pub async fn list(
    session: Session,
    query: web::Query<ListQuery>,
    jobs: web::Data<Jobs>,
    templates: web::Data<Templates>,
) -> Page {
    let q = query.into_inner();
    let status = q.status.unwrap_or_default();
    let template_id = q.template_id.unwrap_or_default();
    let paged = q.cursor.is_some();
    let bin = q.deleted.is_some_and(|d| !d.is_empty());
    let page = jobs
        .list(
            &session.account_id,
            &JobQuery {
                status: Some(status.clone()),
                template_id: Some(template_id.clone()),
                cursor: q.cursor,
                limit: None,
                deleted: bin,
            },
        )
        .await?;
    let names = template_names(&templates, &session.account_id).await?;
    let next = page.next_cursor.as_deref().map(|c| {
        format!(
            "/dashboard/jobs?{}",
            query_string(&[
                ("status", &status),
                ("template_id", &template_id),
                ("deleted", if bin { "1" } else { "" }),
                ("cursor", c)
            ])
        )
    });
    // The newest page keeps itself current (new jobs appear, running ones move on).
    let live = !bin && (!paged || page.jobs.iter().any(|j| !j.status.is_final()));
    html(&JobsPage {
        nav: Nav::new(&session, "jobs"),
        has_templates: !names.is_empty(),
        jobs: page.jobs,
        names,
        statuses: JobStatus::ALL.iter().map(|s| s.as_str()).collect(),
        status,
        template_id,
        next,
        live,
        bin,
    })
}

/// One extracted value as the job page shows it.
struct ValueRow {
    name: String,
    ty: String,
    shown: String,
    input: String,
    original: String,
    confidence: String,
    error: Option<String>,
    /// A lines field's rows, shown and reviewed as a grid.
    grid: Option<Grid>,
}

/// A located value's box on a page, in fractions.
pub struct BoxView {
    pub name: String,
    /// A table row's number (from 1), shown instead of the name beside its box.
    pub row: Option<usize>,
    pub page: u32,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// Every value's box; a lines field has one per row, named `items[2]`.
pub fn boxes_of(boxes: Option<&Map<String, Value>>) -> Vec<BoxView> {
    let Some(map) = boxes else {
        return vec![];
    };
    let one = |name: String, row: Option<usize>, b: &Value| {
        let n = |k: &str| b.get(k).and_then(Value::as_f64);
        Some(BoxView {
            name,
            row,
            page: n("page")? as u32,
            x: n("x")?,
            y: n("y")?,
            width: n("width")?,
            height: n("height")?,
        })
    };
    map.iter()
        .flat_map(|(name, b)| match b {
            Value::Array(rows) => rows
                .iter()
                .enumerate()
                .filter_map(|(i, r)| one(format!("{name}[{i}]"), Some(i + 1), r))
                .collect(),
            b => one(name.clone(), None, b).into_iter().collect::<Vec<_>>(),
        })
        .collect()
}

struct FileView {
    status: JobFileStatus,
    result: Option<FileResult>,
    values: Vec<ValueRow>,
    boxes: Vec<BoxView>,
    /// The page shown beside the values while the upload is kept.
    page_url: Option<String>,
    reviewable: bool,
    /// The name of the template the document was read with.
    template_name: String,
}

#[derive(Template)]
#[template(path = "dashboard/job.html")]
pub(super) struct JobPage {
    nav: Nav,
    job: JobStatusView,
    template_name: String,
    files: Vec<FileView>,
    live: bool,
    finished: bool,
    notice: Option<String>,
    /// This session, as lock holders are named.
    me: String,
    /// Documents of the job in the recycle bin.
    binned: Vec<JobFileStatus>,
}

impl JobPage {
    /// Who holds the review lock, as a person reads it.
    fn lock_holder(&self) -> Option<String> {
        let l = &self.job.lifecycle;
        l.locked_by.as_deref().map(crate::types::Actor::describe)
    }

    /// Whether this session holds the lock.
    fn locked_by_me(&self) -> bool {
        self.job.lifecycle.locked_by.as_deref() == Some(self.me.as_str())
    }
}

pub fn shown(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// What the job page shows: the job's status, each document's values
/// (once the job is finished) beside its page while the upload is kept.
pub(super) async fn job_page(
    jobs: &Jobs,
    templates: &Templates,
    session: &Session,
    job_id: &JobId,
    errors: &BTreeMap<String, String>,
    typed: &BTreeMap<String, String>,
    notice: Option<String>,
) -> Result<JobPage, DashError> {
    let status = jobs.status(&session.account_id, job_id).await?;
    let binned = jobs.binned_files(&session.account_id, job_id).await?;
    let finished = status.status.is_final();
    let mut results: BTreeMap<FileId, FileResult> = BTreeMap::new();
    if finished {
        match jobs
            .results(&session.account_id, job_id, ResultFormat::Json)
            .await
        {
            Ok(Results::Json(r)) => {
                results = r
                    .results
                    .into_iter()
                    .map(|f| (f.file_id.clone(), f))
                    .collect();
            }
            // Purged or binned results leave the page with statuses only.
            Ok(Results::Csv(_)) | Err(JobError::Purged(_) | JobError::Deleted(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // Each document's template: the job's, or (`auto`) the one chosen for it.
    let mut loaded: BTreeMap<TemplateId, LoadedTemplate> = BTreeMap::new();
    for id in status.files.iter().filter_map(|f| f.template_id.as_ref()) {
        if !loaded.contains_key(id) {
            if let Ok(t) = templates.load(id).await {
                loaded.insert(id.clone(), t);
            }
        }
    }
    let names = template_names(templates, &session.account_id).await?;
    let kept: BTreeMap<FileId, bool> = jobs
        .uploads_kept(&session.account_id, job_id)
        .await?
        .into_iter()
        .collect();
    let files = status
        .files
        .iter()
        .map(|f| {
            let result = results.remove(&f.file_id);
            let none = Map::new();
            let values = result
                .as_ref()
                .and_then(|r| r.result.as_ref())
                .unwrap_or(&none);
            let confidences = result.as_ref().and_then(|r| r.confidences.as_ref());
            let template = f.template_id.as_ref().and_then(|id| loaded.get(id));
            // The stored result names every field the job had, even if the
            // template changed since; the template only tells the types.
            let rows = values
                .iter()
                .map(|(name, v)| {
                    let key = format!("{}.{name}", f.file_id);
                    let ty = template
                        .and_then(|t| t.field(name))
                        .map_or_else(String::new, |d| d.ty.clone());
                    // What the reviewer typed into a grid comes back as rows.
                    let typed_rows = typed.get(&key).and_then(|t| serde_json::from_str(t).ok());
                    let grid = Grid::of(
                        typed_rows.as_ref().unwrap_or(v),
                        grid::columns_of(template, name),
                        confidences.and_then(|c| c.get(name)),
                    );
                    let row_error = || {
                        errors
                            .iter()
                            .find(|(k, _)| k.strip_prefix(&key).is_some_and(|r| r.starts_with('[')))
                            .map(|(_, e)| e.clone())
                    };
                    ValueRow {
                        grid,
                        name: name.clone(),
                        ty,
                        shown: shown(Some(v)),
                        input: typed.get(&key).cloned().unwrap_or_else(|| shown(Some(v))),
                        original: shown(Some(v)),
                        confidence: confidences
                            .and_then(|c| c.get(name))
                            .and_then(Value::as_f64)
                            .map(|c| format!("{:.0}%", c * 100.0))
                            .unwrap_or_default(),
                        error: errors.get(&key).cloned().or_else(row_error),
                    }
                })
                .collect();
            let reviewable = result.as_ref().is_some_and(FileResult::awaits_review);
            let boxes = boxes_of(result.as_ref().and_then(|r| r.boxes.as_ref()));
            let page = boxes.first().map_or(1, |b| b.page);
            let page_url = (kept.get(&f.file_id) == Some(&true) && f.pages.is_some()).then(|| {
                format!(
                    "/dashboard/jobs/{}/files/{}/pages/{page}",
                    status.job_id, f.file_id
                )
            });
            let template_name = f.template_id.as_ref().map_or_else(String::new, |id| {
                names
                    .get(id.as_str())
                    .cloned()
                    .unwrap_or_else(|| id.to_string())
            });
            FileView {
                template_name,
                status: f.clone(),
                boxes: boxes.into_iter().filter(|b| b.page == page).collect(),
                result,
                values: rows,
                page_url,
                reviewable,
            }
        })
        .collect();
    Ok(JobPage {
        nav: Nav::new(session, "jobs"),
        template_name: names
            .get(status.template_id.as_str())
            .cloned()
            .unwrap_or_else(|| status.template_id.to_string()),
        live: !finished,
        finished,
        job: status,
        files,
        notice,
        me: session.actor().name(),
        binned,
    })
}

pub async fn show(
    session: Session,
    id: web::Path<String>,
    jobs: web::Data<Jobs>,
    templates: web::Data<Templates>,
) -> Page {
    let id: JobId = path_id(&id)?;
    let none = BTreeMap::new();
    html(&job_page(&jobs, &templates, &session, &id, &none, &none, None).await?)
}

pub async fn results(
    session: Session,
    path: web::Path<(String, String)>,
    jobs: web::Data<Jobs>,
) -> Page {
    let (id, format) = path.into_inner();
    let job_id: JobId = path_id(&id)?;
    let format = match format.as_str() {
        "json" => ResultFormat::Json,
        "csv" => ResultFormat::Csv,
        _ => return Err(AppError::NotFound("results come as .json or .csv".into()).into()),
    };
    let disposition = |ext: &str| format!("attachment; filename=\"job-{id}.{ext}\"");
    Ok(
        match jobs.results(&session.account_id, &job_id, format).await? {
            Results::Json(v) => HttpResponse::Ok()
                .insert_header(("Content-Disposition", disposition("json")))
                .json(v),
            Results::Csv(text) => HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header(("Content-Disposition", disposition("csv")))
                .body(text),
        },
    )
}

pub async fn page_image(
    session: Session,
    path: web::Path<(String, String, u32)>,
    jobs: web::Data<Jobs>,
) -> Page {
    let (job, file, page) = path.into_inner();
    let (job, file) = job_and_file(&job, &file)?;
    let png = jobs
        .page_image(&session.account_id, &job, &file, page)
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header(("Cache-Control", "private, max-age=300"))
        .body(png))
}
