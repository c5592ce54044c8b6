//! Background tasks: stored when asked for, leased by one process at a time,
//! their progress written with each step so that another process resumes
//! them where they stood.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::{deliveries, tasks};
use super::{clock_sql, now_ms, DbError};
use crate::types::{AccountId, DeliveryStatus, DestinationId, TaskId, TaskStatus};

pub async fn insert(db: &DatabaseConnection, t: tasks::Model) -> Result<tasks::Model, DbError> {
    Ok(t.into_active_model().insert(db).await?)
}

pub async fn get(
    db: &DatabaseConnection,
    account_id: &AccountId,
    id: &TaskId,
) -> Result<Option<tasks::Model>, DbError> {
    Ok(tasks::Entity::find_by_id(id.clone())
        .filter(tasks::Column::AccountId.eq(account_id))
        .one(db)
        .await?)
}

/// A task of the destination that has not ended, if any.
pub async fn open_for(
    db: &DatabaseConnection,
    destination_id: &DestinationId,
) -> Result<Option<tasks::Model>, DbError> {
    Ok(tasks::Entity::find()
        .filter(tasks::Column::DestinationId.eq(destination_id))
        .filter(tasks::Column::Status.is_in([TaskStatus::Queued, TaskStatus::Running]))
        .one(db)
        .await?)
}

/// Leases the oldest task that is queued, or running with a lapsed lease
/// (its process stopped), to `owner`.
pub async fn claim(
    db: &DatabaseConnection,
    owner: &str,
    lease_ms: i64,
) -> Result<Option<tasks::Model>, DbError> {
    let open = Condition::any()
        .add(tasks::Column::Status.eq(TaskStatus::Queued))
        .add(
            Condition::all()
                .add(tasks::Column::Status.eq(TaskStatus::Running))
                .add(
                    Expr::col(tasks::Column::LeaseExpiresAt)
                        .lt(Expr::cust(clock_sql(db)))
                        .or(tasks::Column::LeaseExpiresAt.is_null()),
                ),
        );
    let Some(candidate) = tasks::Entity::find()
        .filter(open.clone())
        .order_by_asc(tasks::Column::CreatedAt)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    // Taken only if no other process took it since it was read.
    let res = tasks::Entity::update_many()
        .col_expr(tasks::Column::Status, Expr::value(TaskStatus::Running))
        .col_expr(tasks::Column::LeaseOwner, Expr::value(owner))
        .col_expr(
            tasks::Column::LeaseExpiresAt,
            Expr::value(now_ms() + lease_ms),
        )
        .col_expr(tasks::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(tasks::Column::Id.eq(candidate.id.clone()))
        .filter(open)
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Ok(None);
    }
    Ok(tasks::Entity::find_by_id(candidate.id).one(db).await?)
}

/// Records a step: `done` so far, the cursor, a fresh lease. `false` when
/// the lease was lost (another process took the task): the step must not count.
pub async fn advance(
    db: &impl ConnectionTrait,
    t: &tasks::Model,
    owner: &str,
    lease_ms: i64,
    status: TaskStatus,
) -> Result<bool, DbError> {
    let res = tasks::Entity::update_many()
        .col_expr(tasks::Column::Done, Expr::value(t.done))
        .col_expr(tasks::Column::Total, Expr::value(t.total))
        .col_expr(tasks::Column::CursorAt, Expr::value(t.cursor_at))
        .col_expr(tasks::Column::CursorId, Expr::value(t.cursor_id.clone()))
        .col_expr(tasks::Column::Status, Expr::value(status))
        .col_expr(tasks::Column::Error, Expr::value(t.error.clone()))
        .col_expr(
            tasks::Column::LeaseExpiresAt,
            Expr::value(now_ms() + lease_ms),
        )
        .col_expr(tasks::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(tasks::Column::Id.eq(t.id.clone()))
        .filter(tasks::Column::LeaseOwner.eq(owner))
        .filter(tasks::Column::Status.eq(TaskStatus::Running))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// The failed deliveries of a destination created in `[since, until)`.
fn failed_in_window(destination_id: &DestinationId, since: i64, until: Option<i64>) -> Condition {
    let mut c = Condition::all()
        .add(deliveries::Column::DestinationId.eq(destination_id))
        .add(deliveries::Column::Status.eq(DeliveryStatus::Failed))
        .add(deliveries::Column::CreatedAt.gte(since));
    if let Some(until) = until {
        c = c.add(deliveries::Column::CreatedAt.lt(until));
    }
    c
}

pub async fn count_failed(
    db: &DatabaseConnection,
    destination_id: &DestinationId,
    since: i64,
    until: Option<i64>,
) -> Result<i64, DbError> {
    Ok(deliveries::Entity::find()
        .filter(failed_in_window(destination_id, since, until))
        .count(db)
        .await? as i64)
}

/// Queues again the next `limit` failed deliveries of the window after
/// `cursor` (creation time, id), in creation order; returns the cursor of the
/// last one and how many, or `None` when none are left.
pub async fn requeue_failed_page(
    db: &impl ConnectionTrait,
    destination_id: &DestinationId,
    since: i64,
    until: Option<i64>,
    cursor: Option<(i64, String)>,
    limit: u64,
) -> Result<Option<((i64, String), u64)>, DbError> {
    let mut page = failed_in_window(destination_id, since, until);
    if let Some((at, id)) = cursor {
        page = page.add(
            Condition::any()
                .add(deliveries::Column::CreatedAt.gt(at))
                .add(
                    Condition::all()
                        .add(deliveries::Column::CreatedAt.eq(at))
                        .add(deliveries::Column::Id.gt(id)),
                ),
        );
    }
    let rows: Vec<(String, i64)> = deliveries::Entity::find()
        .select_only()
        .column(deliveries::Column::Id)
        .column(deliveries::Column::CreatedAt)
        .filter(page)
        .order_by_asc(deliveries::Column::CreatedAt)
        .order_by_asc(deliveries::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    let Some((last_id, last_at)) = rows.last().cloned() else {
        return Ok(None);
    };
    let ids: Vec<String> = rows.into_iter().map(|(id, _)| id).collect();
    let now = now_ms();
    // Counted as queued: a row retried by other means since it was read is not.
    let n = deliveries::Entity::update_many()
        .col_expr(
            deliveries::Column::Status,
            Expr::value(DeliveryStatus::Pending),
        )
        .col_expr(deliveries::Column::NextAttemptAt, Expr::value(now))
        .col_expr(deliveries::Column::Attempts, Expr::value(0))
        .col_expr(deliveries::Column::UpdatedAt, Expr::value(now))
        .filter(deliveries::Column::Id.is_in(ids))
        .filter(deliveries::Column::Status.eq(DeliveryStatus::Failed))
        .exec(db)
        .await?
        .rows_affected;
    Ok(Some(((last_at, last_id), n)))
}
