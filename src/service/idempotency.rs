//! The stored answers of writes sent with an idempotency key, in the database so that every
//! replica sees them.
//!
//! A request with a key runs inside a [`WriteScope`]: [`claim`] first makes sure no other
//! request with the key is running (on PostgreSQL a transaction-scoped advisory lock keyed by
//! the key, which a second replica fails to take; on SQLite, whose single writer connection the
//! scope holds, nothing else can be writing) and looks for a stored answer; the request's writes
//! then join the scope, [`record`] stores the answer in the same transaction, and the commit
//! makes the writes and the answer durable together, or neither. A crash or a dropped
//! connection at any point leaves either both or nothing: a retry never writes twice.

use migration::IDEMPOTENCY_TABLE;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};

use super::{ServiceError, WriteScope};

const SCOPE: &str = "scope";
const KEY: &str = "key";
const FINGERPRINT: &str = "fingerprint";
const STATUS: &str = "status";
const CONTENT_TYPE: &str = "content_type";
const ETAG: &str = "etag";
const BODY: &str = "body";
const EXPIRES_AT: &str = "expires_at";

/// An answer as stored: what a retry gets back, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// `ETag`, if any.
    pub etag: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// Identifies a request: the caller's scope (a digest of its token, empty without tokens), the
/// client's key, and a digest of everything that makes the request what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Whose key it is.
    pub scope: String,
    /// The client's key.
    pub key: String,
    /// SHA-256 of the request.
    pub fingerprint: Vec<u8>,
}

impl Key {
    /// The advisory lock number of this key (the first 8 bytes of a digest of scope and key).
    fn lock_id(&self) -> i64 {
        use sha2::{Digest, Sha256};
        let digest =
            Sha256::new().chain_update(self.scope.as_bytes()).chain_update([0]).chain_update(&self.key).finalize();
        i64::from_be_bytes(digest[..8].try_into().expect("a SHA-256 digest has 32 bytes"))
    }
}

/// What a request with a key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Run: no answer is stored for the key.
    Fresh,
    /// Answer this: the key's first request completed with it.
    Replay(StoredAnswer),
    /// Refuse: the key was used for a different request.
    Mismatch,
    /// Refuse for now: a request with the key is running (on another replica).
    Busy,
}

/// Decides what the request `key` may do, inside `scope` (see the module documentation).
/// Stored answers past their expiry (`now_ms`, Unix milliseconds) count as absent.
pub async fn claim(scope: &WriteScope, key: &Key, now_ms: i64) -> Result<Claim, ServiceError> {
    let txn = scope.connection();
    let backend = txn.get_database_backend();
    if backend == DatabaseBackend::Postgres {
        let locked = txn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT pg_try_advisory_xact_lock($1) AS locked",
                [key.lock_id().into()],
            ))
            .await?
            .map(|row| row.try_get::<bool>("", "locked"))
            .transpose()?;
        if locked != Some(true) {
            return Ok(Claim::Busy);
        }
    }
    match stored(txn, key, now_ms).await? {
        None => Ok(Claim::Fresh),
        Some((fingerprint, _)) if fingerprint != key.fingerprint => Ok(Claim::Mismatch),
        Some((_, answer)) => Ok(Claim::Replay(answer)),
    }
}

/// The answer stored for `key` (and the fingerprint of its request), unless it expired.
pub async fn stored(
    db: &impl ConnectionTrait,
    key: &Key,
    now_ms: i64,
) -> Result<Option<(Vec<u8>, StoredAnswer)>, ServiceError> {
    let select = Query::select()
        .columns([FINGERPRINT, STATUS, CONTENT_TYPE, ETAG, BODY].map(Alias::new))
        .from(Alias::new(IDEMPOTENCY_TABLE))
        .and_where(Expr::col(Alias::new(SCOPE)).eq(key.scope.as_str()))
        .and_where(Expr::col(Alias::new(KEY)).eq(key.key.as_str()))
        .and_where(Expr::col(Alias::new(EXPIRES_AT)).gt(now_ms))
        .to_owned();
    let Some(row) = db.query_one_raw(db.get_database_backend().build(&select)).await? else { return Ok(None) };
    let answer = StoredAnswer {
        status: u16::try_from(row.try_get::<i32>("", "status")?).unwrap_or(500),
        content_type: row.try_get("", "content_type")?,
        etag: row.try_get("", "etag")?,
        body: row.try_get("", "body")?,
    };
    Ok(Some((row.try_get("", "fingerprint")?, answer)))
}

/// Stores `answer` for `key` until `expires_ms`, inside `scope` (replacing an expired one).
pub async fn record(scope: &WriteScope, key: &Key, answer: &StoredAnswer, expires_ms: i64) -> Result<(), ServiceError> {
    let txn = scope.connection();
    let backend = txn.get_database_backend();
    let columns = [SCOPE, KEY, FINGERPRINT, STATUS, CONTENT_TYPE, ETAG, BODY, EXPIRES_AT];
    let values: [SimpleExpr; 8] = [
        key.scope.clone().into(),
        key.key.clone().into(),
        key.fingerprint.clone().into(),
        i32::from(answer.status).into(),
        answer.content_type.clone().into(),
        answer.etag.clone().into(),
        answer.body.clone().into(),
        expires_ms.into(),
    ];
    let insert = Query::insert()
        .into_table(Alias::new(IDEMPOTENCY_TABLE))
        .columns(columns.map(Alias::new))
        .values(values)
        .map_err(|e| ServiceError::Database(sea_orm::DbErr::Custom(e.to_string())))?
        .on_conflict(
            OnConflict::columns([SCOPE, KEY].map(Alias::new))
                .update_columns([FINGERPRINT, STATUS, CONTENT_TYPE, ETAG, BODY, EXPIRES_AT].map(Alias::new))
                .to_owned(),
        )
        .to_owned();
    txn.execute_raw(backend.build(&insert)).await?;
    Ok(())
}

/// Deletes up to `batch` answers that expired before `now_ms`; how many it deleted. Small
/// batches keep each statement short: on SQLite the writer connection is free again at once,
/// on PostgreSQL rows being deleted by another replica's purge are skipped, not waited for.
/// Passenger rows are never touched, so writes never wait for a purge.
pub async fn purge(db: &DatabaseConnection, now_ms: i64, batch: u64) -> Result<u64, ServiceError> {
    let backend = db.get_database_backend();
    let statement = match backend {
        DatabaseBackend::Postgres => {
            "DELETE FROM passenger_api_idempotency WHERE ctid IN (SELECT ctid FROM passenger_api_idempotency \
             WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"
        }
        _ => {
            "DELETE FROM passenger_api_idempotency WHERE rowid IN (SELECT rowid FROM passenger_api_idempotency \
             WHERE expires_at <= ? LIMIT ?)"
        }
    };
    let batch = i64::try_from(batch).unwrap_or(i64::MAX);
    let done =
        db.execute_raw(Statement::from_sql_and_values(backend, statement, [now_ms.into(), batch.into()])).await?;
    Ok(done.rows_affected())
}
