//! The template each document was read with: for `"template_id": "auto"`
//! jobs, each document's own, chosen by keywords.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Files::Table)
                .add_column(ColumnDef::new(Files::TemplateId).text().null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Files::Table)
                .drop_column(Files::TemplateId)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Files {
    Table,
    TemplateId,
}
