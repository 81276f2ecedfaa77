//! The stored responses of requests sent with an `Idempotency-Key`, so that every replica
//! answers a retry with the first response instead of writing again.
//!
//! One row per (caller scope, key): a fingerprint of the request (a retry must be the same
//! request), the response (status, content type, entity tag, body) and when it expires (Unix
//! milliseconds, the same on both backends). The expiry index serves the purge.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Name of the table.
pub const IDEMPOTENCY_TABLE: &str = "passenger_api_idempotency";

const POSTGRES: &str = r#"
CREATE TABLE IF NOT EXISTS passenger_api_idempotency (
    scope text NOT NULL,
    key text NOT NULL,
    fingerprint bytea NOT NULL,
    status integer NOT NULL,
    content_type text,
    etag text,
    body bytea NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS passenger_api_idempotency_expires_idx ON passenger_api_idempotency (expires_at);
"#;

const SQLITE: &str = r#"
CREATE TABLE IF NOT EXISTS passenger_api_idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    status INTEGER NOT NULL,
    content_type TEXT,
    etag TEXT,
    body BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS passenger_api_idempotency_expires_idx ON passenger_api_idempotency (expires_at);
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES,
            _ => SQLITE,
        };
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP TABLE IF EXISTS passenger_api_idempotency").await?;
        Ok(())
    }
}
