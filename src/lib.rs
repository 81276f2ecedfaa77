//! passenger-api: the Titanic passenger records, GraphQL-first, with the legacy REST routes
//! served byte-for-byte on top of the same schema.
//!
//! A tour of the modules, from the outside in:

/// Command line and environment configuration.
pub mod config;
/// Connection pool setup per backend.
pub mod db;
/// Errors of the application layer (start-up, commands).
pub mod error;
/// The GraphQL schema: queries, mutations, loaders.
pub mod graphql;
/// The HTTP router and non-GraphQL handlers (probes, transport).
pub mod http;
/// Prometheus metrics.
pub mod metrics;
/// The legacy REST routes, translated into GraphQL operations.
pub mod rest;
/// Legacy CSV import and synthetic data.
pub mod seed;
/// Data access with sea-orm, independent of GraphQL and HTTP.
pub mod service;
/// Server construction, run loop and graceful shutdown.
pub mod startup;
/// Logging.
pub mod telemetry;
