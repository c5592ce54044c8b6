//! The counts `GET /metrics` reports from the database.

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use super::DbError;

/// What is stored now, counted.
pub struct Gauges {
    /// (destination type, delivery status, deliveries).
    pub deliveries: Vec<(String, String, i64)>,
    /// Deliveries waiting to be sent or retried.
    pub pending: i64,
    /// When the oldest of them was created.
    pub oldest_pending_at: Option<i64>,
    /// (job status, jobs).
    pub jobs: Vec<(String, i64)>,
    /// (document status, documents, their pages).
    pub documents: Vec<(String, i64, i64)>,
}

/// Rows of `(a, b, n)`: two labels and a count.
async fn rows(db: &DatabaseConnection, sql: &str) -> Result<Vec<(String, String, i64)>, DbError> {
    let out = db
        .query_all(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    Ok(out
        .iter()
        .map(|r| {
            Ok((
                r.try_get::<String>("", "a")?,
                r.try_get::<Option<String>>("", "b")?.unwrap_or_default(),
                r.try_get::<i64>("", "n")?,
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()?)
}

pub async fn gauges(db: &DatabaseConnection) -> Result<Gauges, DbError> {
    let deliveries = rows(
        db,
        "SELECT COALESCE(dst.kind, 'template_webhook') AS a, d.status AS b, COUNT(*) AS n \
         FROM deliveries d LEFT JOIN destinations dst ON dst.id = d.destination_id \
         GROUP BY COALESCE(dst.kind, 'template_webhook'), d.status",
    )
    .await?;
    let pending = rows(
        db,
        "SELECT 'pending' AS a, CAST(MIN(created_at) AS TEXT) AS b, COUNT(*) AS n \
         FROM deliveries WHERE status = 'pending'",
    )
    .await?;
    let (pending, oldest_pending_at) = pending
        .first()
        .map(|(_, min, n)| (*n, min.parse::<i64>().ok()))
        .unwrap_or((0, None));
    let jobs = rows(
        db,
        "SELECT status AS a, NULL AS b, COUNT(*) AS n FROM jobs GROUP BY status",
    )
    .await?
    .into_iter()
    .map(|(status, _, n)| (status, n))
    .collect();
    let documents = rows(
        db,
        "SELECT status AS a, CAST(CAST(COALESCE(SUM(pages), 0) AS BIGINT) AS TEXT) AS b, COUNT(*) AS n \
         FROM files GROUP BY status",
    )
    .await?
    .into_iter()
    .map(|(status, pages, n)| (status, n, pages.parse().unwrap_or(0)))
    .collect();
    Ok(Gauges {
        deliveries,
        pending,
        oldest_pending_at,
        jobs,
        documents,
    })
}
