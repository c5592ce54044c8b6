//! Try a template on a document without a job: the values, their confidences
//! and boxes, and the page sizes. Pages are charged as a job's would be.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::fields::{self, FieldDef, Options};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::extraction::{self, DocKind};
use crate::json_input::{objects, optional_object};
use crate::state::AppState;

/// The template part of a preview: fields and options as in a template.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewTemplate {
    #[serde(deserialize_with = "objects")]
    pub fields: Vec<FieldDef>,
    #[serde(default, deserialize_with = "optional_object")]
    pub options: Option<Options>,
}

/// A page's size in its own units (points for PDF text, pixels for scans).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PageSize {
    pub number: u32,
    pub width: f32,
    pub height: f32,
}

/// What the template found in the document.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Preview {
    /// `ok` or `needs_review`.
    pub result_status: String,
    #[schema(value_type = Object)]
    pub result: Map<String, Value>,
    #[schema(value_type = Object)]
    pub confidences: Map<String, Value>,
    /// Field → `{page, x, y, width, height}` in page fractions, or `null`.
    #[schema(value_type = Object)]
    pub boxes: Map<String, Value>,
    pub warnings: Vec<String>,
    pub pages: Vec<PageSize>,
}

impl AppState {
    pub async fn preview(
        &self,
        account_id: &str,
        template: PreviewTemplate,
        bytes: Vec<u8>,
    ) -> AppResult<Preview> {
        let (_, compiled) =
            fields::check_fields(template.fields).map_err(|e| AppError::Unprocessable(e.0))?;
        let options =
            fields::check_options(template.options).map_err(|e| AppError::Unprocessable(e.0))?;
        let limit = self.settings.limits.max_upload_bytes;
        if bytes.len() as u64 > limit {
            return Err(AppError::PayloadTooLarge(format!(
                "the document is {} bytes, over the limit of {limit} bytes",
                bytes.len()
            )));
        }
        if bytes.is_empty() {
            return Err(AppError::Unprocessable(
                "actual_image is empty: send the document's bytes".into(),
            ));
        }
        // Refused before reading: a preview costs at least one page.
        let credits = db::accounts::get(&self.db, account_id)
            .await?
            .map_or(0, |a| a.credits);
        if credits < 1 {
            return Err(AppError::Conflict(
                "insufficient credits: a preview is charged its pages like a job".into(),
            ));
        }
        let kind = match DocKind::detect(&bytes) {
            Some(DocKind::Zip) | None => {
                return Err(AppError::UnsupportedMediaType(
                    "a preview reads one PDF, PNG, JPEG, TIFF or WebP document (detected from its content)".into(),
                ))
            }
            Some(k) => k,
        };
        let (doc, ex) = self
            .reader
            .extract(kind, bytes, &compiled, &options, extraction::no_progress())
            .await
            .map_err(|e| AppError::Unprocessable(format!("actual_image: {e}")))?;
        let pages = doc.pages.len() as i64;
        if !db::accounts::charge_preview(&self.db, account_id, pages).await? {
            let balance = db::accounts::get(&self.db, account_id)
                .await?
                .map_or(0, |a| a.credits);
            return Err(AppError::Conflict(format!(
                "insufficient credits: {pages} page(s) needed, {balance} available"
            )));
        }
        let sizes = doc
            .pages
            .iter()
            .map(|p| PageSize {
                number: p.number,
                width: p.width,
                height: p.height,
            })
            .collect();
        Ok(Preview {
            result_status: ex.result_status().to_string(),
            result: ex.values,
            confidences: ex.confidences,
            boxes: ex.boxes,
            warnings: ex.warnings,
            pages: sizes,
        })
    }
}
