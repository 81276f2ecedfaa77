//! What the service knows about its own state, and the background health check behind it.
//!
//! A task pings the database every second. While it answers, requests go through; while it
//! does not, database-backed routes answer 503 at once (see `http::guard::database_gate`) and
//! `/readyz` says 503. Migrations that could not run at start-up (database down) run as soon
//! as it answers, so the service recovers by itself, without a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::db;

/// What the service knows about its own state.
#[derive(Debug)]
pub struct Health {
    probe: DatabaseConnection,
    database_up: AtomicBool,
    migrated: AtomicBool,
    shutting_down: AtomicBool,
}

impl Health {
    /// Initial state: whether the database answered and the schema is migrated. `probe` is a
    /// connection of its own (`db::connect_probe`), so that a saturated pool does not read as
    /// a database outage.
    pub fn new(probe: DatabaseConnection, database_up: bool, migrated: bool) -> Self {
        Self {
            probe,
            database_up: AtomicBool::new(database_up),
            migrated: AtomicBool::new(migrated),
            shutting_down: AtomicBool::new(false),
        }
    }

    /// The last health check reached the database.
    pub fn database_up(&self) -> bool {
        self.database_up.load(Ordering::Relaxed)
    }

    /// Marks the start of a graceful shutdown: readiness turns 503.
    pub fn set_shutting_down(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
    }

    /// Ready for traffic: database up, schema migrated, not shutting down.
    pub fn ready(&self) -> bool {
        self.database_up() && self.migrated.load(Ordering::Relaxed) && !self.shutting_down.load(Ordering::Relaxed)
    }

    /// A graceful shutdown has begun.
    pub fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    /// The schema is migrated.
    pub fn migrated(&self) -> bool {
        self.migrated.load(Ordering::Relaxed)
    }

    /// Pings the database now (on the probe connection) and records the answer.
    pub async fn check_now(&self) -> bool {
        let up = ping(&self.probe).await;
        self.database_up.store(up, Ordering::Relaxed);
        up
    }
}

/// How long one health ping may take before the database counts as down.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

async fn ping(db: &DatabaseConnection) -> bool {
    tokio::time::timeout(PING_TIMEOUT, db::is_ready(db)).await.unwrap_or(false)
}

/// Logs what a migration run found: a newer release's schema is worth a warning (this release
/// runs on it, but the newer one should come back).
pub fn report_migrations(ran: &migration::Ran) {
    match ran {
        migration::Ran::Current => tracing::info!("migrations applied"),
        migration::Ran::Newer(newer) => tracing::warn!(
            ?newer,
            "a newer release of passenger-api migrated this database; running on its schema, nothing applied"
        ),
    }
}

/// Checks the database every `interval` forever, applying pending migrations once it answers.
pub async fn monitor(db: DatabaseConnection, health: Arc<Health>, migrate: bool, interval: Duration) {
    loop {
        let up = ping(&health.probe).await;
        if up && !health.migrated.load(Ordering::Relaxed) {
            if !migrate {
                health.migrated.store(true, Ordering::Relaxed);
            } else {
                match migration::run(&db).await {
                    Ok(ran) => {
                        report_migrations(&ran);
                        health.migrated.store(true, Ordering::Relaxed);
                    }
                    Err(e) => tracing::warn!(error = %e, "migrations failed; retrying"),
                }
            }
        }
        let was_up = health.database_up.swap(up, Ordering::Relaxed);
        match (was_up, up) {
            (true, false) => tracing::warn!("database unreachable; answering 503 until it is back"),
            (false, true) => {
                tracing::info!("database reachable again");
                db::flush_stale(&db).await;
            }
            _ => {}
        }
        tokio::time::sleep(interval).await;
    }
}
