//! What a template says besides its fields and options: the keywords that
//! choose it for `"template_id": "auto"`, its priority and its blocks, stored
//! together as JSON.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Templates::Table)
                .add_column(ColumnDef::new(Templates::Rules).text().null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Templates::Table)
                .drop_column(Templates::Rules)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Templates {
    Table,
    Rules,
}
