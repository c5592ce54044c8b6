//! `accounts` table.

use sea_orm::entity::prelude::*;

use crate::types::AccountId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: AccountId,
    pub name: String,
    pub credits: i64,
    pub created_at: i64,
    /// How long results are kept after a job finishes; `None`: the operator's default.
    pub retention_hours: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
