//! `deliveries` table.

use sea_orm::entity::prelude::*;

use crate::types::{
    AccountId, DeliveryId, DeliveryStatus, DestinationId, EventId, EventType, FileId, JobId,
    TemplateChoice,
};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: DeliveryId,
    pub event_id: EventId,
    pub account_id: AccountId,
    /// `None` for events about a destination rather than a job.
    pub job_id: Option<JobId>,
    pub file_id: Option<FileId>,
    pub template_id: TemplateChoice,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub succeeded_at: Option<i64>,
    /// `None` for the template's own webhook.
    pub destination_id: Option<DestinationId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
