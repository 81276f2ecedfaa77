//! sea-orm entities of passenger-api.
//!
//! There is exactly one: [`passenger`], mapped onto the `passengers` table: the legacy
//! `titanic` table adopted in place (renamed, with a compatibility view under its old name), so
//! the service serves a database created by the original Flask application without moving data.

pub mod passenger;
