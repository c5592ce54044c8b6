//! Claiming due deliveries in batches and giving them back. Leases are
//! written and compared on the database's clock.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder,
};

use super::entities::{deliveries, events};
use super::{clock_sql, is_postgres, lease_next, DbError, Queue};
use crate::types::{DeliveryId, DeliveryStatus, EventId};

/// The key deliveries are limited by: the destination, or the template for its own webhook.
pub fn target_key(d: &deliveries::Model) -> &str {
    match &d.destination_id {
        Some(id) => id.as_str(),
        None => d.template_id.as_str(),
    }
}

/// Which due deliveries a claim may take. Target keys come from
/// [`target_key`]: generated ids, so they are written into the statement.
#[derive(Clone, Copy)]
pub enum Scope<'a> {
    /// Any target's but these (targets whose lanes hold enough already).
    /// Walks past the left-out targets' due deliveries.
    Except(&'a [String]),
    /// One target's, through its own index (`deliveries_target_due`).
    Target(&'a str),
}

/// The expression `deliveries_target_due` indexes, word for word.
const TARGET: &str = "COALESCE(destination_id, template_id)";

fn is_key(k: &str) -> bool {
    k.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Claims up to `limit` deliveries within `scope` that have been due
/// longest; oldest first.
pub async fn claim_due(
    db: &DatabaseConnection,
    owner: &str,
    lease_ms: i64,
    scope: Scope<'_>,
    limit: u32,
) -> Result<Vec<deliveries::Model>, DbError> {
    let mut ready = "status = 'pending' AND next_attempt_at <= $3".to_string();
    match scope {
        Scope::Except(busy) => {
            let keys: Vec<String> = busy
                .iter()
                .filter(|k| is_key(k))
                .map(|k| format!("'{k}'"))
                .collect();
            if !keys.is_empty() {
                ready.push_str(&format!(" AND {TARGET} NOT IN ({})", keys.join(",")));
            }
        }
        Scope::Target(key) if is_key(key) => ready.push_str(&format!(" AND {TARGET} = '{key}'")),
        Scope::Target(_) => return Ok(vec![]),
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

/// Refreshes PostgreSQL's statistics of the deliveries. Claims walk the
/// due deliveries in order and stop at their limit only while the planner
/// knows that many are pending: a fresh table, or a backlog on a table of
/// settled deliveries, looks to it like a handful of rows, and every claim
/// then reads and sorts the whole backlog (10 ms a claim at 10,000 pending).
/// Autovacuum looks a minute later at best, and only after a tenth of a
/// large table has changed. SQLite plans these claims from the indexes alone.
pub async fn refresh_statistics(db: &DatabaseConnection) -> Result<(), DbError> {
    if is_postgres(db) {
        db.execute_unprepared("ANALYZE deliveries").await?;
    }
    Ok(())
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
pub async fn give_back(
    db: &DatabaseConnection,
    owner: &str,
    ids: &[DeliveryId],
) -> Result<(), DbError> {
    if ids.is_empty() {
        return Ok(());
    }
    released(owner)
        .filter(deliveries::Column::Id.is_in(ids.iter()))
        .exec(db)
        .await?;
    Ok(())
}

/// Gives one claimed delivery back, if `claim` (its `lease_expires_at` when
/// claimed) is still its lease: a later claim of the same owner is left alone.
pub async fn give_back_claim(
    db: &DatabaseConnection,
    owner: &str,
    id: &DeliveryId,
    claim: i64,
) -> Result<(), DbError> {
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
    ids: impl IntoIterator<Item = EventId>,
) -> Result<Vec<events::Model>, DbError> {
    Ok(events::Entity::find()
        .filter(events::Column::Id.is_in(ids))
        .all(db)
        .await?)
}

/// When the next pending delivery that nobody holds falls due, if any. (A
/// held one is settled by its holder, whose lane then frees up.)
pub async fn next_due_at(db: &DatabaseConnection) -> Result<Option<i64>, DbError> {
    Ok(deliveries::Entity::find()
        .filter(deliveries::Column::Status.eq(DeliveryStatus::Pending))
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
