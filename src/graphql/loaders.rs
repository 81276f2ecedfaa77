//! DataLoaders: lookups that many fields of one request (or of concurrent requests) need are
//! batched into one statement.
//!
//! - [`PassengerLoader`]: every `passenger(id:)`, `passengersByIds` and `node` resolved together
//!   becomes one `SELECT … WHERE uuid IN (…)`.
//! - [`NamesakesLoader`]: the `namesakes` of every passenger of a page become one statement
//!   (`… WHERE name IN (…)`, at most `first` per name), not one per parent.
//!
//! One loader of each kind lives in the schema and serves all requests. They keep no cache (a
//! cached row could be stale after a write); they only batch: keys asked for within the same
//! short window (async-graphql's default 1 ms), such as sibling aliases, are loaded together.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::passenger::Model;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::service::{ServiceError, passenger};

/// Batches id lookups.
pub struct PassengerLoader {
    db: DatabaseConnection,
}

impl PassengerLoader {
    /// The shared, cache-less loader for the schema.
    pub fn new_data_loader(db: DatabaseConnection) -> Passengers {
        Arc::new(DataLoader::new(Self { db }, tokio::spawn))
    }
}

/// The passenger loader as schema data: one per process, shared by every schema built over the
/// same data (see [`super::Schemas`]), so lookups from every transport batch together.
pub type Passengers = Arc<DataLoader<PassengerLoader>>;

/// The namesakes loader as schema data, shared like [`Passengers`].
pub type Namesakes = Arc<DataLoader<NamesakesLoader>>;

impl Loader<Uuid> for PassengerLoader {
    type Value = Model;
    type Error = Arc<ServiceError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Model>, Self::Error> {
        let rows = passenger::find_by_ids(&self.db, keys).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|m| (m.uuid, m)).collect())
    }
}

/// The namesakes wanted for one parent: its name (`None`: the passengers without a name) and
/// how many at most.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamesakesKey {
    /// The name shared.
    pub name: Option<String>,
    /// At most this many, oldest first.
    pub first: u64,
}

/// Batches `namesakes` lookups.
pub struct NamesakesLoader {
    db: DatabaseConnection,
}

impl NamesakesLoader {
    /// The shared, cache-less loader for the schema.
    pub fn new_data_loader(db: DatabaseConnection) -> Namesakes {
        Arc::new(DataLoader::new(Self { db }, tokio::spawn))
    }
}

impl Loader<NamesakesKey> for NamesakesLoader {
    type Value = Arc<Vec<Model>>;
    type Error = Arc<ServiceError>;

    async fn load(&self, keys: &[NamesakesKey]) -> Result<HashMap<NamesakesKey, Arc<Vec<Model>>>, Self::Error> {
        // One statement per distinct `first` (a page asks with one value).
        let mut by_first: HashMap<u64, Vec<Option<String>>> = HashMap::new();
        for key in keys {
            by_first.entry(key.first).or_default().push(key.name.clone());
        }
        let mut out = HashMap::with_capacity(keys.len());
        for (first, names) in by_first {
            let rows = passenger::namesakes_of(&self.db, &names, first).await.map_err(Arc::new)?;
            let mut grouped: HashMap<Option<String>, Vec<Model>> = HashMap::new();
            for row in rows {
                grouped.entry(row.name.clone()).or_default().push(row);
            }
            for name in names {
                let rows = grouped.get(&name).cloned().unwrap_or_default();
                out.insert(NamesakesKey { name, first }, Arc::new(rows));
            }
        }
        Ok(out)
    }
}
