//! Schema migrations of passenger-api.
//!
//! They create the `titanic` table on an empty database and adopt a legacy one in place: they
//! only ever add (an insertion-order column, indexes) and never rewrite a row's values. Each
//! step is idempotent, and [`run`] serialises concurrent runs on PostgreSQL with an advisory
//! lock so replicas starting together do not race.

pub use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DatabaseBackend, DatabaseConnection, Statement, TransactionTrait};

mod m20250101_000001_create_titanic;
mod m20250101_000002_add_insertion_order;
mod m20250101_000003_create_indexes;

/// Arbitrary but fixed key of the PostgreSQL advisory lock taken around a migration run.
pub const MIGRATION_LOCK_KEY: i64 = 0x7061_7373_656e_6772; // "passengr"

/// The ordered list of migrations.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20250101_000001_create_titanic::Migration),
            Box::new(m20250101_000002_add_insertion_order::Migration),
            Box::new(m20250101_000003_create_indexes::Migration),
        ]
    }
}

/// Applies every pending migration.
///
/// On PostgreSQL the whole run happens in one transaction holding a transaction-scoped
/// advisory lock: a second replica waits, then finds nothing left to do. On SQLite the
/// migrations run directly (SQLite serialises writers itself).
pub async fn run(db: &DatabaseConnection) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let txn = db.begin().await?;
            txn.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [MIGRATION_LOCK_KEY.into()],
            ))
            .await?;
            Migrator::up(&txn, None).await?;
            txn.commit().await
        }
        _ => Migrator::up(db, None).await,
    }
}
