//! `events` table.

use sea_orm::entity::prelude::*;

use crate::types::{AccountId, EventId, EventType, FileId, JobId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: EventId,
    pub account_id: AccountId,
    /// `None` for events about a destination rather than a job.
    pub job_id: Option<JobId>,
    pub file_id: Option<FileId>,
    pub event_type: EventType,
    pub payload: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
