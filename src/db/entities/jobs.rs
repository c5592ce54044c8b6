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
    /// In the recycle bin since (SPEC §3: restorable until its retention ends).
    pub deleted_at: Option<i64>,
    /// Erased at once by a hard delete: nothing of it answers any more.
    pub erased_at: Option<i64>,
    /// On hold since: deliveries of its documents' events wait for release.
    pub held_at: Option<i64>,
    /// Who alone may edit or confirm its results (`key:<id>` or `user:<name>`) until `lock_expires_at`.
    pub lock_holder: Option<String>,
    pub lock_expires_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
