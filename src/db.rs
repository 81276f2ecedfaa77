//! Database connection: pool settings per backend, and URL redaction for logs.
//!
//! SQLite gets WAL mode, a busy timeout and `synchronous=NORMAL`, so concurrent writers queue
//! instead of failing with "database is locked". PostgreSQL pools connect lazily and check
//! idle connections before use, so the process starts while the database is down and recovers
//! by itself when it comes back.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

use crate::config::Config;
use crate::service::pg_copy::BulkReader;

/// Rows an SQLite connection's thread may read ahead of the request consuming them (a page
/// of the largest size and then some).
const SQLITE_ROW_BUFFER: usize = 1024;

/// The page cache of each SQLite connection (`PRAGMA cache_size`; negative is KiB): 512 KiB,
/// 128 pages, a quarter of SQLite's default. The operating system already caches the file
/// once for all connections; this copy is per connection, and only the pages a connection
/// reads again and again (the roots and inner pages of the indexes, which fit many times
/// over) gain from it, while it fills up on any table larger than itself. With the default
/// 2 MB, 20 concurrent lists of 1M rows (16 readers) peaked at 113–118 MiB, 68–85 of them
/// SQLite's heaps; at 512 KiB, 62–69 MiB (three alternating rounds). Pages and lookups ran as
/// fast (five alternating rounds, 1M rows, 16 connections: 100-row pages at the start and
/// 999,900 rows deep, means within 1%).
pub const SQLITE_CACHE_SIZE: &str = "-512";

/// How long an SQLite statement waits for a competing writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens the connection pool described by `config`.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let max = config.db_max_connections.max(1);
    open(config, max, config.db_min_connections.min(max), config.db_acquire_timeout()).await
}

/// The pools the server uses: reads go to `read`; writes go to `write`.
///
/// SQLite allows one writer at a time, and its busy handler makes competing writers sleep and
/// retry (hundreds of milliseconds at the tail, and "database is locked" past the busy
/// timeout). So on SQLite `write` is a pool of exactly one connection: writers queue for it in
/// arrival order inside the process and never meet a lock. On PostgreSQL both are the same
/// pool.
#[derive(Debug, Clone)]
pub struct Db {
    /// Pool for reads.
    pub read: DatabaseConnection,
    /// Pool for writes (one connection on SQLite).
    pub write: DatabaseConnection,
    /// Large pages read on `read` with `COPY` (PostgreSQL only).
    pub bulk: Option<BulkReader>,
}

impl From<DatabaseConnection> for Db {
    /// One pool for everything (tests and tools).
    fn from(pool: DatabaseConnection) -> Self {
        Self { bulk: BulkReader::new(&pool), read: pool.clone(), write: pool }
    }
}

/// Opens the server's pools (see [`Db`]).
pub async fn connect_pools(config: &Config) -> Result<Db, DbErr> {
    let read = connect(config).await?;
    let write = if is_sqlite(&config.database_url) {
        open(config, 1, 0, config.db_acquire_timeout()).await?
    } else {
        read.clone()
    };
    Ok(Db { bulk: BulkReader::new(&read), read, write })
}

/// A one-connection pool for health checks, apart from the main pool: a pool busy with slow
/// queries must not make a healthy database look down.
pub async fn connect_probe(config: &Config) -> Result<DatabaseConnection, DbErr> {
    open(config, 1, 0, Duration::from_secs(1)).await
}

/// Opens a pool of at most `max_connections`; on PostgreSQL it keeps `min_connections` open
/// (opened in the background, so start-up does not wait for the database). SQLite's
/// connections are files opened in microseconds: none are kept.
async fn open(
    config: &Config,
    max_connections: u32,
    min_connections: u32,
    timeout: Duration,
) -> Result<DatabaseConnection, DbErr> {
    let sqlite = is_sqlite(&config.database_url);
    let min_connections = if sqlite { 0 } else { min_connections };
    let mut options = ConnectOptions::new(config.database_url.clone());
    options
        .max_connections(max_connections)
        .min_connections(min_connections)
        .acquire_timeout(timeout)
        .connect_timeout(timeout)
        .test_before_acquire_if_idle_for(Duration::from_secs(5))
        .sqlx_logging(false);
    if sqlite {
        options.map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                // sqlx runs each SQLite connection on a thread of its own and hands rows over
                // a channel; a page of rows in one go saves a thread switch per row.
                .row_buffer_size(SQLITE_ROW_BUFFER)
                .pragma("cache_size", SQLITE_CACHE_SIZE)
        });
    } else {
        options.connect_lazy(true);
    }
    let db = Database::connect(options).await?;
    if min_connections > 0 {
        tokio::spawn(warm(db.get_postgres_connection_pool().clone(), min_connections));
    }
    Ok(db)
}

/// How long [`checkpoint`] may wait for SQLite's readers to finish.
const CHECKPOINT_WAIT: Duration = Duration::from_secs(5);

/// Folds SQLite's write-ahead log into the database file and empties it (`PRAGMA
/// wal_checkpoint(TRUNCATE)`), so that the file alone holds every committed row. SQLite does
/// it by itself only once the log reaches 1,000 pages or when its last connection closes, and
/// neither happens for a small import or a server stopped with its pools open: the 887 seeded
/// passengers would otherwise sit in `FILE-wal` for good, and a copy of `FILE` alone would be
/// an empty database. Run by commands that wrote (`seed`, `migrate`), after the seeding of a
/// new file, and by the server when it stops. Does nothing on PostgreSQL. When readers keep it
/// from finishing it says so in the log; the log file stays, and stays part of the database.
pub async fn checkpoint(db: &DatabaseConnection) {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
        return;
    }
    let statement =
        sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Sqlite, "PRAGMA wal_checkpoint(TRUNCATE)");
    match tokio::time::timeout(CHECKPOINT_WAIT, db.query_one_raw(statement)).await {
        // The first column says whether readers kept it from completing.
        Ok(Ok(Some(row))) if row.try_get_by_index::<i64>(0).is_ok_and(|busy| busy == 0) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot fold SQLite's write-ahead log into the database file"),
        _ => tracing::warn!("SQLite's write-ahead log not folded into the database file: readers still at work"),
    }
}

/// Opens `n` connections of a lazy pool at once and leaves them idle in it. sqlx keeps a
/// pool's minimum from then on (it replaces a minimum connection it closes), but does not open
/// it by itself at start-up. A database that does not answer yet is no error here: requests
/// open connections as they need them.
async fn warm(pool: sea_orm::sqlx::PgPool, n: u32) {
    let acquired = futures_util::future::join_all((0..n).map(|_| pool.acquire())).await;
    let opened = acquired.iter().filter(|c| c.is_ok()).count();
    tracing::debug!(opened, wanted = n, "database pool warmed");
}

/// Whether `url` names an in-memory SQLite database (private to this process).
pub fn is_in_memory(url: &str) -> bool {
    is_sqlite(url) && (url.contains(":memory:") || url.contains("mode=memory"))
}

/// The file of an SQLite URL that does not exist yet: `serve` is about to create it (and may
/// seed it). `None` for PostgreSQL, in-memory databases and files that exist.
pub fn new_sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    use std::str::FromStr;
    if !is_sqlite(url) || is_in_memory(url) {
        return None;
    }
    let options = sea_orm::sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let path = options.get_filename();
    let name = path.to_string_lossy();
    if name.is_empty() || path.exists() {
        return None;
    }
    Some(path.to_path_buf())
}

/// Whether `url` selects the SQLite backend.
pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Closes the pool's idle connections that no longer answer (after a database restart they
/// are dead), so that the next requests get fresh ones instead of an error.
pub async fn flush_stale(db: &DatabaseConnection) {
    async fn flush<DB: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<DB>) -> usize {
        use sea_orm::sqlx::Connection as _;
        let mut held = Vec::new();
        let mut closed = 0;
        while let Some(mut connection) = pool.try_acquire() {
            if connection.ping().await.is_ok() {
                held.push(connection);
            } else {
                connection.close_on_drop();
                closed += 1;
            }
        }
        closed
    }
    let closed = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => flush(db.get_postgres_connection_pool()).await,
        sea_orm::DatabaseBackend::Sqlite => flush(db.get_sqlite_connection_pool()).await,
        _ => 0,
    };
    if closed > 0 {
        tracing::info!(closed, "closed dead pooled connections");
    }
}

/// Answers whether the database accepts a trivial query right now.
pub async fn is_ready(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

/// `url` with any password replaced by `***`, safe to log.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only fails for URLs that cannot carry a password, which this one does.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<unparsable database URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_the_password_and_keeps_the_rest() {
        let shown = redact("postgres://app:s3cr3t@db.internal:5432/passengers");
        assert_eq!(shown, "postgres://app:***@db.internal:5432/passengers");
        assert!(!shown.contains("s3cr3t"));
    }

    #[test]
    fn redact_leaves_urls_without_password_alone() {
        assert_eq!(redact("sqlite://passenger-api.db"), "sqlite://passenger-api.db");
        assert_eq!(redact("postgres://postgres@127.0.0.1/x"), "postgres://postgres@127.0.0.1/x");
    }

    #[test]
    fn only_a_missing_sqlite_file_counts_as_new() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fresh.db");
        let url = format!("sqlite://{}", path.display());
        assert_eq!(new_sqlite_file(&url), Some(path.clone()));
        std::fs::write(&path, b"").unwrap();
        assert_eq!(new_sqlite_file(&url), None);
        assert_eq!(new_sqlite_file("sqlite::memory:"), None);
        assert_eq!(new_sqlite_file("postgres://u@127.0.0.1/db"), None);
    }

    /// The build settings of `.cargo/config.toml` reach the bundled SQLite: without them the
    /// full list runs markedly slower (see there), and nothing else would notice.
    #[tokio::test]
    async fn the_bundled_sqlite_has_the_build_settings() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Sqlite, "PRAGMA compile_options"))
            .await
            .unwrap();
        let options: Vec<String> = rows.iter().map(|row| row.try_get_by_index(0).unwrap()).collect();
        for wanted in ["DEFAULT_MEMSTATUS=0", "ENABLE_QPSG"] {
            assert!(options.iter().any(|o| o == wanted), "{wanted} missing from {options:?}");
        }
    }

    #[test]
    fn redact_never_echoes_an_unparsable_url() {
        assert_eq!(redact("not a url :s3cr3t@"), "<unparsable database URL>");
    }
}
