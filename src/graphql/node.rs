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

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Interface, Object, Result};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use super::Settings;
use super::error::{bad_input, service_error};
use super::loaders::PassengerLoader;
use super::types::Passenger;

/// The type name inside a passenger's global id.
pub const PASSENGER: &str = "Passenger";

/// The global id of the passenger `uuid`.
pub fn passenger_id(uuid: Uuid) -> String {
    let mut text = String::with_capacity(PASSENGER.len() + 37);
    text.push_str(PASSENGER);
    text.push(':');
    text.push_str(uuid.hyphenated().encode_lower(&mut Uuid::encode_buffer()));
    URL_SAFE_NO_PAD.encode(text)
}

/// What a global id names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A passenger.
    Passenger(Uuid),
    /// An object of a type this service does not serve.
    Foreign(String),
}

/// Reads a global id; the error says why `id` is not one.
pub fn decode(id: &str) -> std::result::Result<Target, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(id.trim_end_matches('='))
        .map_err(|_| format!("{id:?} is not a global id (nodeId): not base64url"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{id:?} is not a global id (nodeId)"))?;
    let (ty, key) = text.split_once(':').ok_or_else(|| format!("{id:?} is not a global id (nodeId)"))?;
    if ty != PASSENGER {
        return Ok(Target::Foreign(ty.to_owned()));
    }
    let uuid = Uuid::try_parse(key).map_err(|_| format!("{id:?} is a Passenger id without a valid UUID"))?;
    Ok(Target::Passenger(uuid))
}

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
        let loader = ctx.data::<DataLoader<PassengerLoader>>()?;
        Ok(loader.load_one(uuid).await.map_err(|e| service_error(&e))?.map(|row| Node::Passenger(row.into())))
    }

    /// The objects with these global ids, in the order asked; null for each that `node` would
    /// answer null. At most the maximum page size of ids; all are read in one statement.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The `nodeId`s to look up (at most the maximum page size).")] node_ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>> {
        let max = ctx.data::<Settings>()?.max_page_size;
        if node_ids.len() as u64 > max {
            return Err(bad_input("nodeIds", format!("must hold at most {max} ids, got {}", node_ids.len())));
        }
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
        let loader = ctx.data::<DataLoader<PassengerLoader>>()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_say_what_is_wrong() {
        let uuid = Uuid::new_v4();
        let id = passenger_id(uuid);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{id}");
        assert_eq!(decode(&id), Ok(Target::Passenger(uuid)));
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("Ship:1")), Ok(Target::Foreign("Ship".into())));
        assert!(decode("not base64!").unwrap_err().contains("not base64url"));
        assert!(decode(&URL_SAFE_NO_PAD.encode("Passenger:nope")).unwrap_err().contains("valid UUID"));
        assert!(decode(&URL_SAFE_NO_PAD.encode("no colon")).is_err());
        assert!(decode(&uuid.to_string()).is_err(), "a bare UUID is not a global id");
    }
}
