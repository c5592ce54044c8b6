//! How a template's webhook authenticates to its receiver: Basic credentials
//! and the signature scheme, sealed together like the other webhook secrets.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Templates::Table)
                .add_column(ColumnDef::new(Templates::WebhookAuth).text().null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Templates::Table)
                .drop_column(Templates::WebhookAuth)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Templates {
    Table,
    WebhookAuth,
}
