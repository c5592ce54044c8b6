//! `audit_log` table.

use sea_orm::entity::prelude::*;

use crate::types::AccountId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: AccountId,
    pub at: i64,
    /// `key:<id>`, `user:<key id>` or `system`.
    pub actor: String,
    pub origin: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    /// JSON: `{member: {"before", "after"}}`, secrets masked.
    pub changes: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
