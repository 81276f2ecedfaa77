//! `GET /metrics`: Prometheus text format.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use sea_orm::DatabaseConnection;

use crate::state::AppState;

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let (pool_size, pool_idle) = pool_usage(&state.db.read);
    let in_use = pool_size.saturating_sub(pool_idle);
    let in_flight = state.metrics.db_requests_in_flight.load(std::sync::atomic::Ordering::Relaxed);
    let (documents_bytes, persisted_bytes) = state.executor.documents().bytes_held();
    let cache = state.cache.reading();
    let gauges = crate::metrics::Gauges {
        pool_size,
        pool_idle,
        pool_max: u64::from(state.config.db_max_connections),
        pool_waiting: in_flight.saturating_sub(in_use),
        subscriptions: state.events.subscribers() as u64,
        documents_bytes: documents_bytes as u64,
        persisted_bytes: persisted_bytes as u64,
        rate_limited_clients: state.limiter.as_ref().map_or(0, |l| l.clients() as u64),
        cache_hits: cache.hits,
        cache_misses: cache.misses,
        cache_evictions: cache.evictions,
        cache_bytes: cache.bytes,
        cache_entries: cache.entries,
        cache_invalidations: std::array::from_fn(|i| {
            (crate::service::freshness::Source::ALL[i].as_str(), cache.invalidations[i])
        }),
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
