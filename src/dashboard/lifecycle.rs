//! A job's lifecycle from the dashboard (SPEC §3): to the recycle bin and
//! back, erased, held and released, locked for review; and the audit log.

use actix_web::web;
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

use super::form::Form;
use super::session::Session;
use super::{html, see_other, Nav, Page};
use crate::accounts::{Accounts, AuditEntry, AuditQuery};
use crate::api::{job_and_file, path_id, AppError};
use crate::jobs::{Deletion, Jobs};
use crate::types::JobId;

/// Runs one action on the job and goes back to where it now is.
pub async fn action(
    session: Session,
    path: web::Path<String>,
    form: Form,
    jobs: web::Data<Jobs>,
) -> Page {
    session.check_csrf(form.get("csrf"))?;
    let id: JobId = path_id(&path)?;
    let (account, actor) = (&session.account_id, session.actor());
    let back = format!("/dashboard/jobs/{id}");
    match form.get("action").unwrap_or_default() {
        "delete" => {
            jobs.delete(account, &id, None, Deletion::ToBin, &actor)
                .await?
        }
        "erase" => {
            // What erasure destroys is named beside the box that must be ticked.
            if form.get("confirm") != Some("erase") {
                let m = "tick the box to confirm the erasure: it cannot be undone";
                return Err(AppError::BadRequest(m.into()).into());
            }
            jobs.delete(account, &id, None, Deletion::Erase, &actor)
                .await?;
            return see_other("/dashboard/audit");
        }
        "restore" => drop(jobs.restore(account, &id, None, &actor).await?),
        "hold" => drop(jobs.hold(account, &id, true, &actor).await?),
        "release" => drop(jobs.hold(account, &id, false, &actor).await?),
        "lock" => drop(jobs.lock(account, &id, true, &actor).await?),
        "unlock" => drop(jobs.lock(account, &id, false, &actor).await?),
        other => {
            let m = format!("{other:?} is not an action on a job");
            return Err(AppError::BadRequest(m).into());
        }
    }
    see_other(&back)
}

/// Bins, restores or erases one document, and goes back to its job.
pub async fn file_action(
    session: Session,
    path: web::Path<(String, String)>,
    form: Form,
    jobs: web::Data<Jobs>,
) -> Page {
    session.check_csrf(form.get("csrf"))?;
    let (job_id, file_id) = job_and_file(&path.0, &path.1)?;
    let (account, actor) = (&session.account_id, session.actor());
    let file = Some(&file_id);
    match form.get("action").unwrap_or_default() {
        "delete" => {
            jobs.delete(account, &job_id, file, Deletion::ToBin, &actor)
                .await?
        }
        "erase" if form.get("confirm") == Some("erase") => {
            jobs.delete(account, &job_id, file, Deletion::Erase, &actor)
                .await?
        }
        "erase" => {
            let m = "tick the box to confirm the erasure: it cannot be undone";
            return Err(AppError::BadRequest(m.into()).into());
        }
        "restore" => drop(jobs.restore(account, &job_id, file, &actor).await?),
        other => {
            let m = format!("{other:?} is not an action on a document");
            return Err(AppError::BadRequest(m).into());
        }
    }
    see_other(&format!("/dashboard/jobs/{job_id}"))
}

#[derive(Deserialize)]
pub struct AuditListQuery {
    object_type: Option<String>,
    cursor: Option<String>,
}

/// One row as the page shows it.
struct AuditRow {
    entry: AuditEntry,
    changes: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "dashboard/audit.html")]
struct AuditPageView {
    nav: Nav,
    rows: Vec<AuditRow>,
    object_type: String,
    next: Option<String>,
}

fn compact(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub async fn audit(
    session: Session,
    query: web::Query<AuditListQuery>,
    accounts: web::Data<Accounts>,
) -> Page {
    let q = query.into_inner();
    let object_type = q.object_type.unwrap_or_default();
    let page = accounts
        .audit_log(
            &session.account_id,
            &AuditQuery {
                object_type: Some(object_type.clone()),
                cursor: q.cursor,
                ..AuditQuery::default()
            },
        )
        .await?;
    let next = page.next_cursor.map(|c| {
        let q = [
            ("object_type", object_type.as_str()),
            ("cursor", c.as_str()),
        ];
        let kept: Vec<_> = q.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        format!(
            "/dashboard/audit?{}",
            serde_urlencoded::to_string(kept).unwrap_or_default()
        )
    });
    let rows = page
        .items
        .into_iter()
        .map(|entry| AuditRow {
            changes: entry
                .changes
                .iter()
                .map(|(k, c)| (k.clone(), compact(&c["before"]), compact(&c["after"])))
                .collect(),
            entry,
        })
        .collect();
    html(&AuditPageView {
        nav: Nav::new(&session, "audit"),
        rows,
        object_type,
        next,
    })
}
