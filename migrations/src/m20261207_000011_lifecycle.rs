//! The lifecycle of SPEC §3 and §5: jobs and files in the recycle bin or
//! erased, jobs held or locked for review, template categories, destination
//! rules, and the audit log.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn opt_big(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).big_integer().null().to_owned()
}
fn opt_text(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).text().null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        for col in [
            opt_big(Jobs::DeletedAt),
            opt_big(Jobs::ErasedAt),
            opt_big(Jobs::HeldAt),
            opt_text(Jobs::LockHolder),
            opt_big(Jobs::LockExpiresAt),
        ] {
            m.alter_table(Table::alter().table(Jobs::Table).add_column(col).to_owned())
                .await?;
        }
        for col in [opt_big(Files::DeletedAt), opt_big(Files::ErasedAt)] {
            m.alter_table(
                Table::alter()
                    .table(Files::Table)
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Templates::Table)
                .add_column(opt_text(Templates::Category))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Destinations::Table)
                .add_column(opt_text(Destinations::Rules))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(
                    ColumnDef::new(AuditLog::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(AuditLog::AccountId).text().not_null())
                .col(ColumnDef::new(AuditLog::At).big_integer().not_null())
                .col(ColumnDef::new(AuditLog::Actor).text().not_null())
                .col(ColumnDef::new(AuditLog::Origin).text().not_null())
                .col(ColumnDef::new(AuditLog::Action).text().not_null())
                .col(ColumnDef::new(AuditLog::ObjectType).text().not_null())
                .col(ColumnDef::new(AuditLog::ObjectId).text().not_null())
                .col(ColumnDef::new(AuditLog::Changes).text().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("audit_log_account")
                .table(AuditLog::Table)
                .col(AuditLog::AccountId)
                .col(AuditLog::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await?;
        for col in [
            Jobs::DeletedAt,
            Jobs::ErasedAt,
            Jobs::HeldAt,
            Jobs::LockHolder,
            Jobs::LockExpiresAt,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Jobs::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        for col in [Files::DeletedAt, Files::ErasedAt] {
            m.alter_table(
                Table::alter()
                    .table(Files::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Templates::Table)
                .drop_column(Templates::Category)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Destinations::Table)
                .drop_column(Destinations::Rules)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    DeletedAt,
    ErasedAt,
    HeldAt,
    LockHolder,
    LockExpiresAt,
}

#[derive(DeriveIden)]
enum Files {
    Table,
    DeletedAt,
    ErasedAt,
}

#[derive(DeriveIden)]
enum Templates {
    Table,
    Category,
}

#[derive(DeriveIden)]
enum Destinations {
    Table,
    Rules,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    AccountId,
    At,
    Actor,
    Origin,
    Action,
    ObjectType,
    ObjectId,
    Changes,
}
