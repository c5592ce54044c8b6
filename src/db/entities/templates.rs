//! `templates` table.

use sea_orm::entity::prelude::*;

use crate::types::{AccountId, TemplateId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "templates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: TemplateId,
    pub account_id: AccountId,
    pub name: String,
    pub fields: String,
    pub options: String,
    /// JSON of the template-level rules (keywords, priority, blocks); `NULL` for none.
    pub rules: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_headers: Option<String>,
    pub webhook_secret: Option<String>,
    pub webhook_events: Option<String>,
    /// Sealed JSON of the webhook's Basic credentials and signature scheme.
    pub webhook_auth: Option<String>,
    /// The webhook as a sealed webhook destination config; older rows use the columns above.
    pub webhook_config: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    /// Free text destinations' rules select by (e.g. `invoices`).
    pub category: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
