//! Data access with sea-orm. Knows nothing of GraphQL or HTTP.
//!
//! Every write validates its input first (so a bad value writes nothing) and every statement
//! is built by sea-query with bound parameters, but for two `COPY`s, which take none: the bulk
//! load's, in [`copy`], is a constant statement whose data travels in the stream; the large
//! page's, in [`pg_copy`], is sea-query's `SELECT` with its values written in, read that way
//! only when every value is an integer.

pub mod copy;
pub mod error;
pub mod events;
pub mod filter;
pub mod freshness;
pub mod group;
pub mod idempotency;
pub mod page;
pub mod passenger;
pub mod pg_binary;
pub mod pg_copy;
pub mod sqlite_json;
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

impl Deadline {
    /// Whether `deadline`, if there is one, has passed: the write must not commit any more.
    pub(crate) fn passed(deadline: Option<Self>) -> bool {
        deadline.is_some_and(|Deadline(at)| std::time::Instant::now() >= at)
    }
}

/// Begins a transaction that will write. On SQLite it takes the write lock at once (`BEGIN
/// IMMEDIATE`), waiting for another writer under the busy timeout: a transaction that read
/// first and then wanted to write would instead fail at once while another program writes.
async fn begin_write(db: &sea_orm::DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    let options =
        TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() };
    db.begin_with_options(options).await
}

/// Where a write runs.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    /// On the pool (on SQLite, the single writer connection): each write is a transaction of
    /// its own, committed before the write returns.
    Pool(&'a sea_orm::DatabaseConnection),
    /// Inside an enclosing transaction, as a savepoint: committed or rolled back with it.
    Scope(&'a WriteScope),
}

/// A transaction that the writes of one request join, so that they commit together with what
/// the request records about itself (the stored response of an idempotent request), or not at
/// all. Events of the writes reach local subscribers when it commits.
pub struct WriteScope {
    txn: sea_orm::DatabaseTransaction,
    deferred: std::sync::Mutex<Vec<events::PassengerEvent>>,
}

impl WriteScope {
    /// Begins the enclosing transaction on `db`.
    pub async fn begin(db: &sea_orm::DatabaseConnection) -> Result<Self, ServiceError> {
        Ok(Self { txn: begin_write(db).await?, deferred: std::sync::Mutex::new(Vec::new()) })
    }

    /// The transaction, for statements of the request's own.
    pub fn connection(&self) -> &sea_orm::DatabaseTransaction {
        &self.txn
    }

    /// Commits every write of the scope and hands their events to local subscribers.
    pub async fn commit(self, events: &events::Events) -> Result<(), ServiceError> {
        let backend = sea_orm::ConnectionTrait::get_database_backend(&self.txn);
        if let Err(e) = self.txn.commit().await {
            events.maybe_changed();
            return Err(e.into());
        }
        let deferred = self.deferred.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        events.committed(backend, deferred);
        Ok(())
    }

    /// Undoes every write of the scope.
    pub async fn rollback(self) -> Result<(), ServiceError> {
        Ok(self.txn.rollback().await?)
    }
}

/// Where a write runs, where its events go, when it must have committed by, and what it reads
/// back inside its transaction.
#[derive(Clone, Copy)]
pub struct Writer<'a> {
    /// The pool, or the enclosing transaction, writes go to.
    pub target: Target<'a>,
    /// Where change events are announced.
    pub events: &'a events::Events,
    /// Commit no later than this.
    pub deadline: Option<Deadline>,
    /// Read up to this many namesakes of each written row inside the write's transaction, so
    /// the answer reflects exactly what was committed (the legacy POST answers them).
    pub namesakes: Option<u64>,
    /// Where single creates on the pool queue to be committed together (SQLite's writer); none
    /// commits each create by itself.
    pub creates: Option<&'a group::CreateQueue>,
}

impl Writer<'_> {
    /// Whether the deadline has passed: the write must not commit any more.
    pub(crate) fn past_deadline(&self) -> bool {
        Deadline::passed(self.deadline)
    }

    /// A transaction for one write: on the pool, or a savepoint of the enclosing transaction.
    pub(crate) async fn begin(&self) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
        use sea_orm::TransactionTrait;
        match self.target {
            Target::Pool(db) => begin_write(db).await,
            Target::Scope(scope) => scope.txn.begin().await,
        }
    }

    /// After the write's own commit: its events go to local subscribers now, or when the
    /// enclosing transaction commits.
    pub(crate) fn committed(&self, backend: sea_orm::DatabaseBackend, staged: Vec<events::PassengerEvent>) {
        match self.target {
            Target::Pool(_) => self.events.committed(backend, staged),
            Target::Scope(scope) => {
                scope.deferred.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(staged)
            }
        }
    }
}

/// A migrated in-memory SQLite database on one connection (each connection would have its own),
/// for the unit tests of this layer.
#[cfg(test)]
pub(crate) async fn memory_db() -> sea_orm::DatabaseConnection {
    let mut options = sea_orm::ConnectOptions::new("sqlite::memory:");
    options.max_connections(1).sqlx_logging(false);
    let db = sea_orm::Database::connect(options).await.expect("in-memory SQLite");
    migration::run(&db).await.expect("migrations");
    db
}
