//! Pending deliveries indexed by their target (the destination, or the
//! template for its own webhook) in due order, so that the dispatcher claims
//! for one target without walking the due deliveries of the others.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The expression the claims filter on, word for word, so that both
/// databases match it to the index.
const CREATE: &str = "CREATE INDEX deliveries_target_due ON deliveries \
                      (COALESCE(destination_id, template_id), next_attempt_at) \
                      WHERE status = 'pending'";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection().execute_unprepared(CREATE).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP INDEX deliveries_target_due")
            .await?;
        Ok(())
    }
}
