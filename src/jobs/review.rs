//! Review (SPEC §3): a person corrects extracted values, checked against the
//! template's field types, or confirms them; each emits its event.

use sea_orm::{ActiveModelTrait, IntoActiveModel, Set, TransactionTrait};
use serde_json::{json, Map, Value};

use super::JobStatus;
use crate::db::{self, entities::files};
use crate::delivery::{self, NewEvent};
use crate::error::{AppError, AppResult};
use crate::extraction::values;
use crate::outbound::EventType;
use crate::state::AppState;
use crate::templates::fields::{compile, FieldType};
use crate::templates::service::LoadedTemplate;

pub const EDITED: &str = "edited";
pub const CONFIRMED: &str = "confirmed";

fn bad(m: String) -> AppError {
    AppError::Unprocessable(m)
}

/// Checks one edited value against its field's type and returns it normalised.
fn typed_value(template: &LoadedTemplate, name: &str, v: &Value) -> AppResult<Value> {
    let def = template
        .field_defs
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| bad(format!("result.{name}: the template has no such field")))?;
    let field = compile(def).map_err(|e| bad(format!("result.{name}: {e}")))?;
    let decimal = template
        .options
        .decimal_separator
        .chars()
        .next()
        .unwrap_or('.');
    let type_name = &def.ty;
    let parsed = match (field.ty, v) {
        (_, Value::Null) => Some(Value::Null),
        (FieldType::String, Value::String(s)) => Some(Value::String(s.clone())),
        (FieldType::Number, Value::Number(n)) if n.as_f64().is_some() => Some(v.clone()),
        (FieldType::Integer, Value::Number(n)) if n.as_i64().is_some() => Some(v.clone()),
        (FieldType::Boolean, Value::Bool(_)) => Some(v.clone()),
        (FieldType::String, _) => None,
        (ty, Value::String(s)) => values::parse(ty, s, decimal, &field.date_formats),
        _ => None,
    };
    parsed.ok_or_else(|| bad(format!("result.{name}: {v} is not a valid {type_name}")))
}

impl AppState {
    async fn reviewable(
        &self,
        account_id: &str,
        job_id: &str,
        file_id: &str,
    ) -> AppResult<(db::entities::jobs::Model, files::Model)> {
        let job = db::jobs::get(&self.db, account_id, job_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("job {job_id} not found")))?;
        if job.purged_at.is_some() {
            return Err(AppError::Gone(format!(
                "the results of job {job_id} were purged after the retention period"
            )));
        }
        let file = db::jobs::get_file(&self.db, file_id)
            .await?
            .filter(|f| f.job_id == job.id)
            .ok_or_else(|| {
                AppError::NotFound(format!("file {file_id} not found in job {job_id}"))
            })?;
        if file.status != JobStatus::ProcessImageSuccess.as_str() {
            return Err(AppError::Conflict(format!(
                "file {file_id} has no result to review (status {})",
                file.status
            )));
        }
        if file.result_status.as_deref() == Some(CONFIRMED) {
            return Err(AppError::Conflict(format!(
                "the result of file {file_id} is already confirmed"
            )));
        }
        Ok((job, file))
    }

    /// Applies edits to named fields; other fields keep their values.
    pub async fn edit_result(
        &self,
        account_id: &str,
        job_id: &str,
        file_id: &str,
        edits: Map<String, Value>,
    ) -> AppResult<Value> {
        if edits.is_empty() {
            return Err(bad("result: an object of field values is required".into()));
        }
        let (job, file) = self.reviewable(account_id, job_id, file_id).await?;
        let template = self.load_template(&job.template_id).await?;
        let mut result: Map<String, Value> = file
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default();
        let mut changes = Map::new();
        for (name, v) in &edits {
            let new = typed_value(&template, name, v)?;
            let old = result
                .insert(name.clone(), new.clone())
                .unwrap_or(Value::Null);
            if old != new {
                changes.insert(name.clone(), json!({"from": old, "to": new}));
            }
        }
        self.save_review(
            &job,
            file,
            result,
            EDITED,
            EventType::ExtractionEdited,
            Some(changes),
            &template,
        )
        .await
    }

    pub async fn confirm_result(
        &self,
        account_id: &str,
        job_id: &str,
        file_id: &str,
    ) -> AppResult<Value> {
        let (job, file) = self.reviewable(account_id, job_id, file_id).await?;
        let template = self.load_template(&job.template_id).await?;
        let result: Map<String, Value> = file
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default();
        let confirmed = self
            .save_review(
                &job,
                file,
                result,
                CONFIRMED,
                EventType::ExtractionConfirmed,
                None,
                &template,
            )
            .await?;
        // The reviewer is done with the pages; a failure here leaves the upload to the retention purge.
        if let Err(e) = crate::delivery::worker::release_upload(self, file_id).await {
            tracing::warn!(error = %e, file_id, "releasing a confirmed document's upload failed");
        }
        Ok(confirmed)
    }

    #[allow(clippy::too_many_arguments)]
    async fn save_review(
        &self,
        job: &db::entities::jobs::Model,
        file: files::Model,
        result: Map<String, Value>,
        result_status: &str,
        event_type: EventType,
        changes: Option<Map<String, Value>>,
        template: &LoadedTemplate,
    ) -> AppResult<Value> {
        let warnings: Value = file
            .warnings
            .as_deref()
            .and_then(|w| serde_json::from_str(w).ok())
            .unwrap_or_else(|| json!([]));
        let mut data = json!({
            "job_id": job.id,
            "template_id": job.template_id,
            "file_id": file.id,
            "file_name": file.file_name,
            "pages": file.pages,
            "static_values": serde_json::from_str::<Value>(&job.static_values).unwrap_or_else(|_| json!({})),
            "result": result,
            "result_status": result_status,
            "warnings": warnings,
        });
        if let Some(c) = changes {
            data["changes"] = Value::Object(c);
        }
        let txn = self.db.begin().await?;
        let mut active = file.clone().into_active_model();
        active.result = Set(Some(Value::Object(result).to_string()));
        active.result_status = Set(Some(result_status.to_string()));
        active.updated_at = Set(db::now_ms());
        active.update(&txn).await?;
        let event_id = delivery::emit(
            &txn,
            NewEvent {
                event_type,
                account_id: &job.account_id,
                job_id: &job.id,
                file_id: Some(&file.id),
                template_id: &job.template_id,
                data: data.clone(),
            },
            template.webhook.as_ref(),
        )
        .await?;
        txn.commit().await?;
        self.deliveries_ready.notify_one();
        data["event_id"] = Value::String(event_id);
        Ok(data)
    }
}
