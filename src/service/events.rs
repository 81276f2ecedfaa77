//! Change events: every write produces exactly one event, delivered to every subscriber on
//! every replica.
//!
//! - **PostgreSQL**: a trigger on the table (see the migrations) sends every inserted, updated
//!   or deleted row on the channel [`CHANNEL`], whoever writes it: this service, another
//!   replica, the legacy service or `psql`. The notification goes out on commit and only on
//!   commit. Every replica receives it through its own `LISTEN` connection ([`listen`]) and
//!   fans it out locally. A lost listener connection is re-established; notifications sent
//!   while it was down are lost (PostgreSQL does not queue them).
//! - **SQLite**: one process owns the file, so events go to the local fan-out after commit.
//!
//! The local fan-out is a bounded broadcast channel: a writer never waits for a subscriber. A
//! subscriber that falls more than the buffer behind loses the oldest events and is told so
//! (see the subscription resolver).

use std::sync::Arc;
use std::time::Duration;

use entity::passenger::Model;
use sea_orm::DatabaseBackend;
use serde::{Deserialize, Deserializer, Serialize};
use tokio::sync::broadcast;

use super::freshness::{CHANGES_CHANNEL, Freshness, Source};

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
/// that subscription filters can apply to deletions too).
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
    freshness: Arc<Freshness>,
}

impl Events {
    /// A fan-out keeping at most `buffer` undelivered events per subscriber.
    /// Only local writes move its freshness (see [`Self::with_freshness`]).
    pub fn new(buffer: usize) -> Self {
        Self::with_freshness(buffer, Arc::new(Freshness::local()))
    }

    /// A fan-out whose commits move `freshness`.
    pub fn with_freshness(buffer: usize, freshness: Arc<Freshness>) -> Self {
        Self { sender: broadcast::channel(buffer.max(1)).0, closing: tokio::sync::watch::channel(false).0, freshness }
    }

    /// When the data last changed, as far as this process knows.
    pub fn freshness(&self) -> &Arc<Freshness> {
        &self.freshness
    }

    /// A write may have committed but its outcome is unknown: whatever was computed before is
    /// stale all the same.
    pub fn maybe_changed(&self) {
        self.freshness.changed(Source::LocalWrite);
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

    /// After commit: moves the freshness generation (before the write is answered, so a
    /// client reads its own writes), and on SQLite delivers `events` locally (PostgreSQL
    /// delivers through LISTEN).
    pub fn committed(&self, backend: DatabaseBackend, events: Vec<PassengerEvent>) {
        self.freshness.changed(Source::LocalWrite);
        if backend != DatabaseBackend::Postgres {
            for event in events {
                self.deliver(event);
            }
        }
    }
}

/// A notification of the table's trigger: `{"kind": …, "row": {…}}`, the row with its column
/// names as keys (`row_to_json`). It fits comfortably in a NOTIFY payload (< 1 KiB; the limit
/// is 8000 bytes, and a 150-character name is at most 600 bytes of UTF-8).
#[derive(Debug, Deserialize)]
struct Notification {
    kind: EventKind,
    row: NotifiedRow,
}

/// A row as `row_to_json` writes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotifiedRow {
    uuid: uuid::Uuid,
    survived: Option<bool>,
    passenger_class: Option<i32>,
    name: Option<String>,
    sex: Option<String>,
    #[serde(deserialize_with = "float")]
    age: Option<f64>,
    siblings_or_spouses_aboard: Option<i32>,
    parents_or_children_aboard: Option<i32>,
    #[serde(deserialize_with = "float")]
    fare: Option<f64>,
    seq: i64,
    version: i64,
}

/// A float as `row_to_json` writes it: a number, or a string for the values JSON has no number
/// for (`"NaN"`, `"Infinity"`, which a `psql` user may store).
fn float<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Float {
        Number(f64),
        Text(String),
    }
    Option::<Float>::deserialize(deserializer)?
        .map(|f| match f {
            Float::Number(n) => Ok(n),
            Float::Text(t) => t.parse().map_err(serde::de::Error::custom),
        })
        .transpose()
}

impl From<Notification> for PassengerEvent {
    fn from(n: Notification) -> Self {
        let r = n.row;
        Self::new(
            n.kind,
            Model {
                uuid: r.uuid,
                survived: r.survived,
                passenger_class: r.passenger_class,
                name: r.name,
                sex: r.sex,
                age: r.age,
                siblings_or_spouses_aboard: r.siblings_or_spouses_aboard,
                parents_or_children_aboard: r.parents_or_children_aboard,
                fare: r.fare,
                seq: r.seq,
                version: r.version,
            },
        )
    }
}

/// The event a trigger's notification `payload` announces.
pub fn parse_notification(payload: &str) -> Result<PassengerEvent, serde_json::Error> {
    serde_json::from_str::<Notification>(payload).map(Into::into)
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
            listener.listen_all([CHANNEL, CHANGES_CHANNEL]).await?;
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
        tracing::info!(channels = ?[CHANNEL, CHANGES_CHANNEL], "event listener: listening");
        // Changes made while it was down went unseen: what was cached before is dropped.
        events.freshness.watching(true);
        backoff = Duration::from_millis(100);
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) if notification.channel() == CHANGES_CHANNEL => {
                    events.freshness.changed(Source::Notification);
                }
                Ok(Some(notification)) => match parse_notification(notification.payload()) {
                    Ok(event) => events.deliver(event),
                    Err(e) => tracing::warn!(error = %e, "event listener: unreadable payload ignored"),
                },
                Ok(None) | Err(_) => {
                    // Changes would go unseen from now on: nothing is fresh until it is back.
                    events.freshness.watching(false);
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
