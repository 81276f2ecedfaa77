//! The application state: everything a handler may need, built once at start-up
//! ([`crate::startup`]) and cloned per request (cheaply: every part is reference-counted).
//!
//! It sits below the transports: `http` and `rest` import it, it imports neither.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::auth::Tokens;
use crate::cache::ResponseCache;
use crate::config::Config;
use crate::db::Db;
use crate::graphql::Executor;
use crate::health::Health;
use crate::idempotency::Idempotency;
use crate::limiter::RateLimiter;
use crate::metrics::Metrics;
use crate::playground::Playground;
use crate::service::events::Events;

/// Everything a handler may need; cloning it (axum does, per request and middleware) costs one
/// reference count.
#[derive(Clone)]
pub struct AppState(Arc<State>);

impl std::ops::Deref for AppState {
    type Target = State;

    fn deref(&self) -> &State {
        &self.0
    }
}

impl AppState {
    /// Wraps `state` for sharing.
    pub fn new(state: State) -> Self {
        Self(Arc::new(state))
    }
}

/// The parts of [`AppState`].
pub struct State {
    /// The connection pools.
    pub db: Db,
    /// The one way into the schema, shared by `/graphql`, WebSocket and the REST shim.
    pub executor: Executor,
    /// Change events (to count and close subscriptions).
    pub events: Events,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// API tokens.
    pub tokens: Tokens,
    /// Database and lifecycle state.
    pub health: Arc<Health>,
    /// Per-client rate limiting, when configured.
    pub limiter: Option<Arc<RateLimiter>>,
    /// Permits for requests in flight (load shedding), shared with the executor.
    pub inflight: Arc<Semaphore>,
    /// Permits for legacy lists streamed from a snapshot (each holds a pooled connection).
    pub list_streams: Arc<Semaphore>,
    /// The configuration the service started with.
    pub config: Arc<Config>,
    /// The GraphiQL page and its bundles.
    pub playground: Playground,
    /// Idempotency keys being run by this process.
    pub idempotency: Arc<Idempotency>,
    /// Answers to queries, kept while the data is unchanged.
    pub cache: Arc<ResponseCache>,
}
