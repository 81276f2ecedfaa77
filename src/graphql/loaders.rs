//! DataLoader for lookups by id: every `passenger(id:)` resolved together becomes one
//! `SELECT … IN`.
//!
//! One loader lives in the schema and serves all requests. It keeps no cache (a cached row
//! could be stale after a write); it only batches: keys asked for within the same short window
//! (async-graphql's default 1 ms), such as sibling aliases, are loaded with one statement.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::types::Passenger;
use crate::service::{ServiceError, passenger};

/// Batches id lookups of one request.
pub struct PassengerLoader {
    db: DatabaseConnection,
}

impl PassengerLoader {
    /// The shared, cache-less loader for the schema.
    pub fn new_data_loader(db: DatabaseConnection) -> DataLoader<Self> {
        DataLoader::new(Self { db }, tokio::spawn)
    }
}

impl Loader<Uuid> for PassengerLoader {
    type Value = Passenger;
    type Error = Arc<ServiceError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Passenger>, Self::Error> {
        let rows = passenger::find_by_ids(&self.db, keys).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|m| (m.uuid, Passenger::from(m))).collect())
    }
}
