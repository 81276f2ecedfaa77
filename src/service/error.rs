//! The error type of the service layer.

use std::fmt;

use sea_orm::DbErr;

/// A value that breaks a rule of the data model; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The offending field, in API spelling (`name`, `passengerClass`, ...).
    pub field: String,
    /// What is wrong with it, e.g. `must be at most 150 characters, got 151`.
    pub problem: String,
}

impl ValidationError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { field: field.into(), problem: problem.into() }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl std::error::Error for ValidationError {}

/// Failure of a service call.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input breaks a rule; nothing was written. HTTP 400, GraphQL `BAD_USER_INPUT`.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The database could not be reached in time. HTTP 503, GraphQL `SERVICE_UNAVAILABLE`.
    #[error("database unavailable: {0}")]
    Unavailable(DbErr),
    /// The write reached its deadline before committing and was rolled back; nothing was
    /// written. HTTP 503, GraphQL `TIMEOUT`.
    #[error("the write did not finish in time and was rolled back")]
    TimedOut,
    /// The write expected another version of the row (optimistic concurrency); nothing was
    /// written. HTTP 412, GraphQL `CONFLICT` with the current version.
    #[error("the passenger is at version {current}, not the expected {expected}")]
    Conflict {
        /// The version the client expected.
        expected: i64,
        /// The row's version now.
        current: i64,
    },
    /// Any other database failure. HTTP 500, GraphQL `INTERNAL`; details are only logged.
    #[error("database error: {0}")]
    Database(DbErr),
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        if is_connection_failure(&err) { Self::Unavailable(err) } else { Self::Database(err) }
    }
}

/// A driver error met outside sea-orm (the `COPY` statements, which sea-orm does not run),
/// classified as sea-orm's are.
impl From<sea_orm::sqlx::Error> for ServiceError {
    fn from(err: sea_orm::sqlx::Error) -> Self {
        DbErr::Query(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(err))).into()
    }
}

/// SQLite's primary result codes SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended
/// codes (`5 | n << 8`).
fn is_sqlite_busy(code: &str) -> bool {
    code.parse::<u32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
}

/// Whether `err` means the database could not be reached (as opposed to a failed statement):
/// no connection available, or a connection that broke mid-way (I/O, closed).
fn is_connection_failure(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            Sqlx::Io(_)
            | Sqlx::Tls(_)
            | Sqlx::Protocol(_)
            | Sqlx::PoolClosed
            | Sqlx::PoolTimedOut
            | Sqlx::WorkerCrashed => true,
            // SQLSTATE class 08 (connection exception) and 57P0x (server shutting down,
            // crashed, or not accepting connections yet); SQLite's BUSY and LOCKED (another
            // program held the file past the busy timeout).
            Sqlx::Database(db) => db.code().is_some_and(|c| {
                let sqlite = db.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>().is_some();
                if sqlite { is_sqlite_busy(&c) } else { c.starts_with("08") || c.starts_with("57P0") }
            }),
            _ => false,
        },
        _ => false,
    }
}
