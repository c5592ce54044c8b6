//! `files` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "files")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub job_id: String,
    pub ordinal: i64,
    pub file_name: String,
    pub kind: String,
    pub blob_key: Option<String>,
    pub status: String,
    pub pages: Option<i64>,
    pub error: Option<String>,
    pub result: Option<String>,
    pub warnings: Option<String>,
    pub result_status: Option<String>,
    pub pages_total: Option<i64>,
    pub pages_done: Option<i64>,
    pub confidences: Option<String>,
    pub boxes: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
