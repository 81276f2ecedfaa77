//! Announces every write to `passengers`, whoever makes it, so that subscribers and caches on
//! every replica hear of writes by the legacy service or `psql` as well as the service's own.
//!
//! PostgreSQL only (a SQLite file has one process writing it, which announces its own writes):
//! - a row trigger sends each inserted, updated or deleted row, as JSON with the column names
//!   (`{"kind": "Created" | "Updated" | "Deleted", "row": {…}}`), on the channel
//!   `passenger_api_events`; a session that sets `passenger_api.quiet` to `on` (the bulk seed)
//!   sends none;
//! - a statement trigger sends an empty notification on `passenger_api_changes` after every
//!   statement that may have changed rows, `TRUNCATE` included.
//!
//! Notifications are sent when the transaction commits, and only then.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &str = r#"
CREATE FUNCTION passenger_api_announce_row() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('passenger_api_events', json_build_object('kind', 'Deleted', 'row', row_to_json(OLD))::text);
    ELSE
        PERFORM pg_notify('passenger_api_events', json_build_object(
            'kind', CASE TG_OP WHEN 'INSERT' THEN 'Created' ELSE 'Updated' END, 'row', row_to_json(NEW))::text);
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER passengers_announce_row AFTER INSERT OR UPDATE OR DELETE ON passengers
    FOR EACH ROW WHEN (coalesce(current_setting('passenger_api.quiet', true), '') <> 'on')
    EXECUTE FUNCTION passenger_api_announce_row();
CREATE FUNCTION passenger_api_announce_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_notify('passenger_api_changes', '');
    RETURN NULL;
END
$fn$;
CREATE TRIGGER passengers_announce_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON passengers
    FOR EACH STATEMENT EXECUTE FUNCTION passenger_api_announce_change();
"#;

const POSTGRES_DOWN: &str = r#"
DROP TRIGGER IF EXISTS passengers_announce_row ON passengers;
DROP TRIGGER IF EXISTS passengers_announce_change ON passengers;
DROP FUNCTION IF EXISTS passenger_api_announce_row();
DROP FUNCTION IF EXISTS passenger_api_announce_change();
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            let db = manager.get_connection();
            db.execute_unprepared(POSTGRES_DOWN).await?;
            db.execute_unprepared(POSTGRES_UP).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager.get_connection().execute_unprepared(POSTGRES_DOWN).await?;
        }
        Ok(())
    }
}
