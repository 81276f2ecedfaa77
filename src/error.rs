//! Errors of the application layer: start-up and the commands of the binary.

use sea_orm::DbErr;

use crate::seed::SeedError;

/// Failure of `passenger-api` before or outside request handling; printed, then exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// The listen address could not be bound, or serving failed.
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    /// A seed file could not be read.
    #[error("cannot read {path}: {source}")]
    SeedFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A configured file could not be read or is invalid.
    #[error("{path}: {problem}")]
    ConfigFile {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A seed run failed; nothing was written.
    #[error(transparent)]
    Seed(#[from] SeedError),
}
