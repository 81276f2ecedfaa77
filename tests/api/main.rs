//! The integration suite: one binary, laid out like the features it covers.
//!
//! Every test gets its own database: a temporary SQLite file by default, or a freshly created
//! PostgreSQL database when `TEST_DATABASE_URL` points at a server.

mod adoption;
mod cache;
mod cli;
mod decoding;
mod graphql;
mod group_commit;
mod health;
mod helpers;
mod migrations;
mod operations;
mod outage;
mod playground;
mod pool;
mod rest;
mod schema_sdl;
mod seed;
mod subscriptions;
mod writes;
