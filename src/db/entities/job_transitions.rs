//! `job_transitions` table.

use sea_orm::entity::prelude::*;

use crate::types::{JobId, JobStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_transitions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub job_id: JobId,
    pub status: JobStatus,
    pub at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
