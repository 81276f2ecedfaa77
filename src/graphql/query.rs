//! Query root: lookups of passengers.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, MergedObject, Object, Result};
use uuid::Uuid;

use super::loaders::PassengerLoader;
use super::types::Passenger;

/// Every query field of the API.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(PassengerQuery);

/// Queries over passengers.
#[derive(Default)]
pub struct PassengerQuery;

#[Object]
impl PassengerQuery {
    /// The passenger with this id, or null when there is none.
    async fn passenger(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The passenger's id.")] id: Uuid,
    ) -> Result<Option<Passenger>> {
        let loader = ctx.data::<DataLoader<PassengerLoader>>()?;
        loader
            .load_one(id)
            .await
            .map_err(|e| async_graphql::Error::new(e.to_string()))
    }
}
