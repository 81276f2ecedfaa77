//! Widens the class/sex/survived index by age and fare, so grouped statistics read the index
//! alone instead of looking up every row in the table.
//!
//! With 1,000,000 rows on SQLite, `passengerStats(groupBy: [PASSENGER_CLASS, SEX])` walked the
//! old index in group order and fetched each row for its age and fare (p50 0.7–0.8 s); over the
//! covering index it takes 0.25 s. PostgreSQL's plan (a parallel scan) is unchanged. The new
//! index serves every filter the old one did (its columns lead), so the old one is dropped.
//! Indexes are invisible to the legacy service.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COVERING: &str =
    r#"CREATE INDEX IF NOT EXISTS passengers_stats_idx ON passengers ("passengerClass", sex, survived, age, fare)"#;
const OLD: &str =
    r#"CREATE INDEX IF NOT EXISTS titanic_class_sex_survived_idx ON passengers ("passengerClass", sex, survived)"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(COVERING).await?;
        db.execute_unprepared("DROP INDEX IF EXISTS titanic_class_sex_survived_idx").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(OLD).await?;
        db.execute_unprepared("DROP INDEX IF EXISTS passengers_stats_idx").await?;
        Ok(())
    }
}
