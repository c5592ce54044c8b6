//! Database schema, one file per change; run at start-up and by `docpush migrate`.

pub use sea_orm_migration::prelude::*;

mod m20261101_000001_create_core;
mod m20261123_000002_page_progress;
mod m20261124_000003_destinations;
mod m20261130_000004_webhook_auth;
mod m20261130_000005_dashboard;
mod m20261201_000006_delivery_targets;
mod m20261204_000007_deliveries_fillfactor;
mod m20261207_000008_template_rules;
mod m20261207_000009_file_template;
mod m20261207_000010_account_retention;
mod m20261207_000011_lifecycle;
mod m20261207_000012_delivery_ops;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261101_000001_create_core::Migration),
            Box::new(m20261123_000002_page_progress::Migration),
            Box::new(m20261124_000003_destinations::Migration),
            Box::new(m20261130_000004_webhook_auth::Migration),
            Box::new(m20261130_000005_dashboard::Migration),
            Box::new(m20261201_000006_delivery_targets::Migration),
            Box::new(m20261204_000007_deliveries_fillfactor::Migration),
            Box::new(m20261207_000008_template_rules::Migration),
            Box::new(m20261207_000009_file_template::Migration),
            Box::new(m20261207_000010_account_retention::Migration),
            Box::new(m20261207_000011_lifecycle::Migration),
            Box::new(m20261207_000012_delivery_ops::Migration),
        ]
    }
}
