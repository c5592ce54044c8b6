//! The audit log: one row per change, newest first per account.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::entities::audit_log;
use super::DbError;
use crate::types::AccountId;

pub async fn insert(db: &impl ConnectionTrait, row: audit_log::Model) -> Result<(), DbError> {
    audit_log::ActiveModel {
        account_id: Set(row.account_id),
        at: Set(row.at),
        actor: Set(row.actor),
        origin: Set(row.origin),
        action: Set(row.action),
        object_type: Set(row.object_type),
        object_id: Set(row.object_id),
        changes: Set(row.changes),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Which rows of an account's log to list.
#[derive(Default)]
pub struct AuditFilter<'a> {
    pub object_type: Option<&'a str>,
    pub object_id: Option<&'a str>,
    pub action: Option<&'a str>,
    /// Only rows older than this id: the cursor of the page before.
    pub before: Option<i64>,
    pub limit: u64,
}

pub async fn list(
    db: &impl ConnectionTrait,
    account_id: &AccountId,
    f: AuditFilter<'_>,
) -> Result<Vec<audit_log::Model>, DbError> {
    let mut q = audit_log::Entity::find().filter(audit_log::Column::AccountId.eq(account_id));
    if let Some(t) = f.object_type {
        q = q.filter(audit_log::Column::ObjectType.eq(t));
    }
    if let Some(id) = f.object_id {
        q = q.filter(audit_log::Column::ObjectId.eq(id));
    }
    if let Some(a) = f.action {
        q = q.filter(audit_log::Column::Action.eq(a));
    }
    if let Some(b) = f.before {
        q = q.filter(audit_log::Column::Id.lt(b));
    }
    Ok(q.order_by_desc(audit_log::Column::Id)
        .limit(f.limit)
        .all(db)
        .await?)
}

/// Drops rows older than `before` (the log keeps a year); returns how many.
pub async fn purge_before(db: &impl ConnectionTrait, before: i64) -> Result<u64, DbError> {
    Ok(audit_log::Entity::delete_many()
        .filter(audit_log::Column::At.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}
