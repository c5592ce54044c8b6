//! Erasing a job or one of its documents from the database (SPEC §3): its
//! extracted values, names and static values, and the events, deliveries and
//! attempt logs about it. Ids without content stay (the job and file rows,
//! their status history, the credit ledger) so that they answer 404 or 410
//! instead of reappearing, and the ledger still adds up.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Statement,
};

use super::entities::{deliveries, delivery_attempts, events, files, jobs};
use super::DbError;
use crate::types::{DeliveryId, FileId, JobId};

/// What to erase: a whole job, or one document. A document takes the
/// job-level events with it (a batch's `batch.completed` lists every
/// document's name), and for a job of one document the job's name and
/// static values too.
pub enum Scope<'a> {
    Job,
    File { id: &'a FileId, only_one: bool },
}

/// Why the content goes: a hard delete (it answers 404 afterwards) or the
/// retention purge (its results answer 410).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    HardDelete,
    Retention,
}

/// Erases the rows' content in one transaction-worthy sequence; call inside a
/// transaction, then [`settle`] after the commit.
pub async fn erase(
    db: &impl ConnectionTrait,
    job_id: &JobId,
    scope: Scope<'_>,
    reason: Reason,
    at: i64,
) -> Result<(), DbError> {
    let file_id = match scope {
        Scope::Job => None,
        Scope::File { id, .. } => Some(id),
    };
    let job_columns_too = match scope {
        Scope::Job => true,
        Scope::File { only_one, .. } => only_one,
    };
    // The document's deliveries and, for one document, the job-level ones
    // too (a batch's events list every document).
    let mine = |file: sea_orm::sea_query::SimpleExpr, job_level| {
        sea_orm::Condition::any().add(file).add(job_level)
    };
    let mut dq = deliveries::Entity::find().filter(deliveries::Column::JobId.eq(job_id));
    let mut eq = events::Entity::delete_many().filter(events::Column::JobId.eq(job_id));
    if let Some(f) = file_id {
        dq = dq.filter(mine(
            deliveries::Column::FileId.eq(f),
            deliveries::Column::FileId.is_null(),
        ));
        eq = eq.filter(mine(
            events::Column::FileId.eq(f),
            events::Column::FileId.is_null(),
        ));
    }
    let ids: Vec<DeliveryId> = dq
        .select_only()
        .column(deliveries::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    // Deliveries first, then their attempts: on PostgreSQL a delivery whose
    // attempt is being recorded is deleted once that commits, and the
    // attempt goes after it; a later one finds no delivery and is not written.
    for chunk in ids.chunks(500) {
        deliveries::Entity::delete_many()
            .filter(deliveries::Column::Id.is_in(chunk.iter().cloned()))
            .exec(db)
            .await?;
        delivery_attempts::Entity::delete_many()
            .filter(delivery_attempts::Column::DeliveryId.is_in(chunk.iter().cloned()))
            .exec(db)
            .await?;
    }
    eq.exec(db).await?;

    let none = Option::<String>::None;
    let mut fq = files::Entity::update_many()
        .col_expr(files::Column::FileName, Expr::value(""))
        .col_expr(files::Column::BlobKey, Expr::value(none.clone()))
        .col_expr(files::Column::Error, Expr::value(none.clone()))
        .col_expr(files::Column::Result, Expr::value(none.clone()))
        .col_expr(files::Column::Warnings, Expr::value(none.clone()))
        .col_expr(files::Column::Confidences, Expr::value(none.clone()))
        .col_expr(files::Column::Boxes, Expr::value(none.clone()))
        .filter(files::Column::JobId.eq(job_id));
    if reason == Reason::HardDelete {
        fq = fq.col_expr(files::Column::ErasedAt, Expr::value(at));
    }
    if let Some(f) = file_id {
        fq = fq.filter(files::Column::Id.eq(f));
    }
    fq.exec(db).await?;

    if job_columns_too {
        let mut jq = jobs::Entity::update_many()
            .col_expr(jobs::Column::SourceName, Expr::value(""))
            .col_expr(jobs::Column::StaticValues, Expr::value("{}"))
            .col_expr(jobs::Column::Error, Expr::value(none.clone()))
            .col_expr(jobs::Column::Skipped, Expr::value("[]"))
            .col_expr(jobs::Column::IdempotencyKey, Expr::value(none.clone()))
            .col_expr(jobs::Column::RequestHash, Expr::value(none.clone()))
            .filter(jobs::Column::Id.eq(job_id));
        if file_id.is_none() {
            // No worker takes it up again, and nothing of it is held or locked.
            let unset = Expr::value(Option::<i64>::None);
            jq = jq
                .col_expr(jobs::Column::BlobKey, Expr::value(none.clone()))
                .col_expr(jobs::Column::LeaseOwner, Expr::value(none.clone()))
                .col_expr(jobs::Column::LeaseExpiresAt, unset.clone())
                .col_expr(jobs::Column::LockHolder, Expr::value(none))
                .col_expr(jobs::Column::LockExpiresAt, unset.clone())
                .col_expr(jobs::Column::HeldAt, unset);
            jobs::Entity::update_many()
                .col_expr(jobs::Column::FinishedAt, Expr::value(at))
                .filter(jobs::Column::Id.eq(job_id))
                .filter(jobs::Column::FinishedAt.is_null())
                .exec(db)
                .await?;
            jq = match reason {
                Reason::HardDelete => jq.col_expr(jobs::Column::ErasedAt, Expr::value(at)),
                Reason::Retention => jq.col_expr(jobs::Column::PurgedAt, Expr::value(at)),
            };
        }
        jq.exec(db).await?;
    }
    Ok(())
}

/// Makes erasures physical, see [`settle`]: at once on SQLite (it is quick,
/// and the erasure is not done before it), in the background on PostgreSQL,
/// where a vacuum takes a while: one at a time, and requests that arrive
/// while one waits to start are served by it.
#[derive(Clone, Default)]
pub struct Settler {
    running: std::sync::Arc<tokio::sync::Mutex<()>>,
    queued: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Settler {
    pub async fn after_erasure(&self, db: &sea_orm::DatabaseConnection) -> Result<(), DbError> {
        use std::sync::atomic::Ordering;
        if db.get_database_backend() != DbBackend::Postgres {
            return settle(db).await;
        }
        if self.queued.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let (me, db) = (self.clone(), db.clone());
        tokio::spawn(async move {
            let _one = me.running.lock().await;
            me.queued.store(false, Ordering::Release);
            if let Err(e) = settle(&db).await {
                tracing::warn!(error = %e, "vacuuming after an erasure failed; autovacuum will reclaim the rows");
            }
        });
        Ok(())
    }
}

/// Makes the erasure physical. SQLite overwrites freed space as it goes
/// (`secure_delete`, set on every connection) but keeps the old pages in
/// its write-ahead log until a checkpoint: this one copies them back and
/// truncates the log. PostgreSQL's dead row versions are reclaimed by a
/// vacuum of the tables the erasure touched.
pub async fn settle(db: &impl ConnectionTrait) -> Result<(), DbError> {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let row = db
                .query_one(Statement::from_string(
                    DbBackend::Sqlite,
                    "PRAGMA wal_checkpoint(TRUNCATE)",
                ))
                .await?;
            let busy: i64 = match row {
                Some(r) => r.try_get_by_index(0)?,
                None => 0,
            };
            if busy != 0 {
                tracing::warn!("the write-ahead log could not be truncated now (a reader holds it); the next checkpoint will");
            }
        }
        DbBackend::Postgres => {
            db.execute_unprepared("VACUUM delivery_attempts, deliveries, events, files, jobs")
                .await?;
        }
        _ => {}
    }
    Ok(())
}
