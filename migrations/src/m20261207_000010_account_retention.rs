//! How long each account's results are kept; none stored means the
//! operator's default (`DOCPUSH_RETENTION`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Accounts::Table)
                .add_column(ColumnDef::new(Accounts::RetentionHours).integer().null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Accounts::Table)
                .drop_column(Accounts::RetentionHours)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    RetentionHours,
}
