//! `tasks` table: background work a client asked for and follows by id.

use sea_orm::entity::prelude::*;

use crate::types::{AccountId, DestinationId, TaskId, TaskStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: TaskId,
    pub account_id: AccountId,
    /// What the task does: `recover`.
    pub kind: String,
    pub destination_id: DestinationId,
    /// The window of deliveries it covers (created at or after `since`, before `until`).
    pub since: i64,
    pub until: Option<i64>,
    pub status: TaskStatus,
    pub total: i64,
    pub done: i64,
    /// The last delivery handled (creation time, id): where a resumed task goes on.
    pub cursor_at: Option<i64>,
    pub cursor_id: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
