//! Claiming due deliveries in batches and giving them back. Leases are
//! written and compared on the database's clock.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
};

use super::deliveries::PENDING;
use super::entities::{deliveries, events};
use super::{clock_sql, lease_next, Queue};

/// The key deliveries are limited by: the destination, or the template for its own webhook.
pub fn target_key(d: &deliveries::Model) -> &str {
    d.destination_id.as_deref().unwrap_or(&d.template_id)
}

/// Claims up to `limit` deliveries that have been due longest, skipping
/// targets in `busy` (keys from [`target_key`], which are generated ids);
/// oldest first.
pub async fn claim_due(
    db: &DatabaseConnection,
    owner: &str,
    lease_ms: i64,
    busy: &[String],
    limit: u32,
) -> Result<Vec<deliveries::Model>, DbErr> {
    let mut ready = "status = 'pending' AND next_attempt_at <= $3".to_string();
    let keys: Vec<String> = busy
        .iter()
        .filter(|k| {
            k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
        .map(|k| format!("'{k}'"))
        .collect();
    if !keys.is_empty() {
        ready.push_str(&format!(
            " AND COALESCE(destination_id, template_id) NOT IN ({})",
            keys.join(",")
        ));
    }
    let queue = Queue {
        table: "deliveries",
        ready: &ready,
        order: "next_attempt_at",
        also_set: "",
    };
    let rows = lease_next(db, queue, owner, lease_ms, limit).await?;
    let mut claimed = rows
        .iter()
        .map(|r| deliveries::Model::from_query_result(r, ""))
        .collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by_key(|d| (d.next_attempt_at, d.created_at));
    Ok(claimed)
}

/// `owner`'s leases, cleared: the rows to clear are chosen by the caller.
fn released(owner: &str) -> sea_orm::UpdateMany<deliveries::Entity> {
    deliveries::Entity::update_many()
        .col_expr(
            deliveries::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            deliveries::Column::LeaseExpiresAt,
            Expr::value(Option::<i64>::None),
        )
        .filter(deliveries::Column::LeaseOwner.eq(owner))
}

/// Gives claimed deliveries back untouched, for another claim to take.
pub async fn give_back(db: &DatabaseConnection, owner: &str, ids: &[String]) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    released(owner)
        .filter(deliveries::Column::Id.is_in(ids.iter().cloned()))
        .exec(db)
        .await?;
    Ok(())
}

/// Gives one claimed delivery back, if `claim` (its `lease_expires_at` when
/// claimed) is still its lease: a later claim of the same owner is left alone.
pub async fn give_back_claim(
    db: &DatabaseConnection,
    owner: &str,
    id: &str,
    claim: i64,
) -> Result<(), DbErr> {
    released(owner)
        .filter(deliveries::Column::Id.eq(id))
        .filter(deliveries::Column::LeaseExpiresAt.eq(claim))
        .exec(db)
        .await?;
    Ok(())
}

/// The events of claimed deliveries, in one query.
pub async fn events_by_id(
    db: &DatabaseConnection,
    ids: impl IntoIterator<Item = String>,
) -> Result<Vec<events::Model>, DbErr> {
    events::Entity::find()
        .filter(events::Column::Id.is_in(ids))
        .all(db)
        .await
}

/// When the next pending delivery that nobody holds falls due, if any. (A
/// held one is settled by its holder, whose lane then frees up.)
pub async fn next_due_at(db: &DatabaseConnection) -> Result<Option<i64>, DbErr> {
    Ok(deliveries::Entity::find()
        .filter(deliveries::Column::Status.eq(PENDING))
        .filter(
            deliveries::Column::LeaseExpiresAt
                .is_null()
                .or(Expr::col(deliveries::Column::LeaseExpiresAt).lt(Expr::cust(clock_sql(db)))),
        )
        .order_by_asc(deliveries::Column::NextAttemptAt)
        .one(db)
        .await?
        .map(|d| d.next_attempt_at))
}
