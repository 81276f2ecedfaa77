//! Gives the service a table of its own without the legacy service noticing: `titanic` becomes
//! `passengers`, gains a row `version`, and an updatable view named `titanic` shows exactly the
//! nine legacy columns, in the legacy order, with the legacy types.
//!
//! The legacy service reads with `SELECT * FROM titanic`, so every column added to its table
//! would show in its answers. Through the view it keeps reading, inserting (missing columns take
//! the table's defaults: a new uuid, the next `seq`, version 1), updating and deleting exactly as
//! before; the rows are the table's, in the table's heap order. The view gets the privileges
//! the table had, so the legacy role may keep using it. Every update increments `version`: the
//! service does it in its statements, and a trigger does it for anyone else (the legacy service,
//! `psql`). On SQLite, which no legacy service uses, the table is just renamed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The nine legacy columns, in the legacy order.
pub const LEGACY_COLUMNS: &str =
    r#"uuid, survived, "passengerClass", name, sex, age, "siblingsOrSpousesAboard", "parentsOrChildrenAboard", fare"#;

fn postgres_up() -> String {
    format!(
        r#"
ALTER TABLE titanic RENAME TO passengers;
ALTER TABLE passengers ADD COLUMN version bigint NOT NULL DEFAULT 1;
CREATE VIEW titanic AS SELECT {LEGACY_COLUMNS} FROM passengers;
COMMENT ON VIEW titanic IS 'passenger-api: the legacy shape of the passengers table, for the legacy service. Undo with passenger-api migrate --down-to-legacy.';
DO $grants$
DECLARE g record;
BEGIN
    FOR g IN SELECT grantee, privilege_type FROM information_schema.role_table_grants
              WHERE table_schema = current_schema() AND table_name = 'passengers' AND grantee <> current_user
    LOOP
        EXECUTE format('GRANT %s ON titanic TO %s', g.privilege_type,
                       CASE WHEN g.grantee = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(g.grantee) END);
    END LOOP;
END
$grants$;
CREATE FUNCTION passenger_api_next_version() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$fn$;
CREATE TRIGGER passengers_next_version BEFORE UPDATE ON passengers
    FOR EACH ROW WHEN (NEW.version = OLD.version) EXECUTE FUNCTION passenger_api_next_version();
"#
    )
}

const POSTGRES_DOWN: &str = r#"
DROP VIEW IF EXISTS titanic;
DROP TRIGGER IF EXISTS passengers_next_version ON passengers;
DROP FUNCTION IF EXISTS passenger_api_next_version();
ALTER TABLE passengers DROP COLUMN IF EXISTS version;
ALTER TABLE passengers RENAME TO titanic;
"#;

const SQLITE_UP: &str = r#"
ALTER TABLE titanic RENAME TO passengers;
ALTER TABLE passengers ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
CREATE TRIGGER passengers_next_version AFTER UPDATE ON passengers
    FOR EACH ROW WHEN NEW.version = OLD.version
    BEGIN UPDATE passengers SET version = OLD.version + 1 WHERE seq = OLD.seq; END;
"#;

const SQLITE_DOWN: &str = r#"
DROP TRIGGER IF EXISTS passengers_next_version;
ALTER TABLE passengers DROP COLUMN version;
ALTER TABLE passengers RENAME TO titanic;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.has_table("passengers").await? {
            return Ok(());
        }
        let sql = match manager.get_database_backend() {
            DatabaseBackend::Postgres => postgres_up(),
            _ => SQLITE_UP.to_owned(),
        };
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if !manager.has_table("passengers").await? {
            return Ok(());
        }
        let sql = match manager.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES_DOWN,
            _ => SQLITE_DOWN,
        };
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }
}
