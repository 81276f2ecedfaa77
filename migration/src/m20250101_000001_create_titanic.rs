//! Creates the `titanic` table when it does not exist yet; leaves a legacy one untouched.
//!
//! On PostgreSQL the table is exactly the legacy DDL (uuid primary key, nullable columns,
//! `varchar(150)` name, `varchar(6)` sex), so a fresh database and an adopted legacy one end up
//! identical after the next migration. SQLite has no `ctid` to recover insertion order from, so
//! its table carries the insertion number from the start, as its rowid.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES: &str = r#"
CREATE TABLE IF NOT EXISTS titanic (
    uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    survived boolean,
    "passengerClass" integer,
    name varchar(150),
    sex varchar(6),
    age double precision,
    "siblingsOrSpousesAboard" integer,
    "parentsOrChildrenAboard" integer,
    fare double precision
)"#;

const SQLITE: &str = r#"
CREATE TABLE IF NOT EXISTS titanic (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid BLOB NOT NULL UNIQUE,
    survived BOOLEAN,
    "passengerClass" INTEGER,
    name VARCHAR(150),
    sex VARCHAR(6),
    age REAL,
    "siblingsOrSpousesAboard" INTEGER,
    "parentsOrChildrenAboard" INTEGER,
    fare REAL
)"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES,
            DatabaseBackend::Sqlite => SQLITE,
            other => return Err(DbErr::Migration(format!("unsupported backend {other:?}"))),
        };
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP TABLE IF EXISTS titanic").await?;
        Ok(())
    }
}
