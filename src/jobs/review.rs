//! Review (SPEC §3): a person corrects extracted values, checked against the
//! template's field types, or confirms them; each emits its event.

use sea_orm::{ActiveModelTrait, IntoActiveModel, Set, TransactionTrait};
use serde_json::{json, Map, Value};

use super::service::static_values;
use super::views::Reviewed;
use super::{JobError, Jobs};
use crate::db::{self, entities::files, entities::jobs};
use crate::delivery::{self, NewEvent};
use crate::extraction::values::{self, Parsing};
use crate::spec::{FieldType, Locator, Matches, Rows};
use crate::templates::LoadedTemplate;
use crate::types::{
    AccountId, Actor, EventType, FileId, JobId, JobStatus, Origin, ResultStatus, TemplateChoice,
};

fn invalid(field: &str, reason: impl Into<String>) -> JobError {
    JobError::InvalidValue {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// Checks one edited value against its field's type and returns it normalised.
fn typed_value(template: &LoadedTemplate, name: &str, v: &Value) -> Result<Value, JobError> {
    let c = &template.compiled;
    let (ty, formats, several) = match c.fields.iter().find(|f| f.name == name) {
        Some(f) => (
            f.ty,
            f.date_formats.as_slice(),
            matches!(f.matches, Matches::All | Matches::Unique),
        ),
        None => {
            let group = c
                .blocks
                .iter()
                .flat_map(|b| &b.groups)
                .find(|(n, _)| n == name);
            match group {
                Some((_, ty)) => (*ty, &[][..], true),
                None => return Err(invalid(name, "the template has no such field")),
            }
        }
    };
    let how = Parsing {
        decimal: template.options.decimal(),
        dates: &c.dates,
        field_formats: formats,
    };
    let rows = c
        .fields
        .iter()
        .find(|f| f.name == name)
        .and_then(|f| match &f.locator {
            Locator::Rows(rows) => Some(rows),
            _ => None,
        });
    let parsed = match (rows, v) {
        (Some(rows), Value::Array(items)) => {
            return items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    typed_row(rows, item, &how).map_err(|e| invalid(&format!("{name}[{i}]"), e))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        (Some(_), _) => None,
        (None, Value::Array(items)) if several => items
            .iter()
            .map(|v| typed_cell(ty, v, &how))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        (None, v) => typed_cell(ty, v, &how),
    };
    let ty_name = template.field(name).map_or("value", |d| d.ty.as_str());
    parsed.ok_or_else(|| invalid(name, format!("{v} is not a valid {ty_name}")))
}

/// One value of a scalar type: JSON of that type, or text that parses as it.
fn typed_cell(ty: FieldType, v: &Value, how: &Parsing) -> Option<Value> {
    match (ty, v) {
        (_, Value::Null) => Some(Value::Null),
        (FieldType::String, Value::String(s)) => Some(Value::String(s.clone())),
        (FieldType::Number, Value::Number(n)) if n.as_f64().is_some() => Some(v.clone()),
        (FieldType::Integer, Value::Number(n)) if n.as_i64().is_some() => Some(v.clone()),
        (FieldType::Boolean, Value::Bool(_)) => Some(v.clone()),
        (FieldType::String, _) => None,
        (ty, Value::String(s)) => values::parse(ty, s, how),
        _ => None,
    }
}

/// One edited row of a lines field: an object of the field's columns, each
/// typed; a column left out is `null`.
fn typed_row(rows: &Rows, item: &Value, how: &Parsing) -> Result<Value, String> {
    let Value::Object(cells) = item else {
        return Err(format!("{item} is not a row (an object of columns)"));
    };
    if let Some(unknown) = cells.keys().find(|k| rows.column(k).is_none()) {
        return Err(format!("{unknown:?} is not a column of this field"));
    }
    let mut out = Map::new();
    for (column, ty) in &rows.columns {
        let v = cells.get(column).unwrap_or(&Value::Null);
        let typed = typed_cell(*ty, v, how)
            .ok_or_else(|| format!("{column}: {v} is not a valid {}", ty.name()))?;
        out.insert(column.clone(), typed);
    }
    Ok(Value::Object(out))
}

/// A document's stored values.
fn stored_result(file: &files::Model) -> Result<Map<String, Value>, JobError> {
    Ok(db::json_opt("files.result", file.result.as_deref())?.unwrap_or_default())
}

impl Jobs {
    async fn reviewable(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
        file_id: &FileId,
        actor: &Actor,
    ) -> Result<(jobs::Model, files::Model), JobError> {
        let job = self.owned(account_id, job_id).await?;
        if job.purged_at.is_some() {
            return Err(JobError::Purged(job.id));
        }
        if job.deleted_at.is_some() {
            return Err(JobError::Deleted(job.id));
        }
        self.check_lock(&job, actor)?;
        let file = self.owned_file(&job, file_id).await?;
        if file.deleted_at.is_some() {
            return Err(JobError::FileDeleted {
                job: job.id,
                file: file.id,
            });
        }
        if file.status != JobStatus::ProcessImageSuccess {
            return Err(JobError::NotReviewable(format!(
                "file {file_id} has no result to review (status {})",
                file.status
            )));
        }
        if file.result_status == Some(ResultStatus::Confirmed) {
            return Err(JobError::NotReviewable(format!(
                "the result of file {file_id} is already confirmed"
            )));
        }
        Ok((job, file))
    }

    /// Applies edits to named fields; other fields keep their values.
    pub async fn edit_result(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
        file_id: &FileId,
        edits: Map<String, Value>,
        actor: &Actor,
    ) -> Result<Reviewed, JobError> {
        if edits.is_empty() {
            return Err(JobError::Rejected(
                "result: an object of field values is required".into(),
            ));
        }
        let (job, file) = self.reviewable(account_id, job_id, file_id, actor).await?;
        let template = self.file_template(&job, &file).await?;
        let mut result = stored_result(&file)?;
        let mut confidences: Map<String, Value> =
            db::json_opt("files.confidences", file.confidences.as_deref())?.unwrap_or_default();
        let mut boxes: Map<String, Value> =
            db::json_opt("files.boxes", file.boxes.as_deref())?.unwrap_or_default();
        let mut changes = Map::new();
        for (name, v) in &edits {
            let new = typed_value(&template, name, v)?;
            let old = result
                .insert(name.clone(), new.clone())
                .unwrap_or(Value::Null);
            if old != new {
                let rows = template
                    .compiled
                    .fields
                    .iter()
                    .any(|f| f.name == *name && matches!(f.locator, Locator::Rows(_)));
                // What a person typed is certain; a table's rows keep the
                // confidence and box of the row they were read as, if unchanged.
                if rows {
                    let sure = realigned(&old, &new, confidences.get(name), json!(1.0));
                    let at = realigned(&old, &new, boxes.get(name), Value::Null);
                    confidences.insert(name.clone(), sure);
                    boxes.insert(name.clone(), at);
                } else {
                    confidences.insert(name.clone(), json!(1.0));
                }
                changes.insert(name.clone(), json!({"from": old, "to": new}));
            }
        }
        let review = Review {
            result,
            confidences: Some(confidences),
            boxes: Some(boxes),
            status: ResultStatus::Edited,
            event: EventType::ExtractionEdited,
            changes: Some(changes),
            origin: actor.origin(),
        };
        self.save_review(&job, file, review, &template).await
    }

    pub async fn confirm_result(
        &self,
        account_id: &AccountId,
        job_id: &JobId,
        file_id: &FileId,
        actor: &Actor,
    ) -> Result<Reviewed, JobError> {
        let (job, file) = self.reviewable(account_id, job_id, file_id, actor).await?;
        let template = self.file_template(&job, &file).await?;
        let review = Review {
            result: stored_result(&file)?,
            confidences: None,
            boxes: None,
            status: ResultStatus::Confirmed,
            event: EventType::ExtractionConfirmed,
            changes: None,
            origin: actor.origin(),
        };
        let confirmed = self.save_review(&job, file, review, &template).await?;
        // The reviewer is done with the pages; a failure here leaves the upload to the retention purge.
        let released =
            delivery::release_uploads(&self.db, &self.blobs, vec![file_id.clone()]).await;
        if let Err(e) = released {
            tracing::warn!(error = %e, %file_id, "releasing a confirmed document's upload failed");
        }
        Ok(confirmed)
    }

    /// The template a reviewed document was read with.
    async fn file_template(
        &self,
        job: &jobs::Model,
        file: &files::Model,
    ) -> Result<LoadedTemplate, JobError> {
        let id = file
            .template_id
            .as_ref()
            .or(job.template_id.fixed())
            .ok_or_else(|| {
                JobError::NotReviewable(format!("file {} was read with no template", file.id))
            })?;
        Ok(self.templates.load(id).await?)
    }

    async fn save_review(
        &self,
        job: &jobs::Model,
        file: files::Model,
        review: Review,
        template: &LoadedTemplate,
    ) -> Result<Reviewed, JobError> {
        let mut warnings: Vec<String> =
            db::json_opt("files.warnings", file.warnings.as_deref())?.unwrap_or_default();
        // The checks run again on the reviewed values (SPEC §2.3).
        warnings.retain(|w| !template.compiled.checks.iter().any(|c| c.is_about(w)));
        warnings.extend(
            template
                .compiled
                .checks
                .iter()
                .filter_map(|c| c.failure(&review.result)),
        );
        let static_values = static_values(job)?;
        let read_with = TemplateChoice::Fixed(template.id.clone());
        let mut data = json!({
            "job_id": job.id,
            "template_id": read_with,
            "file_id": file.id,
            "file_name": file.file_name,
            "pages": file.pages,
            "static_values": static_values,
            "result": review.result,
            "result_status": review.status,
            "warnings": warnings,
        });
        if let Some(c) = &review.changes {
            data["changes"] = Value::Object(c.clone());
        }
        let txn = self.db.begin().await?;
        let mut active = file.clone().into_active_model();
        active.result = Set(Some(Value::Object(review.result.clone()).to_string()));
        active.result_status = Set(Some(review.status));
        active.warnings = Set(Some(json!(warnings).to_string()));
        if let Some(c) = &review.confidences {
            active.confidences = Set(Some(Value::Object(c.clone()).to_string()));
        }
        if let Some(b) = &review.boxes {
            active.boxes = Set(Some(Value::Object(b.clone()).to_string()));
        }
        active.updated_at = Set(db::now_ms());
        active.update(&txn).await?;
        let emitted = delivery::emit(
            &txn,
            NewEvent {
                event_type: review.event,
                account_id: &job.account_id,
                job_id: Some(&job.id),
                file_id: Some(&file.id),
                template_id: &read_with,
                about: None,
                origin: review.origin,
                data,
            },
            template.webhook.as_ref(),
        )
        .await?;
        txn.commit().await?;
        self.deliveries_ready.notify_one();
        Ok(Reviewed {
            job_id: job.id.clone(),
            template_id: read_with.clone(),
            file_id: file.id,
            file_name: file.file_name,
            pages: file.pages,
            static_values,
            result: review.result,
            result_status: review.status,
            warnings,
            changes: review.changes,
            event_id: emitted.id,
        })
    }
}

/// A review to save: the values, their new status, the event that announces it.
struct Review {
    result: Map<String, Value>,
    /// The confidences and boxes when an edit changed them.
    confidences: Option<Map<String, Value>>,
    boxes: Option<Map<String, Value>>,
    status: ResultStatus,
    event: EventType,
    changes: Option<Map<String, Value>>,
    /// Who reviewed: an API key or a dashboard user.
    origin: Origin,
}

/// A per-row list (confidences, boxes) for a lines field's rows once a
/// reviewer has changed them: a row left as it was read keeps its entry
/// wherever it now stands; rows added or edited get `fill`.
fn realigned(old: &Value, new: &Value, before: Option<&Value>, fill: Value) -> Value {
    let (Some(old_rows), Some(new_rows)) = (old.as_array(), new.as_array()) else {
        return fill;
    };
    let mut unused: Vec<(&Value, Option<&Value>)> = old_rows
        .iter()
        .enumerate()
        .map(|(i, row)| (row, before.and_then(|b| b.get(i))))
        .collect();
    let kept = new_rows
        .iter()
        .map(|row| match unused.iter().position(|(r, _)| *r == row) {
            Some(at) => unused.remove(at).1.cloned().unwrap_or(Value::Null),
            None => fill.clone(),
        })
        .collect();
    Value::Array(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_left_as_read_keep_their_confidence_wherever_they_move() {
        let old = json!([{"a": 1}, {"a": 2}, {"a": 3}]);
        // The first row deleted, the third edited, one added.
        let new = json!([{"a": 2}, {"a": 30}, {"a": 4}]);
        let before = json!([0.5, 0.6, 0.7]);
        assert_eq!(
            realigned(&old, &new, Some(&before), json!(1.0)),
            json!([0.6, 1.0, 1.0])
        );
        let boxes = json!([{"page": 1}, {"page": 2}, {"page": 3}]);
        assert_eq!(
            realigned(&old, &new, Some(&boxes), Value::Null),
            json!([{"page": 2}, null, null])
        );
    }
}
