//! Destinations, scoped to their account; deleted ones stay for their delivery history.

use sea_orm::sea_query::Expr;
use sea_orm::ActiveValue::{Set, Unchanged};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder,
};

use super::entities::{deliveries, destinations};
use super::{now_ms, DbError};
use crate::types::{AccountId, DeliveryStatus, DestinationId};

pub async fn insert(
    db: &DatabaseConnection,
    d: destinations::Model,
) -> Result<destinations::Model, DbError> {
    Ok(d.into_active_model().insert(db).await?)
}

/// Saves what a client sets on destination `d` (its config, filters and how
/// it is operated), leaving `enabled` and its health to [`set_enabled`] and
/// the delivery engine, which may have changed them since `d` was read.
pub async fn update_settings(
    db: &impl ConnectionTrait,
    d: &destinations::Model,
) -> Result<(), DbError> {
    destinations::ActiveModel {
        id: Unchanged(d.id.clone()),
        config: Set(d.config.clone()),
        events: Set(d.events.clone()),
        templates: Set(d.templates.clone()),
        rules: Set(d.rules.clone()),
        disable_after_ms: Set(d.disable_after_ms),
        rate_limit: Set(d.rate_limit),
        max_payload_bytes: Set(d.max_payload_bytes),
        updated_at: Set(now_ms()),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

/// Enables or disables destination `id` by its account's wish. Returns the
/// destination as it was when this call changed it (`None` when it already
/// was so): enabling ends its run of failures, which its caller announces.
pub async fn set_enabled(
    db: &impl ConnectionTrait,
    id: &DestinationId,
    enabled: bool,
) -> Result<Option<destinations::Model>, DbError> {
    let Some(before) = destinations::Entity::find_by_id(id.clone()).one(db).await? else {
        return Ok(None);
    };
    let change = match enabled {
        true => end_run(id)
            .col_expr(destinations::Column::Enabled, Expr::value(1))
            .col_expr(
                destinations::Column::DisabledReason,
                Expr::value(Option::<String>::None),
            )
            .filter(destinations::Column::Enabled.eq(0)),
        false => destinations::Entity::update_many()
            .col_expr(destinations::Column::Enabled, Expr::value(0))
            .col_expr(
                destinations::Column::DisabledReason,
                Expr::value("disabled by the account"),
            )
            .filter(destinations::Column::Id.eq(id))
            .filter(destinations::Column::Enabled.ne(0)),
    };
    let changed = change
        .col_expr(destinations::Column::UpdatedAt, Expr::value(now_ms()))
        .exec(db)
        .await?
        .rows_affected
        == 1;
    Ok(changed.then_some(before))
}

/// Live destinations of an account, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    account_id: &AccountId,
) -> Result<Vec<destinations::Model>, DbError> {
    Ok(destinations::Entity::find()
        .filter(destinations::Column::AccountId.eq(account_id))
        .filter(destinations::Column::DeletedAt.is_null())
        .order_by_asc(destinations::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn get(
    db: &DatabaseConnection,
    account_id: &AccountId,
    id: &DestinationId,
) -> Result<Option<destinations::Model>, DbError> {
    Ok(destinations::Entity::find_by_id(id.clone())
        .filter(destinations::Column::AccountId.eq(account_id))
        .filter(destinations::Column::DeletedAt.is_null())
        .one(db)
        .await?)
}

/// A destination by id, deleted or not.
pub async fn get_any(
    db: &impl ConnectionTrait,
    id: &DestinationId,
) -> Result<Option<destinations::Model>, DbError> {
    Ok(destinations::Entity::find_by_id(id.clone()).one(db).await?)
}

/// Deletes the destination; its pending deliveries end as failed.
pub async fn soft_delete(
    db: &DatabaseConnection,
    account_id: &AccountId,
    id: &DestinationId,
) -> Result<bool, DbError> {
    let res = destinations::Entity::update_many()
        .col_expr(destinations::Column::DeletedAt, Expr::value(now_ms()))
        .filter(destinations::Column::Id.eq(id))
        .filter(destinations::Column::AccountId.eq(account_id))
        .filter(destinations::Column::DeletedAt.is_null())
        .exec(db)
        .await?;
    if res.rows_affected == 1 {
        fail_pending(db, id, "the destination was deleted").await?;
        super::rate_slots::forget(db, id).await?;
    }
    Ok(res.rows_affected == 1)
}

/// Disables a destination and dead-letters what it still owed, for
/// `recover` after re-enabling. Returns the destination when this call
/// disabled it (not when it already was).
pub async fn disable(
    db: &impl ConnectionTrait,
    id: &DestinationId,
    reason: &str,
) -> Result<Option<destinations::Model>, DbError> {
    let res = destinations::Entity::update_many()
        .col_expr(destinations::Column::Enabled, Expr::value(0))
        .col_expr(destinations::Column::DisabledReason, Expr::value(reason))
        .col_expr(destinations::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(destinations::Column::Id.eq(id))
        .filter(destinations::Column::Enabled.ne(0))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Ok(None);
    }
    fail_pending(db, id, &format!("destination disabled: {reason}")).await?;
    Ok(destinations::Entity::find_by_id(id.clone()).one(db).await?)
}

/// Ends a destination's unleased pending deliveries as failed; leased ones end when their attempt settles.
async fn fail_pending(
    db: &impl ConnectionTrait,
    id: &DestinationId,
    reason: &str,
) -> Result<(), DbError> {
    deliveries::Entity::update_many()
        .col_expr(
            deliveries::Column::Status,
            Expr::value(DeliveryStatus::Failed),
        )
        .col_expr(deliveries::Column::LastError, Expr::value(reason))
        .col_expr(deliveries::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(deliveries::Column::DestinationId.eq(id))
        .filter(deliveries::Column::Status.eq(DeliveryStatus::Pending))
        .filter(
            deliveries::Column::LeaseExpiresAt
                .is_null()
                .or(Expr::col(deliveries::Column::LeaseExpiresAt)
                    .lt(Expr::cust(super::clock_sql(db)))),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Ends a destination's run of failures. Returns the destination as it was
/// when `destination.failing` had been announced for that run (and this
/// call ended it), so that its recovery is announced once.
pub async fn note_success(
    db: &impl ConnectionTrait,
    id: &DestinationId,
) -> Result<Option<destinations::Model>, DbError> {
    // Read and written in the database, not from the copy loaded with the
    // deliveries: another process may have changed it since. The announced
    // run is ended by its own statement, so that one announced between the
    // read and the write is still seen as announced.
    let before = destinations::Entity::find_by_id(id.clone()).one(db).await?;
    let Some(before) = before.filter(|b| {
        b.failing_since.is_some() || b.consecutive_failures != 0 || b.failing_reported_at.is_some()
    }) else {
        return Ok(None);
    };
    let announced = end_run(id)
        .filter(destinations::Column::FailingReportedAt.is_not_null())
        .exec(db)
        .await?
        .rows_affected
        == 1;
    if !announced {
        end_run(id).exec(db).await?;
    }
    Ok(announced.then_some(before))
}

/// Clears destination `id`'s run of failures (to be narrowed further).
fn end_run(id: &DestinationId) -> sea_orm::UpdateMany<destinations::Entity> {
    destinations::Entity::update_many()
        .col_expr(
            destinations::Column::FailingSince,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(destinations::Column::ConsecutiveFailures, Expr::value(0))
        .col_expr(
            destinations::Column::FailingReportedAt,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            destinations::Column::LastFailure,
            Expr::value(Option::<String>::None),
        )
        .filter(destinations::Column::Id.eq(id))
}

/// Adds `failures` to a destination's run (starting one if it had none) and
/// returns it as it stands.
pub async fn note_failures(
    db: &impl ConnectionTrait,
    id: &DestinationId,
    failures: i64,
    last_failure: &str,
) -> Result<Option<destinations::Model>, DbError> {
    destinations::Entity::update_many()
        .col_expr(destinations::Column::LastFailure, Expr::value(last_failure))
        .col_expr(
            destinations::Column::ConsecutiveFailures,
            Expr::col(destinations::Column::ConsecutiveFailures).add(failures),
        )
        .col_expr(
            destinations::Column::FailingSince,
            Expr::cust(format!("COALESCE(failing_since, {})", now_ms())),
        )
        .filter(destinations::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(destinations::Entity::find_by_id(id.clone()).one(db).await?)
}

/// Marks the current run of failures as announced; `false` when another
/// process announced it first.
pub async fn mark_failing_reported(
    db: &impl ConnectionTrait,
    id: &DestinationId,
) -> Result<bool, DbError> {
    let res = destinations::Entity::update_many()
        .col_expr(
            destinations::Column::FailingReportedAt,
            Expr::value(now_ms()),
        )
        .filter(destinations::Column::Id.eq(id))
        .filter(destinations::Column::FailingReportedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}
