//! Building and running the server: connect, migrate, build the schema, bind, serve.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::db;
use crate::error::AppError;
use crate::graphql::build_schema;
use crate::graphql::documents::{self, Documents};
use crate::http::playground::Playground;
use crate::http::{AppState, router};
use crate::service::events::{self, Events};

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Connects to the database, applies migrations unless disabled, and binds the listener
    /// (port 0 picks a free port, see [`Self::port`]).
    pub async fn build(config: Config) -> Result<Self, AppError> {
        let db = db::connect(&config).await?;
        if !config.no_migrate {
            migration::run(&db).await?;
        }
        Self::build_with_db(config, db).await
    }

    /// Like [`Self::build`] with an existing pool and no migration step. On PostgreSQL this
    /// also starts the task that receives change events from every replica.
    pub async fn build_with_db(config: Config, db: DatabaseConnection) -> Result<Self, AppError> {
        let documents = Arc::new(Documents::new(config.apq_cache_size, read_allowlist(&config)?));
        let listener = TcpListener::bind(config.bind).await?;
        let events = Events::new(config.event_buffer);
        if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            tokio::spawn(events::listen(config.database_url.clone(), events.clone()));
        }
        let schema = build_schema(db.clone(), events, &config);
        let playground = Playground::load(&config.playground_assets_dir);
        let state = AppState { db, schema, config: Arc::new(config), documents, playground };
        Ok(Self { listener, state })
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
    /// configured shutdown timeout.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), AppError> {
        let deadline = self.state.config.shutdown_timeout();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut stopping = stop_rx.clone();
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        let serve = axum::serve(self.listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutdown requested; finishing in-flight requests");
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

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
