//! Query root: lookups, the paginated list, and statistics.

use std::sync::Arc;

use async_graphql::{Context, MergedObject, Object, Result};
use uuid::Uuid;

use super::Settings;
use super::columns::{self, CursorsUnread};
use super::error::{GqlResult, bad_input, service_error};
use super::inputs::{PassengerFilter, PassengerGroupBy, PassengerOrder};
use super::loaders::Passengers;
use super::types::{Passenger, PassengerConnection, PassengerStats};
use crate::db::Db;
use crate::service::Snapshot;
use crate::service::filter::Filter;
use crate::service::page::{self, Ordering, PageRequest};
use crate::service::stats;

/// Default `first` of `passengers` when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: u64 = super::cost::DEFAULT_PAGE;

/// Every query field of the API: lookups by id, pages of passengers, statistics, and the
/// Relay lookups by global id.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(PassengerQuery, super::node::NodeQuery);

/// Queries over passengers.
#[derive(Default)]
pub struct PassengerQuery;

/// Checks a page size argument against the configured maximum.
fn page_size(ctx: &Context<'_>, name: &str, value: Option<i32>) -> Result<Option<u64>> {
    let max = ctx.data::<Settings>()?.max_page_size;
    match value {
        None => Ok(None),
        Some(n) if n < 0 => Err(bad_input(name, format!("must not be negative, got {n}"))),
        Some(n) if n as u64 > max => Err(bad_input(name, format!("must be at most {max}, got {n}"))),
        Some(n) => Ok(Some(n as u64)),
    }
}

#[Object]
impl PassengerQuery {
    /// The passenger with this id, or null when there is none.
    async fn passenger(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The passenger's id.")] id: Uuid,
    ) -> Result<Option<Passenger>> {
        let loader = ctx.data::<Passengers>()?;
        Ok(loader.load_one(id).await.map_err(|e| service_error(&e))?.map(Passenger::from))
    }

    /// The passengers with these ids, in the order asked; null for each unknown id.
    async fn passengers_by_ids(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ids to look up (at most the maximum page size).")] ids: Vec<Uuid>,
    ) -> Result<Vec<Option<Passenger>>> {
        page_size(ctx, "ids", i32::try_from(ids.len()).ok().or(Some(i32::MAX)))?;
        let loader = ctx.data::<Passengers>()?;
        let found = loader.load_many(ids.iter().copied()).await.map_err(|e| service_error(&e))?;
        Ok(ids.iter().map(|id| found.get(id).cloned().map(Passenger::from)).collect())
    }

    /// A page of passengers (Relay cursor connection). Without `orderBy` the order is insertion
    /// order (for the historical data: the order of the original CSV file). Pages are read by
    /// key, so deep pages cost the same as the first one. With both `first` and `last`, the
    /// last `last` of the first `first` are returned, as the Relay specification defines.
    #[allow(clippy::too_many_arguments)]
    async fn passengers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first N passengers (after `after`). Default 50; at most the maximum page size.")]
        first: Option<i32>,
        #[graphql(desc = "Start after the passenger with this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last N passengers (before `before`); at most the maximum page size.")]
        last: Option<i32>,
        #[graphql(desc = "End before the passenger with this cursor.")] before: Option<String>,
        #[graphql(desc = "Only passengers matching this filter.")] filter: Option<PassengerFilter>,
        #[graphql(desc = "Sort criteria, most significant first; `id` breaks remaining ties.")] order_by: Option<
            Vec<PassengerOrder>,
        >,
    ) -> Result<PassengerConnection> {
        let request = PageRequest {
            filter: filter.map(Filter::from),
            ordering: Ordering::new(order_by.unwrap_or_default().into_iter().map(Into::into)),
            after,
            before,
            first: page_size(ctx, "first", first)?,
            last: page_size(ctx, "last", last)?,
            columns: columns::of_connection(ctx),
        };
        let page = match ctx.data_opt::<Snapshot>() {
            Some(snapshot) => page::page(snapshot.0.as_ref(), None, &request, DEFAULT_PAGE_SIZE).await,
            None => {
                let db = ctx.data::<Db>()?;
                page::page(&db.read, db.bulk.as_ref(), &request, DEFAULT_PAGE_SIZE).await
            }
        }
        .gql()?;
        Ok(PassengerConnection {
            rows: Arc::new(page.rows),
            ordering: request.ordering,
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            filter: request.filter,
            cursors: ctx.data_opt::<CursorsUnread>().is_none(),
        })
    }

    /// Counts, survival and age/fare summaries of the passengers matching `filter`, one entry
    /// per group (a single entry without `groupBy`). Groups come in ascending key order, null
    /// keys last. Computed by the database.
    async fn passenger_stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only passengers matching this filter.")] filter: Option<PassengerFilter>,
        #[graphql(desc = "Fields to group by; none gives one overall entry.")] group_by: Option<Vec<PassengerGroupBy>>,
    ) -> Result<Vec<PassengerStats>> {
        let db = ctx.data::<Db>()?;
        let filter = filter.map(Filter::from);
        let keys: Vec<stats::GroupKey> = group_by.unwrap_or_default().into_iter().map(Into::into).collect();
        let groups = stats::stats(&db.read, filter.as_ref(), &keys).await.gql()?;
        Ok(groups.into_iter().map(Into::into).collect())
    }
}
