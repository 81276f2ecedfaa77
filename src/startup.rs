//! Building and running the server: connect, migrate, build the schema, bind, serve.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::app::router;
use crate::auth::Tokens;
use crate::cache::ResponseCache;
use crate::config::Config;
use crate::db;
use crate::error::AppError;
use crate::graphql::documents::{self, Documents};
use crate::graphql::executor::Policy;
use crate::graphql::{Executor, Schemas};
use crate::health::{self, Health};
use crate::idempotency::Idempotency;
use crate::limiter::RateLimiter;
use crate::metrics::Metrics;
use crate::playground::Playground;
use crate::service::events::{self, Events};
use crate::service::freshness::Freshness;
use crate::state::AppState;

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Connects to the database, applies migrations unless disabled, and binds the listener
    /// (port 0 picks a free port, see [`Self::port`]). A database that cannot be reached does
    /// not stop the start: the service answers 503 and migrates as soon as it is back.
    pub async fn build(config: Config) -> Result<Self, AppError> {
        let metrics = Arc::new(Metrics::default());
        let new_file = db::new_sqlite_file(&config.database_url);
        let mut db = db::connect_pools(&config).await?;
        for pool in [&mut db.read, &mut db.write] {
            let recorder = metrics.clone();
            pool.set_metric_callback(move |info| recorder.statement(&info.statement.sql, info.failed, info.elapsed));
        }
        let recorder = metrics.clone();
        db.bulk = db
            .bulk
            .map(|bulk| bulk.observed(Arc::new(move |sql, failed, elapsed| recorder.statement(sql, failed, elapsed))));
        let migrated = config.no_migrate || Self::migrate_at_start(&db.write).await?;
        if let Some(path) = new_file.filter(|_| migrated && !config.no_seed) {
            Self::seed_new_database(&db.write, &path).await?;
        }
        let probe = db::connect_probe(&config).await?;
        let database_up = tokio::time::timeout(Duration::from_millis(500), db::is_ready(&probe)).await.unwrap_or(false);
        let health = Arc::new(Health::new(probe, database_up, migrated));
        let tokens = Tokens::new(
            config.load_tokens().map_err(|e| AppError::ConfigFile {
                path: config.api_tokens_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                problem: e.to_string(),
            })?,
            config.protect_reads,
        );
        if !tokens.enforced() {
            tracing::warn!("no API tokens configured (API_TOKENS / API_TOKENS_FILE): writes are open to every client");
        }
        let allowlist = read_allowlist(&config)?;
        let documents = Arc::new(Documents::new(config.document_cache_max_bytes, allowlist));
        Self::warn_about_strict_mode(&documents);
        let listener = TcpListener::bind(config.bind).await?;
        tokio::spawn(health::monitor(db.write.clone(), health.clone(), !config.no_migrate, Duration::from_secs(1)));
        tokio::spawn(crate::idempotency::purge_expired(db.write.clone(), Duration::from_secs(60)));
        let freshness = Arc::new(match db.read.get_database_backend() {
            // Blind until the LISTEN connection is up.
            sea_orm::DatabaseBackend::Postgres => Freshness::blind(),
            _ if db::is_in_memory(&config.database_url) => Freshness::local(),
            _ => Freshness::sqlite_file(&config.database_url),
        });
        let events = Events::with_freshness(config.event_buffer, freshness.clone());
        if db.read.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            tokio::spawn(events::listen(config.database_url.clone(), events.clone()));
        }
        let cache = Arc::new(ResponseCache::new(config.response_cache_max_bytes, freshness));
        let schemas = Schemas::build(db.clone(), events.clone(), &config);
        let playground = Playground::load(&config.playground_assets_dir);
        let limiter = (config.rate_limit_per_second > 0.0)
            .then(|| Arc::new(RateLimiter::new(config.rate_limit_per_second, config.rate_limit_burst)));
        let inflight = Arc::new(Semaphore::new(config.max_concurrent_requests.max(1)));
        metrics.known_operations(crate::rest::operations::all().iter().map(|op| op.name()));
        let policy = Policy::from_config(&config);
        let executor = Executor::new(schemas, documents, metrics.clone(), policy, inflight.clone());
        let idempotency =
            Arc::new(Idempotency::new(config.idempotency_ttl(), tokens.clone(), db.write.clone(), events.clone()));
        let state = AppState::new(crate::state::State {
            db,
            executor,
            events,
            metrics,
            tokens,
            health,
            limiter,
            inflight,
            list_streams: Arc::new(Semaphore::new((config.db_max_connections as usize / 2).max(1))),
            idempotency,
            cache,
            config: Arc::new(config),
            playground,
        });
        Ok(Self { listener, state })
    }

    /// Runs the migrations; `false` when the database cannot be reached (they are retried by
    /// the health check), an error for any other failure.
    async fn migrate_at_start(db: &DatabaseConnection) -> Result<bool, AppError> {
        match migration::run(db).await {
            Ok(ran) => {
                crate::health::report_migrations(&ran);
                Ok(true)
            }
            Err(e) if !tokio::time::timeout(Duration::from_millis(500), db::is_ready(db)).await.unwrap_or(false) => {
                tracing::warn!(error = %e, "database unreachable at start-up; answering 503 and migrating once it is back");
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// In strict mode, says whether the legacy routes will work (their operations must be on
    /// the allow-list too).
    fn warn_about_strict_mode(documents: &Documents) {
        if !documents.strict() {
            return;
        }
        let missing: Vec<&str> = crate::rest::operations::all()
            .iter()
            .filter(|op| !documents.is_allowed(op.source()))
            .map(|op| op.name())
            .collect();
        if !missing.is_empty() {
            tracing::warn!(
                operations = ?missing,
                "strict mode: the allow-list lacks these legacy REST operations, so their routes answer 403 \
                 (build the list with `passenger-api persisted-queries --include-legacy-routes …`)"
            );
        }
    }

    /// Loads the bundled historical passengers into the SQLite file this start created.
    async fn seed_new_database(db: &DatabaseConnection, path: &std::path::Path) -> Result<(), AppError> {
        let rows = crate::seed::bundled()?;
        let outcome = crate::seed::insert(db, rows, true).await?;
        if let crate::seed::SeedOutcome::Inserted(n) = outcome {
            tracing::info!(
                rows = n,
                file = %path.display(),
                "new database: loaded the bundled historical passengers (NO_SEED=true turns this off)"
            );
            db::checkpoint(db).await;
        }
        Ok(())
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.state.config.bind)
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish for at most the
    /// configured shutdown timeout, and leaves an SQLite database whole in its file
    /// ([`db::checkpoint`]).
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), AppError> {
        let write = self.state.db.write.clone();
        let result = self.serve(shutdown).await;
        db::checkpoint(&write).await;
        result
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish for at most the
    /// configured shutdown timeout.
    async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), AppError> {
        let deadline = self.state.config.shutdown_timeout();
        let delay = self.state.config.shutdown_delay();
        let health = self.state.health.clone();
        let events = self.state.events.clone();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut stopping = stop_rx.clone();
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        let serve = axum::serve(self.listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutdown requested: readiness off, subscriptions closing, finishing in-flight requests");
            health.set_shutting_down();
            events.close();
            tokio::time::sleep(delay).await;
            let _ = stop_tx.send(true);
        });
        tokio::select! {
            result = serve => Ok(result?),
            () = async move {
                let _ = stopping.wait_for(|stop| *stop).await;
                tokio::time::sleep(deadline).await;
            } => {
                tracing::warn!(?deadline, "in-flight requests did not finish in time; exiting");
                Ok(())
            }
        }
    }
}

/// The strict-mode allow-list, when one is configured.
fn read_allowlist(config: &Config) -> Result<Option<HashMap<String, String>>, AppError> {
    let Some(path) = &config.persisted_queries_allowlist else { return Ok(None) };
    let problem = |problem: String| AppError::ConfigFile { path: path.display().to_string(), problem };
    let text = std::fs::read_to_string(path).map_err(|e| problem(e.to_string()))?;
    let list = documents::read_allowlist(&text).map_err(problem)?;
    tracing::info!(operations = list.len(), "strict mode: only allow-listed operations run");
    Ok(Some(list))
}

/// A future completing on SIGTERM or SIGINT (Ctrl-C). The handlers are installed when this
/// is called, so a signal arriving while the server is still starting is not lost.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        {
            let (mut terminate, mut interrupt) = (terminate, interrupt);
            tokio::select! {
                () = async { match terminate.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
                () = async { match interrupt.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
