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
