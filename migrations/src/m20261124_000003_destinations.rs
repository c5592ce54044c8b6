//! Destinations (webhook, SQS, S3) and which destination each delivery goes to.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let text = |c: Destinations| ColumnDef::new(c).text().not_null().to_owned();
        let big = |c: Destinations| ColumnDef::new(c).big_integer().not_null().to_owned();
        let opt_big = |c: Destinations| ColumnDef::new(c).big_integer().null().to_owned();
        m.create_table(
            Table::create()
                .table(Destinations::Table)
                .col(
                    ColumnDef::new(Destinations::Id)
                        .string()
                        .not_null()
                        .primary_key(),
                )
                .col(text(Destinations::AccountId))
                .col(text(Destinations::Kind))
                .col(text(Destinations::Config))
                .col(text(Destinations::Events))
                .col(text(Destinations::Templates))
                .col(big(Destinations::Enabled))
                .col(ColumnDef::new(Destinations::DisabledReason).text().null())
                .col(opt_big(Destinations::FailingSince))
                .col(big(Destinations::CreatedAt))
                .col(big(Destinations::UpdatedAt))
                .col(opt_big(Destinations::DeletedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("destinations_account")
                .table(Destinations::Table)
                .col(Destinations::AccountId)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Deliveries::Table)
                .add_column(ColumnDef::new(Deliveries::DestinationId).string().null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("deliveries_destination")
                .table(Deliveries::Table)
                .col(Deliveries::DestinationId)
                .col(Deliveries::Status)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("deliveries_destination").to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(Deliveries::Table)
                .drop_column(Deliveries::DestinationId)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(Destinations::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Destinations {
    Table,
    Id,
    AccountId,
    Kind,
    Config,
    Events,
    Templates,
    Enabled,
    DisabledReason,
    FailingSince,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    DestinationId,
    Status,
}
