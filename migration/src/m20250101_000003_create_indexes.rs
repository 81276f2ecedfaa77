//! Indexes for the lookups the API performs besides the primary key.
//!
//! `(name, seq)` serves the legacy POST answer ("every row with this name, oldest first") and
//! name filters; the class/sex/survived index serves the grouped statistics and filters.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str); 2] = [
    ("titanic_name_seq_idx", "CREATE INDEX IF NOT EXISTS titanic_name_seq_idx ON titanic (name, seq)"),
    (
        "titanic_class_sex_survived_idx",
        r#"CREATE INDEX IF NOT EXISTS titanic_class_sex_survived_idx ON titanic ("passengerClass", sex, survived)"#,
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (_, sql) in INDEXES {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager.get_connection().execute_unprepared(&format!("DROP INDEX IF EXISTS {name}")).await?;
        }
        Ok(())
    }
}
