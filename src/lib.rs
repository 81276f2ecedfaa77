//! passenger-api: the Titanic passenger records, GraphQL-first, with the legacy REST routes
//! served byte-for-byte on top of the same schema.
//!
//! The modules, in alphabetical order. The layers, from the bottom: the leaves (`config`,
//! `json`, `limiter`, `lru`, `metrics`, `playground`), then `db` and `service` (data access),
//! `graphql` (the schema and its executor), `health` and `seed`, then `auth`, `cache` and
//! `idempotency`, `state`, the transports `http` and `rest`, `app` and `startup`. No module
//! imports one that imports it.

/// The complete router.
pub mod app;
/// API tokens: turning credentials into a caller.
pub mod auth;
/// The response cache: answers to queries, never stale.
pub mod cache;
/// Command line and environment configuration.
pub mod config;
/// Connection pools per backend (one writer connection on SQLite).
pub mod db;
/// Errors of the application layer (start-up, commands).
pub mod error;
/// The GraphQL schema and the one executor every transport runs operations through.
pub mod graphql;
/// Database health, readiness and the background health check.
pub mod health;
/// GraphQL over HTTP and WebSocket, probes, metrics, and the middleware.
pub mod http;
/// `Idempotency-Key` on writes: one execution and one stored answer per key.
pub mod idempotency;
/// JSON text in the standard and the legacy form.
pub mod json;
/// Per-client rate limiting.
pub mod limiter;
/// A least-recently-used map bounded in bytes.
pub mod lru;
/// Prometheus metrics.
pub mod metrics;
/// The GraphiQL page and its offline bundles.
pub mod playground;
/// The legacy REST routes, translated into GraphQL operations.
pub mod rest;
/// Legacy CSV import, the bundled historical passengers, synthetic data.
pub mod seed;
/// Data access with sea-orm, independent of GraphQL and HTTP.
pub mod service;
/// Server construction, run loop and graceful shutdown.
pub mod startup;
/// The application state handed to every handler.
pub mod state;
/// Logging.
pub mod telemetry;
