//! Jobs: the list (filters, paging, live while jobs run), one job with its
//! files, values and history, downloads, page images, and review.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::form::Form;
use super::session::Session;
use super::{html, see_other, DashError, Nav, Page};
use crate::api::schemas::{FileResult, JobStatusView};
use crate::db;
use crate::error::AppError;
use crate::jobs::listing::{JobQuery, JobSummary};
use crate::jobs::service::{ResultFormat, Results};
use crate::jobs::JobStatus;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    template_id: Option<String>,
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "jobs.html")]
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
    state: &AppState,
    account_id: &str,
) -> Result<BTreeMap<String, String>, DashError> {
    Ok(state
        .list_templates(account_id)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
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
    state: web::Data<AppState>,
) -> Page {
    let q = query.into_inner();
    let status = q.status.unwrap_or_default();
    let template_id = q.template_id.unwrap_or_default();
    let paged = q.cursor.is_some();
    let page = state
        .list_jobs(
            &session.account_id,
            &JobQuery {
                status: Some(status.clone()),
                template_id: Some(template_id.clone()),
                cursor: q.cursor,
                limit: None,
            },
        )
        .await?;
    let names = template_names(&state, &session.account_id).await?;
    let next = page.next_cursor.as_deref().map(|c| {
        format!(
            "/dashboard/jobs?{}",
            query_string(&[
                ("status", &status),
                ("template_id", &template_id),
                ("cursor", c)
            ])
        )
    });
    // The newest page keeps itself current (new jobs appear, running ones move on).
    let live = !paged
        || page
            .jobs
            .iter()
            .any(|j| j.status.parse::<JobStatus>().is_ok_and(|s| !s.is_final()));
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
}

/// A located value's box on a page, in fractions.
pub struct BoxView {
    pub name: String,
    pub page: u32,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

pub fn boxes_of(boxes: Option<&Value>) -> Vec<BoxView> {
    let Some(Value::Object(map)) = boxes else {
        return vec![];
    };
    map.iter()
        .filter_map(|(name, b)| {
            let n = |k: &str| b.get(k).and_then(Value::as_f64);
            Some(BoxView {
                name: name.clone(),
                page: n("page")? as u32,
                x: n("x")?,
                y: n("y")?,
                width: n("width")?,
                height: n("height")?,
            })
        })
        .collect()
}

struct FileView {
    status: crate::api::schemas::JobFileStatus,
    result: Option<FileResult>,
    values: Vec<ValueRow>,
    boxes: Vec<BoxView>,
    /// The page shown beside the values while the upload is kept.
    page_url: Option<String>,
    reviewable: bool,
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    nav: Nav,
    job: JobStatusView,
    template_name: String,
    files: Vec<FileView>,
    live: bool,
    finished: bool,
    notice: Option<String>,
}

pub fn shown(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

async fn job_page(
    state: &AppState,
    session: &Session,
    job_id: &str,
    errors: &BTreeMap<String, String>,
    typed: &BTreeMap<String, String>,
    notice: Option<String>,
) -> Result<JobPage, DashError> {
    let status: JobStatusView =
        serde_json::from_value(state.job_status(&session.account_id, job_id).await?)
            .map_err(anyhow::Error::from)
            .map_err(AppError::from)?;
    let finished = status
        .status
        .parse::<JobStatus>()
        .is_ok_and(JobStatus::is_final);
    let mut results: BTreeMap<String, FileResult> = BTreeMap::new();
    if finished {
        if let Ok(Results::Json(v)) = state
            .job_results(&session.account_id, job_id, ResultFormat::Json)
            .await
        {
            let list: Vec<FileResult> =
                serde_json::from_value(v["results"].clone()).unwrap_or_default();
            results = list.into_iter().map(|r| (r.file_id.clone(), r)).collect();
        }
    }
    let template = state.load_template(&status.template_id).await.ok();
    let names = template_names(state, &session.account_id).await?;
    let kept: BTreeMap<String, bool> = db::jobs::files_of(&state.db, &status.job_id)
        .await?
        .into_iter()
        .map(|f| (f.id, f.blob_key.is_some()))
        .collect();
    let files = status
        .files
        .iter()
        .map(|f| {
            let result = results.remove(&f.file_id);
            let values: Map<String, Value> = result
                .as_ref()
                .and_then(|r| r.result.as_ref())
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default();
            let confidences = result.as_ref().and_then(|r| r.confidences.clone());
            // The stored result names every field the job had, even if the
            // template changed since; the template only tells the types.
            let rows = values
                .iter()
                .map(|(name, v)| {
                    let key = format!("{}.{name}", f.file_id);
                    let ty = template
                        .as_ref()
                        .and_then(|t| t.field_defs.iter().find(|d| &d.name == name))
                        .map_or_else(String::new, |d| d.ty.clone());
                    ValueRow {
                        name: name.clone(),
                        ty,
                        shown: shown(Some(v)),
                        input: typed.get(&key).cloned().unwrap_or_else(|| shown(Some(v))),
                        original: shown(Some(v)),
                        confidence: confidences
                            .as_ref()
                            .and_then(|c| c.get(name))
                            .and_then(Value::as_f64)
                            .map(|c| format!("{:.0}%", c * 100.0))
                            .unwrap_or_default(),
                        error: errors.get(&key).cloned(),
                    }
                })
                .collect();
            let reviewable = result.as_ref().is_some_and(|r| {
                matches!(r.result_status.as_deref(), Some("needs_review" | "edited"))
            });
            let boxes = boxes_of(result.as_ref().and_then(|r| r.boxes.as_ref()));
            let page = boxes.first().map_or(1, |b| b.page);
            let page_url = (kept.get(&f.file_id) == Some(&true) && f.pages.is_some()).then(|| {
                format!(
                    "/dashboard/jobs/{}/files/{}/pages/{page}",
                    status.job_id, f.file_id
                )
            });
            FileView {
                status: crate::api::schemas::JobFileStatus {
                    file_id: f.file_id.clone(),
                    file_name: f.file_name.clone(),
                    status: f.status.clone(),
                    pages: f.pages,
                    error: f.error.clone(),
                },
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
            .get(&status.template_id)
            .cloned()
            .unwrap_or_else(|| status.template_id.clone()),
        live: !finished,
        finished,
        job: status,
        files,
        notice,
    })
}

pub async fn show(session: Session, id: web::Path<String>, state: web::Data<AppState>) -> Page {
    let none = BTreeMap::new();
    html(&job_page(&state, &session, &id, &none, &none, None).await?)
}

pub async fn results(
    session: Session,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Page {
    let (id, format) = path.into_inner();
    let format = match format.as_str() {
        "json" => ResultFormat::Json,
        "csv" => ResultFormat::Csv,
        _ => return Err(AppError::NotFound("results come as .json or .csv".into()).into()),
    };
    let disposition = |ext: &str| format!("attachment; filename=\"job-{id}.{ext}\"");
    Ok(
        match state.job_results(&session.account_id, &id, format).await? {
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
    state: web::Data<AppState>,
) -> Page {
    let (job, file, page) = path.into_inner();
    let png = state
        .page_image(&session.account_id, &job, &file, page)
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header(("Cache-Control", "private, max-age=300"))
        .body(png))
}

/// Save (values checked against the field types; emits `extraction.edited`)
/// or Confirm (changed values are saved first; emits `extraction.confirmed`).
pub async fn review(
    session: Session,
    path: web::Path<(String, String)>,
    form: Form,
    state: web::Data<AppState>,
) -> Page {
    session.check_csrf(form.get("csrf"))?;
    let (job_id, file_id) = path.into_inner();
    let back = format!("/dashboard/jobs/{job_id}#file-{file_id}");
    let confirm = form.get("action") == Some("confirm");
    // Only what the reviewer changed: unchanged values are not re-parsed.
    let changed: Vec<(String, &str)> = form
        .names_with_prefix("value.")
        .into_iter()
        .filter(|(name, v)| form.get(&format!("original.{name}")) != Some(*v))
        .collect();
    let edits: Map<String, Value> = changed
        .iter()
        .map(|(name, v)| {
            let v = v.trim();
            let value = if v.is_empty() {
                Value::Null
            } else {
                Value::String(v.to_string())
            };
            (name.clone(), value)
        })
        .collect();
    let saved = if edits.is_empty() && confirm {
        Ok(())
    } else {
        state
            .edit_result(&session.account_id, &job_id, &file_id, edits)
            .await
            .map(|_| ())
    };
    match saved {
        Ok(()) => {
            if confirm {
                state
                    .confirm_result(&session.account_id, &job_id, &file_id)
                    .await?;
            }
            see_other(&back)
        }
        Err(AppError::Unprocessable(message)) => {
            let mut errors = BTreeMap::new();
            // "result.NAME: why" names the field; the page shows it beside that input.
            if let Some((name, _)) = message
                .strip_prefix("result.")
                .and_then(|m| m.split_once(": "))
            {
                errors.insert(format!("{file_id}.{name}"), message.clone());
            }
            // What the reviewer typed stays in the form.
            let typed: BTreeMap<String, String> = changed
                .into_iter()
                .map(|(name, v)| (format!("{file_id}.{name}"), v.to_string()))
                .collect();
            let notice = Some(format!("Not saved: {message}"));
            let page = job_page(&state, &session, &job_id, &errors, &typed, notice).await?;
            let mut resp = html(&page)?;
            *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
        Err(e) => Err(e.into()),
    }
}
