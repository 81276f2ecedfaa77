//! Freshness: when did the passengers last change, as far as this process can know? The
//! response cache serves an answer only while nothing changed since it was computed.
//!
//! A *generation* counter moves on every change this process learns of:
//!
//! - a write through this process, right after its commit (before its answer is sent);
//! - on PostgreSQL, a notification of the table's statement trigger (channel
//!   [`CHANGES_CHANNEL`]), sent on commit by every insert, update, delete and truncate,
//!   whoever made it; while the `LISTEN` connection is down nothing is fresh (changes would go
//!   unseen), and its return moves the generation (notifications sent meanwhile are lost);
//! - on SQLite, `PRAGMA data_version` on a connection of its own, read before every cached
//!   answer, which changes when any other connection — another process included — commits.
//!
//! An answer computed at generation *g* may be kept only if the generation is still *g* when
//! it is stored, and served only while it still is.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sea_orm::sqlx::{Connection as _, SqliteConnection};
use tokio::sync::Mutex;

/// The PostgreSQL NOTIFY channel of the table's statement-level trigger.
pub const CHANGES_CHANNEL: &str = "passenger_api_changes";

/// What moved the generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A write through this process.
    LocalWrite,
    /// A PostgreSQL notification (any writer).
    Notification,
    /// The PostgreSQL `LISTEN` connection was lost or came back.
    Reconnect,
    /// SQLite's `data_version` changed (another connection or process wrote).
    DataVersion,
}

impl Source {
    /// Every source, in metric order.
    pub const ALL: [Source; 4] = [Self::LocalWrite, Self::Notification, Self::Reconnect, Self::DataVersion];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LocalWrite => "local_write",
            Self::Notification => "notification",
            Self::Reconnect => "reconnect",
            Self::DataVersion => "data_version",
        }
    }
}

/// SQLite's change counter, read on a connection of its own.
struct DataVersion {
    url: String,
    connection: Option<SqliteConnection>,
    /// The value last read, and the generation at that moment.
    last: Option<(i64, u64)>,
}

/// The generation counter and what keeps it honest.
#[derive(Default)]
pub struct Freshness {
    generation: AtomicU64,
    /// Whether changes made elsewhere can be seen now (false while `LISTEN` is down).
    watching: AtomicBool,
    counts: [AtomicU64; 4],
    data_version: Option<Mutex<DataVersion>>,
}

impl std::fmt::Debug for Freshness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Freshness").field("generation", &self.generation.load(Ordering::Relaxed)).finish()
    }
}

impl Freshness {
    /// Freshness that only local writes move (one process owns the data): an in-memory SQLite
    /// database, or tests.
    pub fn local() -> Self {
        Self { watching: AtomicBool::new(true), ..Self::default() }
    }

    /// Freshness that is blind until [`Self::watching`] says changes made elsewhere are
    /// seen (PostgreSQL, before its `LISTEN` connection is up).
    pub fn blind() -> Self {
        Self::default()
    }

    /// Freshness of an SQLite file that other processes may write: `data_version` is read on
    /// a connection to `url` of its own before every answer from the cache.
    pub fn sqlite_file(url: &str) -> Self {
        let probe = DataVersion { url: url.to_owned(), connection: None, last: None };
        Self { watching: AtomicBool::new(true), data_version: Some(Mutex::new(probe)), ..Self::default() }
    }

    /// Moves the generation: everything computed before is stale.
    pub fn changed(&self, source: Source) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.counts[source as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Changes made elsewhere are seen (`true`, after moving the generation: whatever happened
    /// while blind is unknown) or not any more (`false`).
    pub fn watching(&self, seen: bool) {
        if seen {
            self.changed(Source::Reconnect);
            self.watching.store(true, Ordering::Release);
        } else {
            self.watching.store(false, Ordering::Release);
            self.changed(Source::Reconnect);
        }
    }

    /// The current generation, or `None` when nothing can be trusted to be fresh (changes
    /// made elsewhere would go unseen). On SQLite this first reads `data_version`.
    pub async fn current(&self) -> Option<u64> {
        if !self.watching.load(Ordering::Acquire) {
            return None;
        }
        if let Some(probe) = &self.data_version {
            self.check_data_version(&mut *probe.lock().await).await?;
        }
        Some(self.generation.load(Ordering::Acquire))
    }

    /// The generation now, without reading anything (to check that it did not move).
    pub fn generation(&self) -> Option<u64> {
        self.watching.load(Ordering::Acquire).then(|| self.generation.load(Ordering::Acquire))
    }

    /// How many times each source moved the generation, in [`Source::ALL`] order.
    pub fn counts(&self) -> [u64; 4] {
        std::array::from_fn(|i| self.counts[i].load(Ordering::Relaxed))
    }

    /// Reads `data_version`; moves the generation when it changed. `None` when it cannot be
    /// read (then nothing is fresh).
    async fn check_data_version(&self, probe: &mut DataVersion) -> Option<()> {
        if probe.connection.is_none() {
            let options = probe.url.parse::<sea_orm::sqlx::sqlite::SqliteConnectOptions>().ok()?;
            let connection = SqliteConnection::connect_with(&options.read_only(true)).await.ok()?;
            probe.connection = Some(connection);
            // A new connection counts from its own start: its first value is a baseline.
            probe.last = None;
        }
        let connection = probe.connection.as_mut()?;
        let value: i64 = match sea_orm::sqlx::query_scalar("PRAGMA data_version").fetch_one(&mut *connection).await {
            Ok(value) => value,
            Err(e) => {
                tracing::warn!(error = %e, "response cache: cannot read data_version; reconnecting");
                probe.connection = None;
                return None;
            }
        };
        let generation = self.generation.load(Ordering::Acquire);
        match probe.last {
            Some((seen, at)) if seen != value => {
                // Someone committed since the last look. When the generation moved meanwhile,
                // a local write explains it (and was counted); it moves again all the same,
                // since another writer may have committed too.
                if at == generation {
                    self.changed(Source::DataVersion);
                } else {
                    self.generation.fetch_add(1, Ordering::AcqRel);
                }
            }
            Some(_) => {}
            None => self.changed(Source::DataVersion),
        }
        probe.last = Some((value, self.generation.load(Ordering::Acquire)));
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn changes_move_the_generation_and_blindness_trusts_nothing() {
        let f = Freshness::local();
        let g = f.current().await.unwrap();
        f.changed(Source::LocalWrite);
        assert_eq!(f.current().await, Some(g + 1));
        f.watching(false);
        assert_eq!(f.current().await, None);
        assert_eq!(f.generation(), None);
        f.watching(true);
        assert_eq!(f.current().await, Some(g + 3));
        assert_eq!(f.counts(), [1, 0, 2, 0]);
        assert_eq!(Freshness::blind().current().await, None);
    }
}
