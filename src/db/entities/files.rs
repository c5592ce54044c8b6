//! `files` table.

use sea_orm::entity::prelude::*;

use crate::types::{DocKind, FileId, JobId, JobStatus, ResultStatus, TemplateId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "files")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: FileId,
    pub job_id: JobId,
    pub ordinal: i64,
    pub file_name: String,
    pub kind: DocKind,
    pub blob_key: Option<String>,
    pub status: JobStatus,
    pub pages: Option<i64>,
    pub error: Option<String>,
    pub result: Option<String>,
    pub warnings: Option<String>,
    pub result_status: Option<ResultStatus>,
    pub pages_total: Option<i64>,
    pub pages_done: Option<i64>,
    pub confidences: Option<String>,
    pub boxes: Option<String>,
    /// The template the document was read with, when its job chose per document (`auto`).
    pub template_id: Option<TemplateId>,
    /// In the recycle bin since.
    pub deleted_at: Option<i64>,
    /// Erased by a hard delete: it answers 404 from then on.
    pub erased_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
