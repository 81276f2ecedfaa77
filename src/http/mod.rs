//! The HTTP surface: the router and the handlers that are not GraphQL resolvers.

pub mod graphql;
pub mod health;
pub mod playground;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::graphql::AppSchema;

/// Everything a handler may need, built once at start-up and cloned per request (cheaply: the
/// pool and the schema are reference-counted).
#[derive(Clone)]
pub struct AppState {
    /// The connection pool.
    pub db: DatabaseConnection,
    /// The GraphQL schema, shared by `/graphql` and the REST shim.
    pub schema: AppSchema,
    /// The configuration the service started with.
    pub config: Arc<Config>,
    /// The GraphiQL page and its bundles.
    pub playground: playground::Playground,
    /// Persisted queries, the allow-list, and parsed documents.
    pub documents: Arc<crate::graphql::documents::Documents>,
}

/// The complete router of the service.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/graphql", get(graphql::graphql_get).post(graphql::graphql_post))
        .route("/playground/{file}", get(playground::asset))
        .merge(crate::rest::router())
        .fallback(|| async { crate::rest::not_found() })
        .layer(DefaultBodyLimit::max(state.config.body_limit_bytes))
        .with_state(state)
}
