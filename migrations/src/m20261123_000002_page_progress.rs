//! Page progress of a document being read, and the confidence of each extracted value.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds columns one at a time.
        for col in [
            ColumnDef::new(Files::PagesTotal)
                .big_integer()
                .null()
                .to_owned(),
            ColumnDef::new(Files::PagesDone)
                .big_integer()
                .null()
                .to_owned(),
            ColumnDef::new(Files::Confidences).text().null().to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Files::Table)
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [Files::PagesTotal, Files::PagesDone, Files::Confidences] {
            m.alter_table(
                Table::alter()
                    .table(Files::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Files {
    Table,
    PagesTotal,
    PagesDone,
    Confidences,
}
