//! Schema migrations of passenger-api.
//!
//! They create the table on an empty database and adopt a legacy one in place without the
//! legacy service noticing: the legacy `titanic` table becomes `passengers` (with an
//! insertion number, a row version and indexes), and an updatable view named `titanic` keeps
//! showing the legacy service exactly the nine legacy columns, rows and order it saw before.
//! No migration changes a row's values or insertion number (SQLite's table is rebuilt once, to
//! add a stored generated column, with the same rows and numbers). Each step is idempotent, [`run`]
//! serialises concurrent runs on PostgreSQL with an advisory lock so replicas starting together
//! do not race, and [`down_to_legacy`] undoes the adoption.
//!
//! Every migration is additive for the releases before it (a new table, column default or
//! index; nothing an older release reads is removed or changed), so an older release runs on a
//! database a newer one migrated: [`run`] then applies nothing and says so ([`Ran::Newer`]).
//! That is what lets passenger-api itself be rolled back (an older replica restarting during a
//! rolling update, `kubectl rollout undo`).

pub use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{
    DatabaseBackend, DatabaseConnection, IntoDatabaseExecutor, Statement, TransactionTrait,
};

mod m20250101_000001_create_titanic;
mod m20250101_000002_add_insertion_order;
mod m20250101_000003_create_indexes;
mod m20250101_000004_rename_to_passengers;
mod m20250101_000005_create_change_triggers;
mod m20250101_000006_create_idempotency_keys;
mod m20250101_000007_cover_grouped_stats;
mod m20250101_000008_store_page_rows;

pub use m20250101_000004_rename_to_passengers::LEGACY_COLUMNS;
pub use m20250101_000006_create_idempotency_keys::IDEMPOTENCY_TABLE;
pub use m20250101_000008_store_page_rows::PAGE_ROW;

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
            Box::new(m20250101_000004_rename_to_passengers::Migration),
            Box::new(m20250101_000005_create_change_triggers::Migration),
            Box::new(m20250101_000006_create_idempotency_keys::Migration),
            Box::new(m20250101_000007_cover_grouped_stats::Migration),
            Box::new(m20250101_000008_store_page_rows::Migration),
        ]
    }
}

/// What [`run`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    /// Every migration this release knows is applied (some may just have been).
    Current,
    /// A newer release migrated the database: it holds these migrations, which this release
    /// does not know, and every one this release knows. Nothing was applied; this release works
    /// on the newer schema (migrations are additive).
    Newer(Vec<String>),
}

/// Applies every pending migration, unless a newer release already migrated the database.
///
/// On PostgreSQL the whole run happens in one transaction holding a transaction-scoped
/// advisory lock: a second replica waits, then finds nothing left to do. On SQLite the
/// migrations run directly (SQLite serialises writers itself). A database holding migrations
/// this release does not know while lacking some it does was migrated by a diverging release:
/// that is an error, and nothing is applied.
pub async fn run(db: &DatabaseConnection) -> Result<Ran, DbErr> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let txn = locked(db).await?;
            let ran = run_on(&txn).await?;
            txn.commit().await?;
            Ok(ran)
        }
        _ => run_on(db).await,
    }
}

async fn run_on<'c, C: IntoDatabaseExecutor<'c> + Copy>(db: C) -> Result<Ran, DbErr> {
    let applied = applied_versions(db).await?;
    let known: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
    let newer: Vec<String> = applied.iter().filter(|v| !known.contains(v)).cloned().collect();
    if newer.is_empty() {
        Migrator::up(db, None).await?;
        return Ok(Ran::Current);
    }
    let missing: Vec<&String> = known.iter().filter(|k| !applied.contains(k)).collect();
    if !missing.is_empty() {
        return Err(DbErr::Migration(format!(
            "the database holds migrations this release does not know ({}) but lacks some it does ({}): \
             it was migrated by a diverging release",
            newer.join(", "),
            missing.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(Ran::Newer(newer))
}

/// The versions recorded in sea-orm's migration table (none before the first run).
async fn applied_versions<'c, C: IntoDatabaseExecutor<'c> + Copy>(db: C) -> Result<Vec<String>, DbErr> {
    if !SchemaManager::new(db).has_table("seaql_migrations").await? {
        return Ok(Vec::new());
    }
    let db = db.into_database_executor();
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT version FROM seaql_migrations"))
        .await?;
    rows.iter().map(|r| r.try_get::<String>("", "version")).collect()
}

/// A PostgreSQL transaction holding the migration lock.
async fn locked(db: &DatabaseConnection) -> Result<sea_orm_migration::sea_orm::DatabaseTransaction, DbErr> {
    let txn = db.begin().await?;
    txn.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [MIGRATION_LOCK_KEY.into()],
    ))
    .await?;
    Ok(txn)
}

/// What [`down_to_legacy`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undone {
    /// The adoption was undone: this many migrations were reverted.
    Reverted(usize),
    /// The database had not been adopted (no migration table): nothing to undo.
    NotAdopted,
}

/// Undoes the adoption of a legacy PostgreSQL database, in one transaction: drops the view,
/// triggers, functions, indexes, the idempotency table and the migration table, drops the
/// columns the service added (`seq`, `version`; no row moves), and renames `passengers` back to
/// `titanic`, which is then the table the legacy DDL made, with its rows in their order. The
/// rows written since adoption stay. Stop every passenger-api replica first: they would fail
/// on the renamed table. SQLite databases have no legacy service to hand back to.
pub async fn down_to_legacy(db: &DatabaseConnection) -> Result<Undone, DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Err(DbErr::Migration("only a PostgreSQL database can be handed back to the legacy service".into()));
    }
    let txn = locked(db).await?;
    let manager = SchemaManager::new(&txn);
    if !manager.has_table("seaql_migrations").await? {
        return Ok(Undone::NotAdopted);
    }
    let applied = Migrator::get_applied_migrations(&txn).await?.len();
    // The first migration created (or found) the legacy table itself: it stays.
    let revert = applied.saturating_sub(1);
    Migrator::down(&txn, Some(revert as u32)).await?;
    txn.execute_unprepared("DROP TABLE seaql_migrations").await?;
    txn.commit().await?;
    Ok(Undone::Reverted(revert))
}
