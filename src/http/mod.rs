//! The HTTP surface: the router and the handlers that are not GraphQL resolvers.

pub mod auth;
pub mod graphql;
pub mod guard;
pub mod health;
pub mod playground;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{Router, middleware};
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
    /// Change events (to count and close subscriptions).
    pub events: crate::service::events::Events,
    /// Metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// API tokens.
    pub tokens: auth::Tokens,
    /// Database and lifecycle state.
    pub health: Arc<health::Health>,
    /// Per-client rate limiting, when configured.
    pub limiter: Option<Arc<guard::RateLimiter>>,
    /// Permits for requests in flight (load shedding).
    pub inflight: Arc<tokio::sync::Semaphore>,
    /// The configuration the service started with.
    pub config: Arc<Config>,
    /// The GraphiQL page and its bundles.
    pub playground: playground::Playground,
    /// Persisted queries, the allow-list, and parsed documents.
    pub documents: Arc<crate::graphql::documents::Documents>,
}

/// The complete router of the service.
pub fn router(state: AppState) -> Router {
    let gate = middleware::from_fn_with_state(state.clone(), guard::database_gate);
    let database_routes = Router::new()
        .route("/graphql", get(graphql::graphql_get).post(graphql::graphql_post))
        .merge(crate::rest::database_router())
        .route_layer(gate);
    let mut app = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics))
        .route("/playground/{file}", get(playground::asset))
        .merge(database_routes)
        .merge(crate::rest::static_router())
        .fallback(|| async { crate::rest::not_found() })
        .layer(DefaultBodyLimit::max(state.config.body_limit_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), guard::shed))
        .layer(middleware::from_fn_with_state(state.clone(), guard::rate_limit));
    if let Some(cors) = cors(&state.config) {
        app = app.layer(cors);
    }
    app.layer(middleware::from_fn_with_state(state.clone(), guard::observe)).with_state(state)
}

fn cors(config: &Config) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, HeaderValue, Method, header};
    let origins: Vec<HeaderValue> = config
        .cors_allowed_origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS])
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, HeaderName::from_static(guard::REQUEST_ID)])
            .expose_headers([HeaderName::from_static(guard::REQUEST_ID)])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// `GET /metrics`: Prometheus text format.
async fn metrics(axum::extract::State(state): axum::extract::State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (pool_size, pool_idle) = pool_usage(&state.db);
    let in_use = pool_size.saturating_sub(pool_idle);
    let in_flight = state.metrics.db_requests_in_flight.load(std::sync::atomic::Ordering::Relaxed);
    let gauges = crate::metrics::Gauges {
        pool_size,
        pool_idle,
        pool_max: u64::from(state.config.db_max_connections),
        pool_waiting: in_flight.saturating_sub(in_use),
        subscriptions: state.events.subscribers() as u64,
    };
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render(gauges))
        .into_response()
}

fn pool_usage(db: &DatabaseConnection) -> (u64, u64) {
    match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (u64::from(pool.size()), pool.num_idle() as u64)
        }
        sea_orm::DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (u64::from(pool.size()), pool.num_idle() as u64)
        }
        _ => (0, 0),
    }
}
