//! Each rate-limited destination's next free start slot, in the database so
//! that every worker process draws from the same budget: a slot is taken
//! by one atomic upsert (the generic cell rate algorithm: slots `1/n`
//! seconds apart, none owed for an idle past).

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use super::DbError;
use crate::types::DestinationId;

/// Takes the destination's next slot for a limit of one start every
/// `interval_us`, unless it is more than `horizon_us` away; returns when the
/// slot starts and the time now, both in µs since the epoch by the
/// database's clock on PostgreSQL (hosts' clocks may differ; SQLite has one
/// host), or `None` when the slot is too far.
pub async fn reserve(
    db: &DatabaseConnection,
    id: &DestinationId,
    interval_us: i64,
    horizon_us: i64,
) -> Result<Option<(i64, i64)>, DbError> {
    let backend = db.get_database_backend();
    let (sql, values) = match backend {
        DbBackend::Postgres => (
            "WITH clock AS (SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT) AS now) \
             INSERT INTO rate_slots (destination_id, next_at) SELECT $1, now + $2 FROM clock \
             ON CONFLICT (destination_id) DO UPDATE \
             SET next_at = GREATEST(rate_slots.next_at, (SELECT now FROM clock)) + $2 \
             WHERE rate_slots.next_at < (SELECT now FROM clock) + $3 \
             RETURNING next_at, (SELECT now FROM clock) AS now",
            vec![id.as_str().into(), interval_us.into(), horizon_us.into()],
        ),
        _ => (
            "INSERT INTO rate_slots (destination_id, next_at) VALUES (?1, ?2 + ?3) \
             ON CONFLICT (destination_id) DO UPDATE \
             SET next_at = MAX(rate_slots.next_at, ?2) + ?3 \
             WHERE rate_slots.next_at < ?2 + ?4 RETURNING next_at, ?2 AS now",
            vec![
                id.as_str().into(),
                now_us().into(),
                interval_us.into(),
                horizon_us.into(),
            ],
        ),
    };
    let row = db
        .query_one(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(match row {
        Some(row) => Some((
            row.try_get::<i64>("", "next_at")? - interval_us,
            row.try_get::<i64>("", "now")?,
        )),
        None => None,
    })
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Forgets the slots of destinations that are gone.
pub async fn forget(db: &impl ConnectionTrait, id: &DestinationId) -> Result<(), DbError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "DELETE FROM rate_slots WHERE destination_id = $1",
        _ => "DELETE FROM rate_slots WHERE destination_id = ?",
    };
    db.execute(Statement::from_sql_and_values(
        backend,
        sql,
        [id.as_str().into()],
    ))
    .await?;
    Ok(())
}
