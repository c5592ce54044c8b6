//! Room on each page of `deliveries` (PostgreSQL) so that a claim, which
//! writes only the lease, updates the row in place (a heap-only tuple) and
//! leaves the table's five indexes alone; on full pages every claim wrote an
//! entry into each of them. Pages written from now on get the room; SQLite has
//! no such setting.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        on_postgres(m, "ALTER TABLE deliveries SET (fillfactor = 70)").await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        on_postgres(m, "ALTER TABLE deliveries RESET (fillfactor)").await
    }
}

async fn on_postgres(m: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    if m.get_database_backend() == DbBackend::Postgres {
        m.get_connection().execute_unprepared(sql).await?;
    }
    Ok(())
}
