//! Operating the delivery engine (SPEC §4): events about destinations rather
//! than jobs (so an event's job becomes optional), each destination's
//! failure run, `disable_after`, `rate_limit` and `max_payload_bytes`, the
//! rate limiter's next free slot per destination (shared by every process),
//! and background tasks that survive a restart.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn opt_big(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).big_integer().null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["events", "deliveries"] {
            job_optional(m, table).await?;
        }
        for col in [
            opt_big(Destinations::DisableAfterMs),
            opt_big(Destinations::RateLimit),
            opt_big(Destinations::MaxPayloadBytes),
            ColumnDef::new(Destinations::ConsecutiveFailures)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            opt_big(Destinations::FailingReportedAt),
            ColumnDef::new(Destinations::LastFailure)
                .text()
                .null()
                .to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Destinations::Table)
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(RateSlots::Table)
                .col(
                    ColumnDef::new(RateSlots::DestinationId)
                        .text()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(RateSlots::NextAt).big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Tasks::Table)
                .col(ColumnDef::new(Tasks::Id).text().not_null().primary_key())
                .col(ColumnDef::new(Tasks::AccountId).text().not_null())
                .col(ColumnDef::new(Tasks::Kind).text().not_null())
                .col(ColumnDef::new(Tasks::DestinationId).text().not_null())
                .col(ColumnDef::new(Tasks::Since).big_integer().not_null())
                .col(opt_big(Tasks::Until))
                .col(ColumnDef::new(Tasks::Status).text().not_null())
                .col(ColumnDef::new(Tasks::Total).big_integer().not_null())
                .col(ColumnDef::new(Tasks::Done).big_integer().not_null())
                .col(ColumnDef::new(Tasks::CursorAt).big_integer().null())
                .col(ColumnDef::new(Tasks::CursorId).text().null())
                .col(ColumnDef::new(Tasks::LeaseOwner).text().null())
                .col(opt_big(Tasks::LeaseExpiresAt))
                .col(ColumnDef::new(Tasks::Error).text().null())
                .col(ColumnDef::new(Tasks::CreatedAt).big_integer().not_null())
                .col(ColumnDef::new(Tasks::UpdatedAt).big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("tasks_open")
                .table(Tasks::Table)
                .col(Tasks::Status)
                .col(Tasks::CreatedAt)
                .to_owned(),
        )
        .await?;
        // Failed deliveries of a destination in creation order: what `recover` walks.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX deliveries_failed_by_destination ON deliveries \
                 (destination_id, created_at, id) WHERE status = 'failed'",
            )
            .await?;
        // Deliveries of operational events (no job), for their purge.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX deliveries_operational ON deliveries (created_at) WHERE job_id IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for index in ["deliveries_operational", "deliveries_failed_by_destination"] {
            m.get_connection()
                .execute_unprepared(&format!("DROP INDEX {index}"))
                .await?;
        }
        m.drop_table(Table::drop().table(Tasks::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(RateSlots::Table).to_owned())
            .await?;
        for col in [
            Destinations::DisableAfterMs,
            Destinations::RateLimit,
            Destinations::MaxPayloadBytes,
            Destinations::ConsecutiveFailures,
            Destinations::FailingReportedAt,
            Destinations::LastFailure,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Destinations::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

/// Lets `table.job_id` be null. SQLite cannot alter a column: the table is
/// rebuilt from its own stored definition, rows and indexes, in one
/// transaction (SQLite's migrations run without one), so that an upgrade
/// cut off half way leaves the table as it was. A table already rebuilt
/// (the migration's record was lost) is left alone.
async fn job_optional(m: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    if m.get_database_backend() == DbBackend::Postgres {
        let sql = format!("ALTER TABLE {table} ALTER COLUMN job_id DROP NOT NULL");
        m.get_connection().execute_unprepared(&sql).await?;
        return Ok(());
    }
    let txn = m.get_connection().begin().await?;
    let definitions = |kind: &str| {
        Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT sql FROM sqlite_master WHERE type = ? AND tbl_name = ? AND sql IS NOT NULL",
            [kind.into(), table.into()],
        )
    };
    let read = |rows: Vec<sea_orm_migration::sea_orm::QueryResult>| {
        rows.iter()
            .map(|r| r.try_get::<String>("", "sql"))
            .collect::<Result<Vec<_>, _>>()
    };
    let created = read(txn.query_all(definitions("table")).await?)?;
    let indexes = read(txn.query_all(definitions("index")).await?)?;
    let [created] = created.as_slice() else {
        return Err(DbErr::Migration(format!("table {table} not found")));
    };
    let column = "\"job_id\" text NOT NULL";
    if !created.contains(column) {
        if created.contains("\"job_id\" text") {
            return Ok(());
        }
        return Err(DbErr::Migration(format!(
            "{table}.job_id is not defined as expected: {created}"
        )));
    }
    let rebuilt = created.replacen(column, "\"job_id\" text", 1).replacen(
        &format!("\"{table}\""),
        &format!("\"{table}_rebuilt\""),
        1,
    );
    txn.execute_unprepared(&rebuilt).await?;
    for sql in [
        format!("INSERT INTO {table}_rebuilt SELECT * FROM {table}"),
        format!("DROP TABLE {table}"),
        format!("ALTER TABLE {table}_rebuilt RENAME TO {table}"),
    ] {
        txn.execute_unprepared(&sql).await?;
    }
    for index in indexes {
        txn.execute_unprepared(&index).await?;
    }
    txn.commit().await
}

#[derive(DeriveIden)]
enum Destinations {
    Table,
    DisableAfterMs,
    RateLimit,
    MaxPayloadBytes,
    ConsecutiveFailures,
    FailingReportedAt,
    LastFailure,
}

#[derive(DeriveIden)]
enum RateSlots {
    Table,
    DestinationId,
    NextAt,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    AccountId,
    Kind,
    DestinationId,
    Since,
    Until,
    Status,
    Total,
    Done,
    CursorAt,
    CursorId,
    LeaseOwner,
    LeaseExpiresAt,
    Error,
    CreatedAt,
    UpdatedAt,
}
