//! The only place that builds queries. `connect` chooses the backend by URL.
//! Every function takes and returns typed ids and statuses, and fails with a
//! [`DbError`] that says whether the database was out of reach.

pub mod accounts;
pub mod audit;
pub mod deliveries;
mod delivery_claims;
pub mod destinations;
pub mod entities;
pub mod erasure;
mod error;
pub mod files;
mod job_leases;
pub mod jobs;
pub mod lifecycle;
pub mod metrics;
pub mod rate_slots;
pub mod sessions;
pub mod tasks;
pub mod templates;

pub use error::{json, json_opt, DbError};

use std::time::Duration;

use anyhow::Context;
use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, ExecResult,
    Statement, Value,
};

/// Milliseconds since the unix epoch: every time column uses this unit.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A stored millisecond timestamp as clients see it: RFC 3339 in UTC.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Connects with a pool of `connections` and, for SQLite, turns on WAL and a busy timeout.
pub async fn connect(url: &str, connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        // The single connection of the embedded file is shared by every
        // request and worker; waiting for it under a burst is normal.
        // One connection by default: a larger pool measured no faster in
        // `docpush-bench`, and it would admit SQLITE_BUSY on any future
        // transaction that reads before it writes.
        opts.max_connections(connections.max(1)).min_connections(1);
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // The queue's hot pages stay in memory instead of being read
                // back from the OS on every claim (the default is 2 MiB).
                .pragma("cache_size", "-65536")
                .pragma("mmap_size", "268435456")
                // An erased document leaves no bytes in freed pages (SPEC §3).
                .pragma("secure_delete", "ON")
        });
    } else {
        // A server that is down is found out in seconds, and the request
        // answered 503, instead of holding the client for half a minute.
        opts.max_connections(connections.max(2))
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5));
    }
    Database::connect(opts).await.with_context(|| {
        format!(
            "connecting to the database at {}",
            crate::config::mask_url(url)
        )
    })
}

/// Whether the database answers.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbError> {
    Ok(db.ping().await?)
}

/// The PostgreSQL advisory lock that serialises migrations across processes.
const MIGRATION_LOCK: i64 = 0x646f_6370_7573_6801;

/// Applies pending migrations. On PostgreSQL, processes starting together
/// take turns (a session advisory lock): concurrent `CREATE TABLE`s of the
/// same table collide in the catalogue, and all but one would die.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Migrator::up(db, None).await.context("running migrations");
    }
    use sea_orm::sqlx;
    let pool = db.get_postgres_connection_pool();
    let mut lock = pool
        .acquire()
        .await
        .context("taking a connection for the migration lock")?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *lock)
        .await
        .context("waiting for the migration lock")?;
    let result = Migrator::up(db, None).await.context("running migrations");
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *lock)
        .await;
    if unlocked.is_err() {
        // A session lock ends with its session: close this connection rather than return it.
        lock.detach();
    }
    result
}

/// Runs one statement written with `$1…` placeholders, which both backends accept.
pub(crate) async fn exec(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<ExecResult, DbErr> {
    db.execute(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        values,
    ))
    .await
}

/// A leased work queue: rows of `table` that are `ready`, taken in `order`;
/// a claim also runs `also_set` (`, column = …`).
pub(crate) struct Queue<'a> {
    pub table: &'a str,
    pub ready: &'a str,
    pub order: &'a str,
    pub also_set: &'a str,
}

/// Leases the first `limit` rows of `table` that are `ready` (in `order`) to
/// `owner` until `lease_ms` from now by the database's clock, in one
/// statement: a compare-and-set on the lease that works on SQLite and, with
/// `SKIP LOCKED`, lets PostgreSQL claimers pass each other. `ready` and
/// `also_set` may use `$3`, this host's time. Returns the leased rows, in no
/// particular order.
pub(crate) async fn lease_next(
    db: &DatabaseConnection,
    queue: Queue<'_>,
    owner: &str,
    lease_ms: i64,
    limit: u32,
) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
    let Queue {
        table,
        ready,
        order,
        also_set,
    } = queue;
    let now = now_ms();
    let lock = if is_postgres(db) {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let clock = clock_sql(db);
    let free = format!("(lease_expires_at IS NULL OR lease_expires_at < {clock})");
    // The outer statement re-checks only the lease (the compare-and-set):
    // repeating `ready` there lets SQLite plan a scan of every due row.
    let pick = format!(
        "SELECT id FROM {table} WHERE {ready} AND {free} ORDER BY {order} LIMIT {limit}{lock}"
    );
    // PostgreSQL is handed the picked ids as one array: as `IN (SELECT …)`
    // its planner joins them by scanning the whole table whenever its
    // statistics think the table small (a fresh one, or one that grew since).
    let picked = if lock.is_empty() {
        format!("id IN ({pick})")
    } else {
        format!("id = ANY(ARRAY({pick}))")
    };
    let sql = format!(
        "UPDATE {table} SET lease_owner = $1, lease_expires_at = {clock} + $2{also_set} \
         WHERE {picked} AND {free} RETURNING *"
    );
    db.query_all(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        vec![owner.into(), lease_ms.into(), now.into()],
    ))
    .await
}

/// Unix milliseconds by the database server's clock, as an SQL expression.
/// Leases are written and compared with it alone, so a host whose own clock
/// runs ahead cannot see live leases as expired and take the work over.
pub(crate) fn clock_sql(db: &impl ConnectionTrait) -> &'static str {
    if is_postgres(db) {
        "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
    } else {
        "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
    }
}

pub fn is_postgres(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}
