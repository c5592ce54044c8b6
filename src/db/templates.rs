//! Templates, scoped to their account; deleted templates stay for running jobs.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, Set,
};

use super::entities::templates;
use super::now_ms;

pub async fn insert(
    db: &DatabaseConnection,
    t: templates::Model,
) -> Result<templates::Model, DbErr> {
    t.into_active_model().insert(db).await
}

/// Live templates of an account, oldest first.
pub async fn list(
    db: &DatabaseConnection,
    account_id: &str,
) -> Result<Vec<templates::Model>, DbErr> {
    templates::Entity::find()
        .filter(templates::Column::AccountId.eq(account_id))
        .filter(templates::Column::DeletedAt.is_null())
        .order_by_asc(templates::Column::CreatedAt)
        .all(db)
        .await
}

/// A live template of the account.
pub async fn get(
    db: &DatabaseConnection,
    account_id: &str,
    id: &str,
) -> Result<Option<templates::Model>, DbErr> {
    templates::Entity::find_by_id(id.to_string())
        .filter(templates::Column::AccountId.eq(account_id))
        .filter(templates::Column::DeletedAt.is_null())
        .one(db)
        .await
}

/// A template by id, deleted or not (workers finishing a job need it).
pub async fn get_any(db: &DatabaseConnection, id: &str) -> Result<Option<templates::Model>, DbErr> {
    templates::Entity::find_by_id(id.to_string()).one(db).await
}

pub async fn update(
    db: &DatabaseConnection,
    mut t: templates::Model,
) -> Result<templates::Model, DbErr> {
    t.updated_at = now_ms();
    t.into_active_model().reset_all().update(db).await
}

pub async fn soft_delete(
    db: &DatabaseConnection,
    account_id: &str,
    id: &str,
) -> Result<bool, DbErr> {
    let Some(t) = get(db, account_id, id).await? else {
        return Ok(false);
    };
    let mut active = t.into_active_model();
    active.deleted_at = Set(Some(now_ms()));
    active.update(db).await?;
    Ok(true)
}
