//! Jobs, their status transitions and their files.
//!
//! A worker owns a job while its lease lasts. Every move is a compare-and-set on
//! the current status and the lease owner, so a worker whose lease expired and
//! was taken over cannot write over the new owner's progress.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};

use super::entities::{files, job_transitions, jobs};
pub use super::job_leases::{claim_next, free_leases, put_back, renew_lease};
use super::{now_ms, DbError};
use crate::types::{AccountId, JobId, JobStatus, TemplateChoice};

pub async fn insert(
    db: &impl ConnectionTrait,
    job: jobs::Model,
    new_files: Vec<files::Model>,
) -> Result<(), DbError> {
    let (id, status, at) = (job.id.clone(), job.status, job.created_at);
    job.into_active_model().insert(db).await?;
    record_transition(db, &id, status, at).await?;
    super::files::insert(db, new_files).await
}

async fn record_transition(
    db: &impl ConnectionTrait,
    job_id: &JobId,
    status: JobStatus,
    at: i64,
) -> Result<(), DbError> {
    job_transitions::ActiveModel {
        job_id: Set(job_id.clone()),
        status: Set(status),
        at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The job an idempotency key created since `since_ms`.
pub async fn find_by_idempotency_key(
    db: &DatabaseConnection,
    account_id: &AccountId,
    key: &str,
    since_ms: i64,
) -> Result<Option<jobs::Model>, DbError> {
    Ok(jobs::Entity::find()
        .filter(jobs::Column::AccountId.eq(account_id))
        .filter(jobs::Column::IdempotencyKey.eq(key))
        .filter(jobs::Column::CreatedAt.gte(since_ms))
        .one(db)
        .await?)
}

/// Frees a key older than the idempotency window so it can be used again.
pub async fn forget_idempotency_key(
    db: &DatabaseConnection,
    account_id: &AccountId,
    key: &str,
) -> Result<(), DbError> {
    jobs::Entity::update_many()
        .col_expr(
            jobs::Column::IdempotencyKey,
            Expr::value(Option::<String>::None),
        )
        .filter(jobs::Column::AccountId.eq(account_id))
        .filter(jobs::Column::IdempotencyKey.eq(key))
        .exec(db)
        .await?;
    Ok(())
}

/// A job of the account.
pub async fn get(
    db: &DatabaseConnection,
    account_id: &AccountId,
    id: &JobId,
) -> Result<Option<jobs::Model>, DbError> {
    Ok(jobs::Entity::find_by_id(id.clone())
        .filter(jobs::Column::AccountId.eq(account_id))
        .one(db)
        .await?)
}

/// Which of an account's jobs to list, newest first.
pub struct JobFilter<'a> {
    pub status: Option<JobStatus>,
    pub template_id: Option<&'a TemplateChoice>,
    /// Only jobs older than this `(created_at, id)`: the cursor of the page before.
    pub before: Option<(i64, &'a JobId)>,
    /// The recycle bin instead of the live jobs (erased jobs are in neither).
    pub deleted: bool,
    pub limit: u64,
}

pub async fn list(
    db: &DatabaseConnection,
    account_id: &AccountId,
    f: JobFilter<'_>,
) -> Result<Vec<jobs::Model>, DbError> {
    use sea_orm::Condition;
    let mut q = jobs::Entity::find()
        .filter(jobs::Column::AccountId.eq(account_id))
        .filter(jobs::Column::ErasedAt.is_null());
    q = if f.deleted {
        q.filter(jobs::Column::DeletedAt.is_not_null())
    } else {
        q.filter(jobs::Column::DeletedAt.is_null())
    };
    if let Some(s) = f.status {
        q = q.filter(jobs::Column::Status.eq(s));
    }
    if let Some(t) = f.template_id {
        q = q.filter(jobs::Column::TemplateId.eq(t));
    }
    if let Some((at, id)) = f.before {
        q = q.filter(
            Condition::any().add(jobs::Column::CreatedAt.lt(at)).add(
                Condition::all()
                    .add(jobs::Column::CreatedAt.eq(at))
                    .add(jobs::Column::Id.lt(id)),
            ),
        );
    }
    Ok(q.order_by_desc(jobs::Column::CreatedAt)
        .order_by_desc(jobs::Column::Id)
        .limit(f.limit)
        .all(db)
        .await?)
}

/// A job by id, whoever's it is (workers and tests).
pub async fn get_any(db: &DatabaseConnection, id: &JobId) -> Result<Option<jobs::Model>, DbError> {
    Ok(jobs::Entity::find_by_id(id.clone()).one(db).await?)
}

pub async fn transitions(
    db: &DatabaseConnection,
    job_id: &JobId,
) -> Result<Vec<job_transitions::Model>, DbError> {
    Ok(job_transitions::Entity::find()
        .filter(job_transitions::Column::JobId.eq(job_id))
        .order_by_asc(job_transitions::Column::Id)
        .all(db)
        .await?)
}

/// One move of a job's status: where to, the error it records, and when.
#[derive(Clone, Copy, Debug)]
pub struct Move<'a> {
    pub to: JobStatus,
    pub error: Option<&'a str>,
    pub at: i64,
}

impl<'a> Move<'a> {
    /// A move made now.
    pub fn now(to: JobStatus, error: Option<&'a str>) -> Self {
        Move {
            to,
            error,
            at: now_ms(),
        }
    }
}

/// Moves the job from `from` to `to` if `owner` still holds it; records the transition.
pub async fn move_status(
    db: &impl ConnectionTrait,
    id: &JobId,
    owner: &str,
    from: JobStatus,
    to: JobStatus,
    error: Option<&str>,
) -> Result<bool, DbError> {
    advance(db, id, owner, from, &[Move::now(to, error)]).await
}

/// Moves the job from `from` through `moves` (it ends at the last) if `owner`
/// still holds it, each move in its history with its own time: one update
/// and one insert however many moves. `false` when the job moved on without
/// `owner`.
pub async fn advance(
    db: &impl ConnectionTrait,
    id: &JobId,
    owner: &str,
    from: JobStatus,
    moves: &[Move<'_>],
) -> Result<bool, DbError> {
    let Some(last) = moves.last() else {
        return Ok(true);
    };
    debug_assert!(
        std::iter::once(from)
            .chain(moves.iter().map(|m| m.to))
            .zip(moves.iter().map(|m| m.to))
            .all(|(a, b)| a.can_move_to(b)),
        "{from} -> {moves:?}"
    );
    let mut q = jobs::Entity::update_many()
        .col_expr(jobs::Column::Status, Expr::value(last.to))
        .col_expr(jobs::Column::UpdatedAt, Expr::value(last.at));
    if let Some(e) = moves.iter().rev().find_map(|m| m.error) {
        q = q.col_expr(jobs::Column::Error, Expr::value(e));
    }
    if last.to.is_final() {
        q = q
            .col_expr(jobs::Column::FinishedAt, Expr::value(last.at))
            .col_expr(
                jobs::Column::LeaseOwner,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                jobs::Column::LeaseExpiresAt,
                Expr::value(Option::<i64>::None),
            );
    }
    let res = q
        .filter(jobs::Column::Id.eq(id))
        .filter(jobs::Column::Status.eq(from))
        .filter(jobs::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        return Ok(false);
    }
    job_transitions::Entity::insert_many(moves.iter().map(|m| job_transitions::ActiveModel {
        job_id: Set(id.clone()),
        status: Set(m.to),
        at: Set(m.at),
        ..Default::default()
    }))
    .exec_without_returning(db)
    .await?;
    Ok(true)
}

pub async fn set_skipped(
    db: &impl ConnectionTrait,
    id: &JobId,
    skipped_json: &str,
) -> Result<(), DbError> {
    jobs::Entity::update_many()
        .col_expr(jobs::Column::Skipped, Expr::value(skipped_json))
        .filter(jobs::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn clear_blob_key(db: &impl ConnectionTrait, id: &JobId) -> Result<(), DbError> {
    jobs::Entity::update_many()
        .col_expr(jobs::Column::BlobKey, Expr::value(Option::<String>::None))
        .filter(jobs::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Documents of `account_id` waiting or being read: the unfinished files of
/// its unfinished jobs, and one for each unfinished job not yet unpacked.
pub async fn queued_documents(
    db: &DatabaseConnection,
    account_id: &AccountId,
) -> Result<u64, DbError> {
    let row = db
        .query_one(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT COUNT(*) AS queued FROM jobs j LEFT JOIN files f ON f.job_id = j.id \
             WHERE j.account_id = $1 AND j.finished_at IS NULL AND j.deleted_at IS NULL \
             AND (f.id IS NULL OR f.status NOT IN ($2, $3))",
            vec![
                account_id.into(),
                JobStatus::ProcessImageSuccess.as_str().into(),
                JobStatus::ProcessImageFailed.as_str().into(),
            ],
        ))
        .await?;
    let queued: i64 = match row {
        Some(r) => r.try_get("", "queued")?,
        None => 0,
    };
    Ok(queued.max(0) as u64)
}

/// Finished (or binned) jobs whose results are still kept past their account's retention
/// (`default_keep_ms` for accounts that set none).
pub async fn expired(
    db: &DatabaseConnection,
    now_ms: i64,
    default_keep_ms: i64,
    limit: u64,
) -> Result<Vec<jobs::Model>, DbError> {
    // Each account's own retention where it set one, the operator's default otherwise.
    let sql = "COALESCE((SELECT ? - accounts.retention_hours * ? FROM accounts \
               WHERE accounts.id = jobs.account_id AND accounts.retention_hours IS NOT NULL), ?)";
    // A custom expression keeps its placeholders as written: PostgreSQL numbers them.
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => sql
            .replacen('?', "$1", 1)
            .replacen('?', "$2", 1)
            .replacen('?', "$3", 1),
        _ => sql.to_string(),
    };
    let cutoff = Expr::cust_with_values(sql, [now_ms, 3_600_000, now_ms - default_keep_ms]);
    Ok(jobs::Entity::find()
        // A job in the recycle bin that never finished is kept as long from its deletion.
        .filter(Expr::expr(Expr::cust("COALESCE(jobs.finished_at, jobs.deleted_at)")).lt(cutoff))
        .filter(jobs::Column::PurgedAt.is_null())
        .filter(jobs::Column::ErasedAt.is_null())
        .order_by_asc(jobs::Column::FinishedAt)
        .limit(limit)
        .all(db)
        .await?)
}
