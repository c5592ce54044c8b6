//! Dashboard sign-ins (sessions held server-side, so signing out ends them),
//! where each extracted value was found on its page, and a template's webhook
//! stored as a webhook destination's config (mutual TLS, rotation grace).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(
                    ColumnDef::new(Sessions::TokenHash)
                        .string()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Sessions::AccountId).text().not_null())
                .col(ColumnDef::new(Sessions::KeyId).text().not_null())
                .col(ColumnDef::new(Sessions::Csrf).text().not_null())
                .col(ColumnDef::new(Sessions::CreatedAt).big_integer().not_null())
                .col(ColumnDef::new(Sessions::ExpiresAt).big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Files::Table)
                .add_column(ColumnDef::new(Files::Boxes).text().null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Templates::Table)
                .add_column(ColumnDef::new(Templates::WebhookConfig).text().null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Templates::Table)
                .drop_column(Templates::WebhookConfig)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Files::Table)
                .drop_column(Files::Boxes)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(Sessions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TokenHash,
    AccountId,
    KeyId,
    Csrf,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Files {
    Table,
    Boxes,
}

#[derive(DeriveIden)]
enum Templates {
    Table,
    WebhookConfig,
}
