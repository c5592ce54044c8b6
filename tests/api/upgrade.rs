//! Upgrading a database that holds deliveries: the migration that lets an
//! event have no job (operational events) rebuilds SQLite's tables, and must
//! keep every row and index.

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

use crate::helpers::{fresh_postgres, postgres_url};

/// Runs the migrations before the delivery-operations one, stores an event
/// and its delivery, then upgrades.
#[tokio::test]
async fn an_upgrade_keeps_events_deliveries_and_their_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let url = match postgres_url() {
        Some(admin) => fresh_postgres(&admin).await,
        None => format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display()),
    };
    let db = Database::connect(&url).await.unwrap();
    let before = Migrator::migrations().len() as u32 - 1;
    Migrator::up(&db, Some(before)).await.unwrap();
    let backend = db.get_database_backend();
    let run = |sql: &str| db.execute(Statement::from_string(backend, sql.to_string()));
    run(
        "INSERT INTO events (id, account_id, job_id, file_id, event_type, payload, created_at) \
         VALUES ('evt_1', 'acc', 'job-1', NULL, 'job.received', '{}', 1)",
    )
    .await
    .unwrap();
    run("INSERT INTO deliveries (id, event_id, account_id, job_id, file_id, template_id, event_type, \
         status, attempts, next_attempt_at, created_at, updated_at, destination_id) \
         VALUES ('dlv_1', 'evt_1', 'acc', 'job-1', NULL, 'auto', 'job.received', 'failed', 3, 1, 1, 1, 'dst_1')")
    .await
    .unwrap();
    let old_indexes = indexes(&db, backend).await;

    Migrator::up(&db, None).await.unwrap();
    let rows = db
        .query_all(Statement::from_string(
            backend,
            "SELECT d.job_id, d.status, d.attempts, e.payload FROM deliveries d \
             JOIN events e ON e.id = d.event_id"
                .to_string(),
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].try_get::<String>("", "job_id").unwrap(), "job-1");
    assert_eq!(rows[0].try_get::<i64>("", "attempts").unwrap(), 3);
    let mut now = indexes(&db, backend).await;
    for kept in &old_indexes {
        assert!(now.contains(kept), "{kept} lost: {now:?}");
    }
    now.retain(|i| !old_indexes.contains(i));
    assert_eq!(
        now,
        ["deliveries_failed_by_destination", "deliveries_operational"]
    );
    run(
        "INSERT INTO events (id, account_id, job_id, file_id, event_type, payload, created_at) \
         VALUES ('evt_2', 'acc', NULL, NULL, 'destination.failing', '{}', 2)",
    )
    .await
    .expect("an event without a job");
}

/// The names of the indexes on `deliveries`, sorted.
async fn indexes(db: &sea_orm::DatabaseConnection, backend: DbBackend) -> Vec<String> {
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'deliveries'"
        }
        _ => {
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries' \
             AND sql IS NOT NULL"
        }
    };
    let mut names: Vec<String> = db
        .query_all(Statement::from_string(backend, sql.to_string()))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "name").unwrap())
        .collect();
    names.sort();
    names
}
