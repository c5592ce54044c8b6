//! Templates, scoped to their account; deleted templates stay for running jobs.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, Set,
};

use super::entities::templates;
use super::{now_ms, DbError};
use crate::types::{AccountId, TemplateId};

pub async fn insert(
    db: &DatabaseConnection,
    t: templates::Model,
) -> Result<templates::Model, DbError> {
    Ok(t.into_active_model().insert(db).await?)
}

/// Live templates of an account, oldest first.
pub async fn list(
    db: &DatabaseConnection,
    account_id: &AccountId,
) -> Result<Vec<templates::Model>, DbError> {
    Ok(templates::Entity::find()
        .filter(templates::Column::AccountId.eq(account_id))
        .filter(templates::Column::DeletedAt.is_null())
        .order_by_asc(templates::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Live templates of an account that carry template-level rules (keywords
/// among them), oldest first: those `"template_id": "auto"` chooses among.
pub async fn with_rules(
    db: &DatabaseConnection,
    account_id: &AccountId,
) -> Result<Vec<templates::Model>, DbError> {
    Ok(templates::Entity::find()
        .filter(templates::Column::AccountId.eq(account_id))
        .filter(templates::Column::DeletedAt.is_null())
        .filter(templates::Column::Rules.is_not_null())
        .order_by_asc(templates::Column::CreatedAt)
        .all(db)
        .await?)
}

/// What changes whenever an account's templates with rules do: their number
/// and the sum of their change times (any change moves it, whatever the
/// clock of the process that made it; a deletion lowers the number).
pub async fn rules_fingerprint(
    db: &DatabaseConnection,
    account_id: &AccountId,
) -> Result<(i64, i64), DbError> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{FromQueryResult, QuerySelect};
    #[derive(FromQueryResult)]
    struct Print {
        n: i64,
        latest: Option<i64>,
    }
    let print = templates::Entity::find()
        .select_only()
        .column_as(templates::Column::Id.count(), "n")
        .column_as(Expr::cust("CAST(SUM(updated_at) AS BIGINT)"), "latest")
        .filter(templates::Column::AccountId.eq(account_id))
        .filter(templates::Column::DeletedAt.is_null())
        .filter(templates::Column::Rules.is_not_null())
        .into_model::<Print>()
        .one(db)
        .await?;
    Ok(print.map_or((0, 0), |p| (p.n, p.latest.unwrap_or(0))))
}

/// A live template of the account.
pub async fn get(
    db: &DatabaseConnection,
    account_id: &AccountId,
    id: &TemplateId,
) -> Result<Option<templates::Model>, DbError> {
    Ok(templates::Entity::find_by_id(id.clone())
        .filter(templates::Column::AccountId.eq(account_id))
        .filter(templates::Column::DeletedAt.is_null())
        .one(db)
        .await?)
}

/// A template by id, deleted or not (workers finishing a job need it).
pub async fn get_any(
    db: &DatabaseConnection,
    id: &TemplateId,
) -> Result<Option<templates::Model>, DbError> {
    Ok(templates::Entity::find_by_id(id.clone()).one(db).await?)
}

/// A template's category, whoever's it is (events about it are routed by it).
pub async fn category(
    db: &impl ConnectionTrait,
    id: &TemplateId,
) -> Result<Option<String>, DbError> {
    Ok(templates::Entity::find_by_id(id.clone())
        .one(db)
        .await?
        .and_then(|t| t.category))
}

pub async fn update(
    db: &DatabaseConnection,
    mut t: templates::Model,
) -> Result<templates::Model, DbError> {
    t.updated_at = now_ms();
    Ok(t.into_active_model().reset_all().update(db).await?)
}

pub async fn soft_delete(
    db: &DatabaseConnection,
    account_id: &AccountId,
    id: &TemplateId,
) -> Result<bool, DbError> {
    let Some(t) = get(db, account_id, id).await? else {
        return Ok(false);
    };
    let mut active = t.into_active_model();
    active.deleted_at = Set(Some(now_ms()));
    active.update(db).await?;
    Ok(true)
}
