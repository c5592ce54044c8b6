//! A job's files: one per document (a ZIP job gains them when unpacked),
//! each with its status, progress and, once read, its outcome.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};

use super::entities::files;
use super::{now_ms, DbError};
use crate::types::{FileId, JobId, JobStatus, ResultStatus, TemplateId};

pub async fn insert(
    db: &impl ConnectionTrait,
    new_files: Vec<files::Model>,
) -> Result<(), DbError> {
    // In chunks: a statement's bound values are limited (PostgreSQL: 65,535).
    for chunk in new_files.chunks(500) {
        files::Entity::insert_many(
            chunk
                .iter()
                .cloned()
                .map(IntoActiveModel::into_active_model),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// The files of several jobs at once, in job and upload order.
pub async fn of_jobs(
    db: &DatabaseConnection,
    job_ids: &[JobId],
) -> Result<Vec<files::Model>, DbError> {
    if job_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(files::Entity::find()
        .filter(files::Column::JobId.is_in(job_ids.iter()))
        .order_by_asc(files::Column::Ordinal)
        .all(db)
        .await?)
}

pub async fn of_job(
    db: &impl ConnectionTrait,
    job_id: &JobId,
) -> Result<Vec<files::Model>, DbError> {
    Ok(files::Entity::find()
        .filter(files::Column::JobId.eq(job_id))
        .order_by_asc(files::Column::Ordinal)
        .all(db)
        .await?)
}

pub async fn get(
    db: &DatabaseConnection,
    file_id: &FileId,
) -> Result<Option<files::Model>, DbError> {
    Ok(files::Entity::find_by_id(file_id.clone()).one(db).await?)
}

/// Marks a file as being processed (a resumed file may already be marked).
pub async fn start(db: &DatabaseConnection, file_id: &FileId) -> Result<(), DbError> {
    files::Entity::update_many()
        .col_expr(
            files::Column::Status,
            Expr::value(JobStatus::ProcessingImage),
        )
        .col_expr(files::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(files::Column::Id.eq(file_id))
        .filter(files::Column::Status.eq(JobStatus::New))
        .exec(db)
        .await?;
    Ok(())
}

/// The outcome of one file, written once.
pub struct Outcome<'a> {
    pub status: JobStatus,
    pub pages: Option<i64>,
    pub error: Option<&'a str>,
    pub result: Option<String>,
    pub warnings: Option<String>,
    pub result_status: Option<ResultStatus>,
    pub confidences: Option<String>,
    pub boxes: Option<String>,
    /// The template chosen for the document (`auto` jobs).
    pub template_id: Option<TemplateId>,
}

/// Writes a file's outcome unless one was already written; `false` if it was.
pub async fn finish(
    db: &impl ConnectionTrait,
    file_id: &FileId,
    o: Outcome<'_>,
) -> Result<bool, DbError> {
    let res = files::Entity::update_many()
        .col_expr(files::Column::Status, Expr::value(o.status))
        .col_expr(files::Column::Pages, Expr::value(o.pages))
        .col_expr(files::Column::Error, Expr::value(o.error))
        .col_expr(files::Column::Result, Expr::value(o.result))
        .col_expr(files::Column::Warnings, Expr::value(o.warnings))
        .col_expr(files::Column::ResultStatus, Expr::value(o.result_status))
        .col_expr(files::Column::Confidences, Expr::value(o.confidences))
        .col_expr(files::Column::Boxes, Expr::value(o.boxes))
        .col_expr(files::Column::TemplateId, Expr::value(o.template_id))
        .col_expr(files::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(files::Column::Id.eq(file_id))
        .filter(files::Column::Status.is_in([JobStatus::New, JobStatus::ProcessingImage]))
        // An erased document takes no outcome: a reading that was under way when it went is dropped.
        .filter(files::Column::ErasedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Records how far reading a document has got.
pub async fn set_progress(
    db: &DatabaseConnection,
    file_id: &FileId,
    done: u32,
    total: u32,
) -> Result<(), DbError> {
    files::Entity::update_many()
        .col_expr(files::Column::PagesDone, Expr::value(i64::from(done)))
        .col_expr(files::Column::PagesTotal, Expr::value(i64::from(total)))
        .filter(files::Column::Id.eq(file_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Files by id, in one query.
pub async fn by_ids(
    db: &impl ConnectionTrait,
    ids: &[FileId],
) -> Result<Vec<files::Model>, DbError> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(files::Entity::find()
        .filter(files::Column::Id.is_in(ids.iter()))
        .all(db)
        .await?)
}

/// Forgets the uploads of files whose blobs were deleted.
pub async fn clear_blobs(db: &impl ConnectionTrait, ids: &[FileId]) -> Result<(), DbError> {
    if ids.is_empty() {
        return Ok(());
    }
    files::Entity::update_many()
        .col_expr(files::Column::BlobKey, Expr::value(Option::<String>::None))
        .filter(files::Column::Id.is_in(ids.iter()))
        .exec(db)
        .await?;
    Ok(())
}
