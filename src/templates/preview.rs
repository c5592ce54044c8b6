//! Try a template on a document without a job: the values, their confidences
//! and boxes, and the page sizes. Pages are charged as a job's would be.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{TemplateError, Templates};
use crate::db;
use crate::extraction::{self, DocKind};
use crate::json_input::{objects, optional_object};
use crate::spec::{self, BlockDef, CheckDef, FieldDef, Options, TemplateRules};
use crate::types::{AccountId, ResultStatus};

/// The template part of a preview: fields and options as in a template.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewTemplate {
    #[serde(deserialize_with = "objects")]
    pub fields: Vec<FieldDef>,
    #[serde(default, deserialize_with = "optional_object")]
    pub options: Option<Options>,
    #[serde(default)]
    pub blocks: Option<Vec<BlockDef>>,
    #[serde(default)]
    pub checks: Option<Vec<CheckDef>>,
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
    #[schema(value_type = String)]
    pub result_status: ResultStatus,
    #[schema(value_type = Object)]
    pub result: Map<String, Value>,
    #[schema(value_type = Object)]
    pub confidences: Map<String, Value>,
    /// Field → `{page, x, y, width, height}` in page fractions, or `null`.
    #[schema(value_type = Object)]
    pub boxes: Map<String, Value>,
    pub warnings: Vec<String>,
    pub pages: Vec<PageSize>,
    /// Every word read, for the dashboard's drawing tools (a table's header
    /// drawn on the page becomes its column labels); not sent by the API.
    #[serde(skip)]
    pub words: Vec<PageWord>,
}

/// One word of a previewed page, its box in page fractions.
#[derive(Debug, Clone, Serialize)]
pub struct PageWord {
    pub page: u32,
    pub text: String,
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl PageWord {
    fn all(doc: &extraction::document::Document) -> Vec<Self> {
        doc.pages
            .iter()
            .flat_map(|p| {
                let (w, h) = (p.width.max(f32::EPSILON), p.height.max(f32::EPSILON));
                p.words().map(move |word| Self {
                    page: p.number,
                    text: word.text.clone(),
                    x: word.left / w,
                    y: word.top / h,
                    width: (word.right - word.left) / w,
                    height: (word.bottom - word.top) / h,
                })
            })
            .collect()
    }
}

impl Templates {
    /// Reads `bytes` with `template` as a job would, charging its pages.
    pub async fn preview(
        &self,
        account_id: &AccountId,
        template: PreviewTemplate,
        bytes: Vec<u8>,
    ) -> Result<Preview, TemplateError> {
        let invalid = |e: spec::InvalidTemplate| TemplateError::Invalid(e.0);
        let (defs, _) = spec::check_fields(template.fields).map_err(invalid)?;
        let options = spec::check_options(template.options).map_err(invalid)?;
        let rules = TemplateRules {
            blocks: template.blocks.unwrap_or_default(),
            checks: template.checks.unwrap_or_default(),
            ..TemplateRules::default()
        };
        let compiled =
            std::sync::Arc::new(spec::compile_template(&defs, &options, &rules).map_err(invalid)?);
        let limit = self.max_upload;
        if bytes.len() as u64 > limit {
            return Err(TemplateError::TooLarge {
                size: bytes.len() as u64,
                limit,
            });
        }
        if bytes.is_empty() {
            return Err(TemplateError::EmptyDocument);
        }
        // Refused before reading: a preview costs at least one page.
        if db::accounts::balance(&self.db, account_id).await? < 1 {
            return Err(TemplateError::InsufficientCredits(
                "a preview is charged its pages like a job".into(),
            ));
        }
        let kind = match DocKind::detect(&bytes) {
            Some(DocKind::Zip) | None => return Err(TemplateError::NotADocument),
            Some(k) => k,
        };
        let (doc, ex) = self
            .reader
            .extract(kind, bytes, compiled, &options, extraction::no_progress())
            .await
            .map_err(TemplateError::Unreadable)?;
        let pages = doc.pages.len() as i64;
        if !db::accounts::charge_preview(&self.db, account_id, pages).await? {
            let balance = db::accounts::balance(&self.db, account_id).await?;
            return Err(TemplateError::InsufficientCredits(format!(
                "{pages} page(s) needed, {balance} available"
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
            result_status: ex.result_status(),
            result: ex.values,
            confidences: ex.confidences,
            boxes: ex.boxes,
            warnings: ex.warnings,
            pages: sizes,
            words: PageWord::all(&doc),
        })
    }

    /// Page `number` of a sample document as a PNG, to show what a preview found where.
    pub async fn sample_page(&self, bytes: Vec<u8>, number: u32) -> Option<Vec<u8>> {
        let kind = DocKind::detect(&bytes)?;
        self.reader.page_png(kind, bytes, number).await.ok()
    }
}
