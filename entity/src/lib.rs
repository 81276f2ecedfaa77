//! sea-orm entities of passenger-api.
//!
//! There is exactly one: [`passenger`], mapped onto the legacy `titanic` table so the service
//! can serve a database created by the original Flask application without moving any data.

pub mod passenger;
