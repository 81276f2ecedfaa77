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
