//! Global object identification (the Relay specification): the `Node` interface, opaque global
//! ids, and the `node` and `nodes` lookups.
//!
//! A global id (`nodeId`) is the URL-safe base64 (no padding) of `<Type>:<uuid>`, e.g.
//! `Passenger:1b0e…`. Clients treat it as opaque; the type inside lets `node` tell a
//! passenger's id from another type's (today `Passenger` is the only type with one).
//! `Passenger.id` stays the plain UUID, so existing clients see no change.
//!
//! `node(nodeId:)` answers null for an id of an unknown type or of a passenger that does not
//! exist, and a `BAD_USER_INPUT` error for text that is not a global id at all. `nodes` answers
//! one entry per id, in order, null where `node` would be null; it is bounded like
//! `passengersByIds`, and every lookup of a request is batched into one statement.

use async_graphql::{Context, ID, Interface, Object, Result};
use uuid::Uuid;

use super::error::{bad_input, service_error};
use super::global_id::{Target, decode};
use super::loaders::Passengers;
use super::types::Passenger;

/// An object with a global id, which `node` and `nodes` can fetch again.
#[derive(Interface)]
#[graphql(field(
    name = "node_id",
    ty = "ID",
    desc = "The object's global id: opaque, stable, unique across types. `node(nodeId:)` fetches the object again."
))]
pub enum Node {
    /// A passenger.
    Passenger(Passenger),
}

/// The Relay lookups by global id.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The object with this global id; null when it does not exist or is of a type this
    /// service does not serve. Text that is not a global id is a `BAD_USER_INPUT` error.
    async fn node(&self, ctx: &Context<'_>, #[graphql(desc = "A `nodeId`.")] node_id: ID) -> Result<Option<Node>> {
        let uuid = match decode(&node_id).map_err(|problem| bad_input("nodeId", problem))? {
            Target::Passenger(uuid) => uuid,
            Target::Foreign(_) => return Ok(None),
        };
        let loader = ctx.data::<Passengers>()?;
        Ok(loader.load_one(uuid).await.map_err(|e| service_error(&e))?.map(|row| Node::Passenger(row.into())))
    }

    /// The objects with these global ids, in the order asked; null for each that `node` would
    /// answer null. At most the maximum page size of ids; all are read in one statement.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `nodeId`s to look up (at most the maximum page size).")] node_ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>> {
        super::check_list_len(ctx, "nodeIds", "ids", node_ids.len())?;
        let targets = node_ids
            .iter()
            .enumerate()
            .map(|(i, id)| decode(id).map_err(|problem| bad_input(&format!("nodeIds[{i}]"), problem)))
            .collect::<Result<Vec<_>>>()?;
        let uuids: Vec<Uuid> = targets
            .iter()
            .filter_map(|t| match t {
                Target::Passenger(uuid) => Some(*uuid),
                Target::Foreign(_) => None,
            })
            .collect();
        let loader = ctx.data::<Passengers>()?;
        let found = loader.load_many(uuids).await.map_err(|e| service_error(&e))?;
        Ok(targets
            .iter()
            .map(|t| match t {
                Target::Passenger(uuid) => found.get(uuid).cloned().map(|row| Node::Passenger(row.into())),
                Target::Foreign(_) => None,
            })
            .collect())
    }
}
