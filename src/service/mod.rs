//! Data access with sea-orm. Knows nothing of GraphQL or HTTP.
//!
//! Every write validates its input first (so a bad value writes nothing) and every statement
//! is built by sea-query with bound parameters.

pub mod error;
pub mod events;
pub mod filter;
pub mod page;
pub mod passenger;
pub mod stats;

pub use error::{ServiceError, ValidationError};
pub use passenger::{PassengerData, PassengerPatch};

/// A read-only transaction whose reads all see one consistent snapshot of the database: what
/// a list read page by page is read from (REPEATABLE READ on PostgreSQL; on SQLite, a read
/// transaction in WAL mode, whose snapshot starts at its first read).
#[derive(Clone)]
pub struct Snapshot(pub std::sync::Arc<sea_orm::DatabaseTransaction>);

impl Snapshot {
    /// Opens a snapshot on `db` (it holds one pooled connection until dropped).
    pub async fn open(db: &sea_orm::DatabaseConnection) -> Result<Self, ServiceError> {
        use sea_orm::{AccessMode, IsolationLevel, TransactionTrait};
        let txn = match db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                db.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)).await?
            }
            _ => db.begin().await?,
        };
        Ok(Self(std::sync::Arc::new(txn)))
    }
}

/// The instant by which a write must have committed; past it, the write rolls back and
/// reports [`ServiceError::TimedOut`] instead of committing late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(pub std::time::Instant);

/// Where a write runs: the pool (on SQLite, the single writer connection), where its events
/// go, and when it must have committed by.
#[derive(Clone, Copy)]
pub struct Writer<'a> {
    /// The connection pool writes go to.
    pub db: &'a sea_orm::DatabaseConnection,
    /// Where change events are announced.
    pub events: &'a events::Events,
    /// Commit no later than this.
    pub deadline: Option<Deadline>,
}
