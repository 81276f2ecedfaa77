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
    /// Any other database failure. HTTP 500, GraphQL `INTERNAL`; details are only logged.
    #[error("database error: {0}")]
    Database(DbErr),
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        match err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Self::Unavailable(err),
            other => Self::Database(other),
        }
    }
}
