//! The recycle bin, hold and lock of a job (SPEC §3), and what they mean
//! for the deliveries of its documents' events.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::entities::{deliveries, files, jobs};
use super::DbError;
use crate::types::{DeliveryStatus, FileId, JobId};

/// The events whose deliveries wait while a job is held and are cancelled
/// when its document is deleted: those about a document's values.
const DOCUMENT_EVENTS: &str = "extraction.%";

/// Whether a job (and, for a document's event, its file) lets its events out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gate {
    pub held: bool,
    pub deleted: bool,
}

impl Gate {
    /// How a new delivery of a document's event starts, if not pending.
    pub fn status(self) -> Option<DeliveryStatus> {
        if self.deleted {
            Some(DeliveryStatus::Cancelled)
        } else if self.held {
            Some(DeliveryStatus::Held)
        } else {
            None
        }
    }
}

pub async fn gate(
    db: &impl ConnectionTrait,
    job_id: &JobId,
    file_id: Option<&FileId>,
) -> Result<Gate, DbError> {
    let mut q = jobs::Entity::find_by_id(job_id.clone());
    // On PostgreSQL a hold or a deletion committing meanwhile waits for this
    // transaction (or this one for it), so the delivery is stored as the job now is.
    if super::is_postgres(db) {
        q = q.lock_shared();
    }
    let Some(job) = q.one(db).await? else {
        return Ok(Gate::default());
    };
    let mut deleted = job.deleted_at.is_some() || job.erased_at.is_some();
    if let (false, Some(f)) = (deleted, file_id) {
        deleted = files::Entity::find_by_id(f.clone())
            .one(db)
            .await?
            .is_some_and(|f| f.deleted_at.is_some() || f.erased_at.is_some());
    }
    Ok(Gate {
        held: job.held_at.is_some(),
        deleted,
    })
}

/// Moves the deliveries of a job's (or one document's) document events from
/// `from` to `to`; returns how many.
async fn move_deliveries(
    db: &impl ConnectionTrait,
    job_id: &JobId,
    file_id: Option<&FileId>,
    from: &[DeliveryStatus],
    to: DeliveryStatus,
) -> Result<u64, DbError> {
    let mut q = deliveries::Entity::update_many()
        .col_expr(deliveries::Column::Status, Expr::value(to))
        .col_expr(deliveries::Column::UpdatedAt, Expr::value(super::now_ms()))
        .filter(deliveries::Column::JobId.eq(job_id))
        .filter(deliveries::Column::Status.is_in(from.iter().copied()))
        .filter(deliveries::Column::EventType.like(DOCUMENT_EVENTS))
        // One on its way finishes as it goes: its outcome is recorded, not sent again.
        .filter(
            sea_orm::Condition::any()
                .add(deliveries::Column::LeaseOwner.is_null())
                .add(deliveries::Column::LeaseExpiresAt.lt(super::now_ms())),
        );
    if let Some(f) = file_id {
        q = q.filter(deliveries::Column::FileId.eq(f));
    }
    Ok(q.exec(db).await?.rows_affected)
}

/// Puts a job, or one of its documents, in the recycle bin and cancels the
/// deliveries of its document events that have not gone out. `false` when
/// it was there already.
pub async fn delete(
    db: &impl ConnectionTrait,
    job_id: &JobId,
    file_id: Option<&FileId>,
    at: i64,
) -> Result<bool, DbError> {
    let moved = match file_id {
        None => {
            jobs::Entity::update_many()
                .col_expr(jobs::Column::DeletedAt, Expr::value(at))
                .filter(jobs::Column::Id.eq(job_id))
                .filter(jobs::Column::DeletedAt.is_null())
                .exec(db)
                .await?
                .rows_affected
        }
        Some(f) => {
            files::Entity::update_many()
                .col_expr(files::Column::DeletedAt, Expr::value(at))
                .filter(files::Column::Id.eq(f))
                .filter(files::Column::JobId.eq(job_id))
                .filter(files::Column::DeletedAt.is_null())
                .exec(db)
                .await?
                .rows_affected
        }
    };
    if moved == 0 {
        return Ok(false);
    }
    move_deliveries(
        db,
        job_id,
        file_id,
        // Dead letters too: a retry or a recovery must not send them later.
        &[
            DeliveryStatus::Pending,
            DeliveryStatus::Held,
            DeliveryStatus::Failed,
        ],
        DeliveryStatus::Cancelled,
    )
    .await?;
    Ok(true)
}

/// Takes a job, or one document, out of the recycle bin. Its cancelled
/// deliveries stay cancelled: what a receiver was told not to expect does not
/// arrive late. `false` when it was not there.
pub async fn restore(
    db: &impl ConnectionTrait,
    job_id: &JobId,
    file_id: Option<&FileId>,
) -> Result<bool, DbError> {
    let none = Option::<i64>::None;
    let res = match file_id {
        None => {
            jobs::Entity::update_many()
                .col_expr(jobs::Column::DeletedAt, Expr::value(none))
                .filter(jobs::Column::Id.eq(job_id))
                .filter(jobs::Column::DeletedAt.is_not_null())
                .exec(db)
                .await?
        }
        Some(f) => {
            files::Entity::update_many()
                .col_expr(files::Column::DeletedAt, Expr::value(none))
                .filter(files::Column::Id.eq(f))
                .filter(files::Column::JobId.eq(job_id))
                .filter(files::Column::DeletedAt.is_not_null())
                .exec(db)
                .await?
        }
    };
    Ok(res.rows_affected == 1)
}

/// Holds or releases a job: its document events' deliveries wait while it is
/// held and become due on release. `false` when it was so already.
pub async fn set_held(
    db: &impl ConnectionTrait,
    job_id: &JobId,
    at: Option<i64>,
) -> Result<bool, DbError> {
    let mut q = jobs::Entity::update_many()
        .col_expr(jobs::Column::HeldAt, Expr::value(at))
        .filter(jobs::Column::Id.eq(job_id));
    q = match at {
        Some(_) => q.filter(jobs::Column::HeldAt.is_null()),
        None => q.filter(jobs::Column::HeldAt.is_not_null()),
    };
    if q.exec(db).await?.rows_affected == 0 {
        return Ok(false);
    }
    let (from, to) = match at {
        Some(_) => (DeliveryStatus::Pending, DeliveryStatus::Held),
        None => (DeliveryStatus::Held, DeliveryStatus::Pending),
    };
    move_deliveries(db, job_id, None, &[from], to).await?;
    Ok(true)
}

/// Takes or renews a job's lock for `holder` until `until`, unless another
/// holder's lock lasts past `now`. Returns the holder that has it, and until when.
pub async fn lock(
    db: &impl ConnectionTrait,
    job_id: &JobId,
    holder: &str,
    now: i64,
    until: i64,
) -> Result<Option<(String, Option<i64>)>, DbError> {
    let free = sea_orm::Condition::any()
        .add(jobs::Column::LockHolder.is_null())
        .add(jobs::Column::LockHolder.eq(holder))
        .add(jobs::Column::LockExpiresAt.lte(now));
    jobs::Entity::update_many()
        .col_expr(jobs::Column::LockHolder, Expr::value(holder))
        .col_expr(jobs::Column::LockExpiresAt, Expr::value(until))
        .filter(jobs::Column::Id.eq(job_id))
        .filter(free)
        .exec(db)
        .await?;
    Ok(jobs::Entity::find_by_id(job_id.clone())
        .one(db)
        .await?
        .and_then(|j| j.lock_holder.map(|h| (h, j.lock_expires_at))))
}

/// How a lock ends: its holder drops it, or it lapsed before a time.
pub enum Unlock<'a> {
    By(&'a str),
    LapsedBefore(i64),
}

/// Drops a job's lock as `how` says; `false` when there was none to drop.
pub async fn unlock(
    db: &impl ConnectionTrait,
    job_id: &JobId,
    how: Unlock<'_>,
) -> Result<bool, DbError> {
    let mut q = jobs::Entity::update_many()
        .col_expr(
            jobs::Column::LockHolder,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            jobs::Column::LockExpiresAt,
            Expr::value(Option::<i64>::None),
        )
        .filter(jobs::Column::Id.eq(job_id))
        .filter(jobs::Column::LockHolder.is_not_null());
    q = match how {
        Unlock::By(h) => q.filter(jobs::Column::LockHolder.eq(h)),
        // A lock renewed since it was seen lapsed stays.
        Unlock::LapsedBefore(now) => q.filter(jobs::Column::LockExpiresAt.lte(now)),
    };
    Ok(q.exec(db).await?.rows_affected == 1)
}

/// Jobs whose lock lapsed before `now`, oldest first.
pub async fn lapsed_locks(
    db: &impl ConnectionTrait,
    now: i64,
    limit: u64,
) -> Result<Vec<jobs::Model>, DbError> {
    use sea_orm::{QueryOrder, QuerySelect};
    Ok(jobs::Entity::find()
        .filter(jobs::Column::LockHolder.is_not_null())
        .filter(jobs::Column::LockExpiresAt.lte(now))
        .filter(jobs::Column::ErasedAt.is_null())
        .order_by_asc(jobs::Column::LockExpiresAt)
        .limit(limit)
        .all(db)
        .await?)
}
