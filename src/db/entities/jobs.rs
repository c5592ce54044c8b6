//! `jobs` table.

use sea_orm::entity::prelude::*;

use crate::types::{AccountId, DocKind, JobId, JobStatus, TemplateChoice};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: JobId,
    pub account_id: AccountId,
    pub template_id: TemplateChoice,
    pub status: JobStatus,
    pub error: Option<String>,
    pub static_values: String,
    pub source_name: String,
    pub source_kind: DocKind,
    pub blob_key: Option<String>,
    pub skipped: String,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub claims: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    pub purged_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
