//! DataLoader for lookups by id: every `passenger(id:)` in one request becomes one `SELECT … IN`.

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
    /// A fresh per-request loader (its cache lives as long as the request).
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
