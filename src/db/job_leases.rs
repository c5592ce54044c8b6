//! A job's lease: claimed by one worker, renewed by its heartbeat, given
//! back after a failure, freed when the process that held it is gone. Every
//! time is the database's clock.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter};

use super::entities::jobs;
use super::{clock_sql, lease_next, DbError, Queue};
use crate::types::JobId;

/// Claims the oldest unfinished job whose lease is free or expired.
pub async fn claim_next(
    db: &DatabaseConnection,
    owner: &str,
    lease_ms: i64,
) -> Result<Option<jobs::Model>, DbError> {
    let queue = Queue {
        table: "jobs",
        // A job in the recycle bin waits there: restored, it goes on.
        ready: "finished_at IS NULL AND deleted_at IS NULL AND erased_at IS NULL",
        order: "created_at",
        also_set: ", claims = claims + 1, updated_at = $3",
    };
    let claimed = lease_next(db, queue, owner, lease_ms, 1).await?;
    Ok(claimed
        .first()
        .map(|row| jobs::Model::from_query_result(row, ""))
        .transpose()?)
}

/// Extends the lease (by the database's clock); `false` when the job is no longer ours.
pub async fn renew_lease(
    db: &DatabaseConnection,
    id: &JobId,
    owner: &str,
    lease_ms: i64,
) -> Result<bool, DbError> {
    let res = jobs::Entity::update_many()
        .col_expr(
            jobs::Column::LeaseExpiresAt,
            Expr::cust(format!("{} + {lease_ms}", clock_sql(db))),
        )
        .filter(jobs::Column::Id.eq(id))
        .filter(jobs::Column::LeaseOwner.eq(owner))
        .filter(jobs::Column::FinishedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Frees the leases of unfinished jobs whose owner matches `pattern` (SQL
/// `LIKE`) but not `except`: those of a dead earlier start of this process.
pub async fn free_leases(
    db: &DatabaseConnection,
    pattern: &str,
    except: &str,
) -> Result<u64, DbError> {
    let res = jobs::Entity::update_many()
        .col_expr(
            jobs::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            jobs::Column::LeaseExpiresAt,
            Expr::value(Option::<i64>::None),
        )
        .filter(jobs::Column::FinishedAt.is_null())
        .filter(jobs::Column::LeaseOwner.like(pattern))
        .filter(jobs::Column::LeaseOwner.not_like(except))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Gives the job back, claimable again `after` from now by the database's
/// clock. A passing failure (`counted: false`) does not use up one of the
/// job's claims; a failed step does, and its delay keeps a job that fails
/// at once from burning through its claims in seconds.
pub async fn put_back(
    db: &DatabaseConnection,
    id: &JobId,
    owner: &str,
    after: std::time::Duration,
    counted: bool,
) -> Result<(), DbError> {
    let mut q = jobs::Entity::update_many()
        .col_expr(
            jobs::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            jobs::Column::LeaseExpiresAt,
            Expr::cust(format!("{} + {}", clock_sql(db), after.as_millis() as i64)),
        );
    if !counted {
        q = q.col_expr(jobs::Column::Claims, Expr::col(jobs::Column::Claims).sub(1));
    }
    q.filter(jobs::Column::Id.eq(id))
        .filter(jobs::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(())
}
