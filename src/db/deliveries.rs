//! Events, their deliveries (one per destination) and every delivery attempt.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
};

pub use super::delivery_claims::{
    claim_due, events_by_id, give_back, give_back_claim, next_due_at, refresh_statistics,
    target_key, Scope,
};
use super::entities::{deliveries, delivery_attempts, events};
use super::{now_ms, DbError};
use crate::types::{
    AccountId, DeliveryId, DeliveryStatus, DestinationId, EventId, EventType, FileId, JobId,
    TemplateId,
};

pub async fn insert_events(
    db: &impl ConnectionTrait,
    new_events: Vec<events::Model>,
    new_deliveries: Vec<deliveries::Model>,
) -> Result<(), DbError> {
    if new_events.is_empty() {
        return Ok(());
    }
    events::Entity::insert_many(
        new_events
            .into_iter()
            .map(IntoActiveModel::into_active_model),
    )
    .exec_without_returning(db)
    .await?;
    if !new_deliveries.is_empty() {
        deliveries::Entity::insert_many(
            new_deliveries
                .into_iter()
                .map(IntoActiveModel::into_active_model),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

pub async fn events_of_job(
    db: &DatabaseConnection,
    job_id: &JobId,
) -> Result<Vec<events::Model>, DbError> {
    Ok(events::Entity::find()
        .filter(events::Column::JobId.eq(job_id))
        .order_by_asc(events::Column::CreatedAt)
        .all(db)
        .await?)
}

pub struct Attempt {
    pub delivery_id: DeliveryId,
    pub attempted_at: i64,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub response_body: Option<String>,
    pub error: Option<String>,
}

/// Logs attempts, many in one statement.
pub async fn record_attempts(
    db: &impl ConnectionTrait,
    attempts: Vec<Attempt>,
) -> Result<(), DbError> {
    if attempts.is_empty() {
        return Ok(());
    }
    // A delivery erased while its attempt was under way keeps no log of it
    // (on PostgreSQL the erasure waits for this transaction instead).
    let mut q = deliveries::Entity::find()
        .select_only()
        .column(deliveries::Column::Id)
        .filter(deliveries::Column::Id.is_in(attempts.iter().map(|a| a.delivery_id.clone())));
    if super::is_postgres(db) {
        q = q.lock_shared();
    }
    let live: Vec<DeliveryId> = q.into_tuple().all(db).await?;
    let rows = attempts
        .into_iter()
        .filter(|a| live.contains(&a.delivery_id))
        .map(|a| delivery_attempts::ActiveModel {
            delivery_id: Set(a.delivery_id),
            attempted_at: Set(a.attempted_at),
            status_code: Set(a.status_code),
            latency_ms: Set(a.latency_ms),
            response_body: Set(a.response_body),
            error: Set(a.error),
            ..Default::default()
        })
        .collect::<Vec<_>>();
    if rows.is_empty() {
        return Ok(());
    }
    delivery_attempts::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Marks `owner`'s claimed deliveries `ids` succeeded in one statement;
/// returns the ids it could (a lease lost meanwhile leaves its row alone).
pub async fn settle_succeeded(
    db: &impl ConnectionTrait,
    owner: &str,
    ids: &[DeliveryId],
) -> Result<Vec<DeliveryId>, DbError> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let now = now_ms();
    let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "UPDATE deliveries SET status = 'succeeded', attempts = attempts + 1, last_error = NULL, \
         updated_at = $1, succeeded_at = $1, next_attempt_at = $1, lease_owner = NULL, lease_expires_at = NULL \
         WHERE id IN ({}) AND lease_owner = $2 AND status = 'pending' RETURNING id",
        placeholders.join(",")
    );
    let mut values: Vec<sea_orm::Value> = vec![now.into(), owner.into()];
    values.extend(ids.iter().map(sea_orm::Value::from));
    let rows = db
        .query_all(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values,
        ))
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("", "id"))
        .collect::<Result<_, _>>()?)
}

/// Gives a claimed delivery back without counting an attempt: due again at
/// `next_attempt_at`, with `reason` as its last error.
pub async fn postpone(
    db: &impl ConnectionTrait,
    id: &DeliveryId,
    owner: &str,
    next_attempt_at: i64,
    reason: &str,
) -> Result<bool, DbError> {
    let res = given_back(
        deliveries::Entity::update_many(),
        id,
        owner,
        next_attempt_at,
    )
    .col_expr(deliveries::Column::LastError, Expr::value(reason))
    .col_expr(deliveries::Column::UpdatedAt, Expr::value(now_ms()))
    .exec(db)
    .await?;
    Ok(res.rows_affected == 1)
}

/// `update` limited to `owner`'s pending delivery `id`, releasing its lease
/// with the next attempt at `next_attempt_at`.
fn given_back(
    update: sea_orm::UpdateMany<deliveries::Entity>,
    id: &DeliveryId,
    owner: &str,
    next_attempt_at: i64,
) -> sea_orm::UpdateMany<deliveries::Entity> {
    update
        .col_expr(
            deliveries::Column::NextAttemptAt,
            Expr::value(next_attempt_at),
        )
        .col_expr(
            deliveries::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            deliveries::Column::LeaseExpiresAt,
            Expr::value(Option::<i64>::None),
        )
        .filter(deliveries::Column::Id.eq(id))
        .filter(deliveries::Column::LeaseOwner.eq(owner))
        .filter(deliveries::Column::Status.eq(DeliveryStatus::Pending))
}

/// A claimed delivery whose attempt did not succeed: due again at
/// `next_attempt_at` (still pending) or dead-lettered (failed).
pub struct Unsuccessful<'a> {
    pub id: &'a DeliveryId,
    pub status: DeliveryStatus,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
}

/// Reschedules or dead-letters `owner`'s claimed deliveries in one
/// statement (at half the attempts failing, one per delivery was a third of
/// the recording's statements); a delivery whose lease was lost meanwhile is
/// left alone. Returns how many were written.
/// Records retries and dead letters of `owner`'s claims; returns the ids
/// settled (a claim lost meanwhile is not: its new holder records it).
pub async fn settle_unsuccessful(
    db: &impl ConnectionTrait,
    owner: &str,
    rows: &[Unsuccessful<'_>],
) -> Result<Vec<DeliveryId>, DbError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut values: Vec<sea_orm::Value> = vec![now_ms().into(), owner.into()];
    let mut tuples = Vec::with_capacity(rows.len());
    let mut ids = Vec::with_capacity(rows.len());
    for r in rows {
        let n = values.len();
        tuples.push(format!("(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4));
        ids.push(format!("${}", n + 1));
        values.extend([
            r.id.into(),
            r.status.into(),
            r.next_attempt_at.into(),
            r.last_error.clone().into(),
        ]);
    }
    // `columnN` is what both PostgreSQL and SQLite name a VALUES list's
    // columns. The ids are also listed on their own, so that the rows are
    // found by key even where the planner's statistics think the table small.
    let sql = format!(
        "UPDATE deliveries SET status = v.column2, next_attempt_at = v.column3, last_error = v.column4, \
         attempts = attempts + 1, updated_at = $1, lease_owner = NULL, lease_expires_at = NULL \
         FROM (VALUES {}) AS v \
         WHERE deliveries.id IN ({}) AND deliveries.id = v.column1 \
         AND deliveries.lease_owner = $2 AND deliveries.status = 'pending' \
         RETURNING deliveries.id",
        tuples.join(", "),
        ids.join(", ")
    );
    let statement = Statement::from_sql_and_values(db.get_database_backend(), &sql, values);
    db.query_all(statement)
        .await?
        .iter()
        .map(|row| Ok(row.try_get::<DeliveryId>("", "id")?))
        .collect()
}

/// Of `file_ids`, those with a delivery of one of `event_types` not succeeded yet.
pub async fn files_with_unsettled(
    db: &impl ConnectionTrait,
    file_ids: &[FileId],
    event_types: &[EventType],
) -> Result<Vec<FileId>, DbError> {
    if file_ids.is_empty() {
        return Ok(vec![]);
    }
    let rows: Vec<Option<FileId>> = deliveries::Entity::find()
        .select_only()
        .column(deliveries::Column::FileId)
        .filter(deliveries::Column::FileId.is_in(file_ids.iter()))
        .filter(deliveries::Column::EventType.is_in(event_types.iter()))
        .filter(deliveries::Column::Status.ne(DeliveryStatus::Succeeded))
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().flatten().collect())
}

pub async fn get(
    db: &DatabaseConnection,
    account_id: &AccountId,
    id: &DeliveryId,
) -> Result<Option<deliveries::Model>, DbError> {
    Ok(deliveries::Entity::find_by_id(id.clone())
        .filter(deliveries::Column::AccountId.eq(account_id))
        .one(db)
        .await?)
}

/// Which deliveries to list; `None` matches any.
#[derive(Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub job_id: Option<JobId>,
    pub destination_id: Option<DestinationId>,
    pub template_id: Option<TemplateId>,
}

pub async fn list(
    db: &DatabaseConnection,
    account_id: &AccountId,
    f: &DeliveryFilter,
    limit: u64,
) -> Result<Vec<deliveries::Model>, DbError> {
    let mut q = deliveries::Entity::find().filter(deliveries::Column::AccountId.eq(account_id));
    if let Some(s) = f.status {
        q = q.filter(deliveries::Column::Status.eq(s));
    }
    if let Some(j) = &f.job_id {
        q = q.filter(deliveries::Column::JobId.eq(j));
    }
    if let Some(d) = &f.destination_id {
        q = q.filter(deliveries::Column::DestinationId.eq(d));
    }
    if let Some(t) = &f.template_id {
        q = q.filter(deliveries::Column::TemplateId.eq(t));
    }
    Ok(q.order_by_desc(deliveries::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?)
}

pub async fn attempts_of(
    db: &DatabaseConnection,
    delivery_id: &DeliveryId,
) -> Result<Vec<delivery_attempts::Model>, DbError> {
    Ok(delivery_attempts::Entity::find()
        .filter(delivery_attempts::Column::DeliveryId.eq(delivery_id))
        .order_by_asc(delivery_attempts::Column::Id)
        .all(db)
        .await?)
}

/// Puts a failed delivery back in the queue, due now; `false` if it was not failed.
pub async fn requeue_failed(db: &DatabaseConnection, id: &DeliveryId) -> Result<bool, DbError> {
    let res = deliveries::Entity::update_many()
        .col_expr(
            deliveries::Column::Status,
            Expr::value(DeliveryStatus::Pending),
        )
        .col_expr(deliveries::Column::NextAttemptAt, Expr::value(now_ms()))
        .col_expr(deliveries::Column::Attempts, Expr::value(0))
        .col_expr(deliveries::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(deliveries::Column::Id.eq(id))
        .filter(deliveries::Column::Status.eq(DeliveryStatus::Failed))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Deletes settled deliveries of operational events (those with no job)
/// created before `before`, their attempts, and the events left without
/// deliveries; at most `limit` deliveries a call. Returns how many.
pub async fn purge_operational(
    db: &impl ConnectionTrait,
    before: i64,
    limit: u64,
) -> Result<u64, DbError> {
    let old: Vec<(DeliveryId, EventId)> = deliveries::Entity::find()
        .select_only()
        .column(deliveries::Column::Id)
        .column(deliveries::Column::EventId)
        .filter(deliveries::Column::JobId.is_null())
        .filter(deliveries::Column::CreatedAt.lt(before))
        .filter(deliveries::Column::Status.is_in([
            DeliveryStatus::Succeeded,
            DeliveryStatus::Failed,
            DeliveryStatus::Cancelled,
        ]))
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    if old.is_empty() {
        return Ok(0);
    }
    let (ids, mut event_ids): (Vec<DeliveryId>, Vec<EventId>) = old.into_iter().unzip();
    delivery_attempts::Entity::delete_many()
        .filter(delivery_attempts::Column::DeliveryId.is_in(ids.clone()))
        .exec(db)
        .await?;
    let n = deliveries::Entity::delete_many()
        .filter(deliveries::Column::Id.is_in(ids))
        .exec(db)
        .await?
        .rows_affected;
    event_ids.sort();
    event_ids.dedup();
    // An event some of whose deliveries are still under way is kept for them.
    let kept: Vec<EventId> = deliveries::Entity::find()
        .select_only()
        .column(deliveries::Column::EventId)
        .filter(deliveries::Column::JobId.is_null())
        .filter(deliveries::Column::EventId.is_in(event_ids.clone()))
        .into_tuple()
        .all(db)
        .await?;
    event_ids.retain(|e| !kept.contains(e));
    events::Entity::delete_many()
        .filter(events::Column::Id.is_in(event_ids))
        .filter(events::Column::JobId.is_null())
        .exec(db)
        .await?;
    Ok(n)
}
