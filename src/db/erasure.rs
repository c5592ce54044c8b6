//! Erasing a job or one of its documents from the database (SPEC §3): its
//! extracted values, names and static values, and the events, deliveries and
//! attempt logs about it. Ids without content stay (the job and file rows,
//! their status history, the credit ledger) so that they answer 404 or 410
//! instead of reappearing, and the ledger still adds up.

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};

use super::entities::{deliveries, delivery_attempts, events, files, jobs};
use super::lifecycle::deliveries_of;
use super::DbError;
use crate::types::{FileId, JobId};

/// What to erase: a whole job, or one document (with the job-level events
/// when they name that document, as they do for a job of one file).
pub enum Scope<'a> {
    Job,
    File {
        id: &'a FileId,
        with_job_events: bool,
    },
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
    let job_events_too = match scope {
        Scope::Job => true,
        Scope::File {
            with_job_events, ..
        } => with_job_events,
    };
    delivery_attempts::Entity::delete_many()
        .filter(delivery_attempts::Column::DeliveryId.in_subquery(deliveries_of(job_id, file_id)))
        .exec(db)
        .await?;
    let mut dq = deliveries::Entity::delete_many().filter(deliveries::Column::JobId.eq(job_id));
    let mut eq = events::Entity::delete_many().filter(events::Column::JobId.eq(job_id));
    if let Some(f) = file_id {
        let mine = |c: sea_orm::sea_query::SimpleExpr| {
            let any = sea_orm::Condition::any().add(c.clone());
            if job_events_too {
                any.add(Expr::col(deliveries::Column::FileId).is_null())
            } else {
                any
            }
        };
        dq = dq.filter(mine(deliveries::Column::FileId.eq(f)));
        eq = eq.filter(mine(events::Column::FileId.eq(f)));
        // Attempts of the job-level deliveries go with them.
        if job_events_too {
            let mut job_level = Query::select();
            job_level
                .column(deliveries::Column::Id)
                .from(deliveries::Entity)
                .and_where(deliveries::Column::JobId.eq(job_id))
                .and_where(deliveries::Column::FileId.is_null());
            delivery_attempts::Entity::delete_many()
                .filter(delivery_attempts::Column::DeliveryId.in_subquery(job_level))
                .exec(db)
                .await?;
        }
    }
    dq.exec(db).await?;
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

    if job_events_too {
        let mut jq = jobs::Entity::update_many()
            .col_expr(jobs::Column::SourceName, Expr::value(""))
            .col_expr(jobs::Column::StaticValues, Expr::value("{}"))
            .col_expr(jobs::Column::Error, Expr::value(none.clone()))
            .col_expr(jobs::Column::Skipped, Expr::value("[]"))
            .col_expr(jobs::Column::IdempotencyKey, Expr::value(none.clone()))
            .col_expr(jobs::Column::RequestHash, Expr::value(none.clone()))
            .filter(jobs::Column::Id.eq(job_id));
        if file_id.is_none() {
            jq = jq.col_expr(jobs::Column::BlobKey, Expr::value(none));
            jq = match reason {
                Reason::HardDelete => jq.col_expr(jobs::Column::ErasedAt, Expr::value(at)),
                Reason::Retention => jq.col_expr(jobs::Column::PurgedAt, Expr::value(at)),
            };
        }
        jq.exec(db).await?;
    }
    Ok(())
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
