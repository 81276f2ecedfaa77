//! Change events: every write produces exactly one event, delivered to every subscriber on
//! every replica.
//!
//! - **PostgreSQL**: the write's transaction runs `pg_notify` on the channel
//!   [`CHANNEL`], so the notification goes out on commit and only on commit. Every replica
//!   (the writer included) receives it through its own `LISTEN` connection ([`listen`]) and
//!   fans it out locally. A lost listener connection is re-established; notifications sent
//!   while it was down are lost (PostgreSQL does not queue them).
//! - **SQLite**: one process owns the file, so events go to the local fan-out after commit.
//!
//! The local fan-out is a bounded broadcast channel: a writer never waits for a subscriber. A
//! subscriber that falls more than the buffer behind loses the oldest events and is told so
//! (see the subscription resolver).

use std::time::Duration;

use entity::passenger::Model;
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// The PostgreSQL NOTIFY channel of passenger-api.
pub const CHANNEL: &str = "passenger_api_events";

/// What happened to a passenger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// A row was inserted.
    Created,
    /// A row was changed.
    Updated,
    /// A row was deleted.
    Deleted,
}

/// One change. `row` is the row after the change, or the last state of a deleted row (so
/// that subscription filters can apply to deletions too). Serialised, it fits comfortably in
/// a NOTIFY payload (< 1 KiB; the limit is 8000 bytes, and a 150-character name is at most
/// 600 bytes of UTF-8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassengerEvent {
    /// What happened.
    pub kind: EventKind,
    /// The row.
    pub row: Model,
}

impl PassengerEvent {
    /// An event of `kind` about `row`.
    pub fn new(kind: EventKind, row: Model) -> Self {
        Self { kind, row }
    }
}

/// The local fan-out of events, shared by the service and the subscriptions.
#[derive(Debug, Clone)]
pub struct Events {
    sender: broadcast::Sender<PassengerEvent>,
    closing: tokio::sync::watch::Sender<bool>,
}

impl Events {
    /// A fan-out keeping at most `buffer` undelivered events per subscriber.
    pub fn new(buffer: usize) -> Self {
        Self { sender: broadcast::channel(buffer.max(1)).0, closing: tokio::sync::watch::channel(false).0 }
    }

    /// Ends every subscription (graceful shutdown): each stream completes.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Completes when [`Self::close`] has been called.
    pub async fn closed(&self) {
        let mut rx = self.closing.subscribe();
        let _ = rx.wait_for(|closing| *closing).await;
    }

    /// A new subscriber, receiving every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<PassengerEvent> {
        self.sender.subscribe()
    }

    /// Number of open subscribers.
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }

    /// Hands `event` to local subscribers (never blocks; no subscriber is fine).
    pub fn deliver(&self, event: PassengerEvent) {
        let _ = self.sender.send(event);
    }

    /// Records `events` inside the write's transaction `txn`: on PostgreSQL, a NOTIFY that is
    /// sent on commit. Call [`Self::committed`] after the commit.
    pub async fn stage(&self, txn: &impl ConnectionTrait, events: &[PassengerEvent]) -> Result<(), DbErr> {
        if txn.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        for event in events {
            let payload = serde_json::to_string(event).map_err(|e| DbErr::Custom(e.to_string()))?;
            txn.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), payload.into()],
            ))
            .await?;
        }
        Ok(())
    }

    /// After commit: on SQLite, delivers `events` locally (PostgreSQL delivers through LISTEN).
    pub fn committed(&self, backend: DatabaseBackend, events: Vec<PassengerEvent>) {
        if backend != DatabaseBackend::Postgres {
            for event in events {
                self.deliver(event);
            }
        }
    }
}

/// Application name of the LISTEN connection (visible in `pg_stat_activity`).
pub const LISTENER_APPLICATION_NAME: &str = "passenger-api-listener";

/// Listens on [`CHANNEL`] with a dedicated connection and delivers every notification to
/// `events`, forever: a lost connection is re-established with a capped back-off.
pub async fn listen(database_url: String, events: Events) {
    use sea_orm::sqlx::ConnectOptions as _;
    use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
    let mut backoff = Duration::from_millis(100);
    loop {
        let options = match database_url.parse::<PgConnectOptions>() {
            Ok(o) => o.application_name(LISTENER_APPLICATION_NAME).disable_statement_logging(),
            Err(e) => {
                tracing::error!(error = %e, "event listener: invalid database URL; live updates are off");
                return;
            }
        };
        let pool = PgPoolOptions::new().max_connections(1).connect_lazy_with(options);
        let listener = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        };
        let mut listener = match listener.await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "event listener: cannot connect");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        tracing::info!(channel = CHANNEL, "event listener: listening");
        backoff = Duration::from_millis(100);
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => match serde_json::from_str::<PassengerEvent>(notification.payload()) {
                    Ok(event) => events.deliver(event),
                    Err(e) => tracing::warn!(error = %e, "event listener: unreadable payload ignored"),
                },
                Ok(None) | Err(_) => {
                    tracing::warn!("event listener: connection lost; reconnecting (events sent meanwhile are lost)");
                    break;
                }
            }
        }
        // The listener holds the pool's only connection: release it before closing the pool.
        drop(listener);
        pool.close().await;
    }
}
