//! Review from the job page: values and line-item grids saved or confirmed,
//! a refused value shown beside its input with what the reviewer typed.

use std::collections::BTreeMap;

use actix_web::web;
use serde_json::{Map, Value};

use super::form::Form;
use super::grid;
use super::jobs::job_page;
use super::session::Session;
use super::{html, see_other, Page};
use crate::api::{job_and_file, AppError};
use crate::jobs::{JobError, Jobs};
use crate::templates::Templates;

/// Save (values checked against the field types; emits `extraction.edited`)
/// or Confirm (changed values are saved first; emits `extraction.confirmed`).
pub async fn review(
    session: Session,
    path: web::Path<(String, String)>,
    form: Form,
    jobs: web::Data<Jobs>,
    templates: web::Data<Templates>,
) -> Page {
    session.check_csrf(form.get("csrf"))?;
    let (job_id, file_id) = path.into_inner();
    let (job_id, file_id) = job_and_file(&job_id, &file_id)?;
    let back = format!("/dashboard/jobs/{job_id}#file-{file_id}");
    let confirm = form.get("action") == Some("confirm");
    // Only what the reviewer changed: unchanged values are not re-parsed.
    let changed: Vec<(String, &str)> = form
        .names_with_prefix("value.")
        .into_iter()
        .filter(|(name, v)| form.get(&format!("original.{name}")) != Some(*v))
        .collect();
    let mut edits: Map<String, Value> = changed
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
    // Grids: the rows as the reviewer left them, sent whole when any cell,
    // added row or deletion differs from what was shown.
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    for (name, _) in form.names_with_prefix("columns.") {
        if let Some(value) = grid::edited_rows(&form, &name).map_err(AppError::BadRequest)? {
            typed.insert(format!("{file_id}.{name}"), value.to_string());
            edits.insert(name, value);
        }
    }
    let saved = if edits.is_empty() && confirm {
        Ok(())
    } else {
        jobs.edit_result(
            &session.account_id,
            &job_id,
            &file_id,
            edits,
            &session.actor(),
        )
        .await
        .map(|_| ())
    };
    match saved {
        Ok(()) => {
            if confirm {
                jobs.confirm_result(&session.account_id, &job_id, &file_id, &session.actor())
                    .await?;
            }
            see_other(&back)
        }
        Err(e) => {
            // The page shows a value's error beside its input.
            let field = match &e {
                JobError::InvalidValue { field, .. } => Some(field.clone()),
                _ => None,
            };
            // What the API would refuse as invalid is shown on the page; the rest is an error page.
            let message = match AppError::from(e) {
                AppError::Unprocessable(message) => message,
                other => return Err(other.into()),
            };
            let mut errors = BTreeMap::new();
            if let Some(field) = field {
                errors.insert(format!("{file_id}.{field}"), message.clone());
            }
            // What the reviewer typed stays in the form.
            typed.extend(
                changed
                    .into_iter()
                    .map(|(name, v)| (format!("{file_id}.{name}"), v.to_string())),
            );
            let notice = Some(format!("Not saved: {message}"));
            let page = job_page(
                &jobs, &templates, &session, &job_id, &errors, &typed, notice,
            )
            .await?;
            let mut resp = html(&page)?;
            *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
    }
}
