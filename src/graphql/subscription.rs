//! Subscription root: live change events over WebSocket.
//!
//! Each subscriber reads from a bounded buffer of the local fan-out (`EVENT_BUFFER`). When a
//! subscriber falls further behind than that, it receives one `SUBSCRIBER_LAGGED` error naming
//! how many events it missed, and its subscription ends; it may resubscribe and re-read
//! current state. Writers and other subscribers never wait for it.

use std::sync::Arc;

use async_graphql::{Context, Enum, ErrorExtensions, MergedSubscription, Result, SimpleObject, Subscription};
use futures_util::{Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};
use uuid::Uuid;

use super::inputs::PassengerFilter;
use super::types::Passenger;
use crate::service::events::{EventKind, Events};
use crate::service::filter::Filter;

/// Caps the number of open subscriptions (`MAX_SUBSCRIPTIONS`).
#[derive(Clone)]
pub struct SubscriptionSlots(pub Arc<Semaphore>);

/// Every subscription field of the API: live change events.
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(PassengerSubscription);

/// Live updates about passengers.
#[derive(Default)]
pub struct PassengerSubscription;

/// What happened to a passenger.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PassengerEventKind {
    /// The passenger was created.
    Created,
    /// The passenger was changed.
    Updated,
    /// The passenger was deleted.
    Deleted,
}

impl From<EventKind> for PassengerEventKind {
    fn from(k: EventKind) -> Self {
        match k {
            EventKind::Created => Self::Created,
            EventKind::Updated => Self::Updated,
            EventKind::Deleted => Self::Deleted,
        }
    }
}

/// A change to a passenger.
#[derive(SimpleObject, Clone, Debug)]
pub struct PassengerEvent {
    /// What happened.
    pub kind: PassengerEventKind,
    /// The passenger's id.
    pub id: Uuid,
    /// The passenger's global id (`Passenger.nodeId`), deleted passengers included, so a
    /// client store can update or remove its record.
    pub node_id: async_graphql::ID,
    /// The passenger after the change; null when it was deleted.
    pub passenger: Option<Passenger>,
}

#[Subscription]
impl PassengerSubscription {
    /// Every creation, update and deletion of a passenger from now on, by any client through
    /// any interface on any replica, that matches `filter` (for a deletion: the passenger's
    /// last state). Exactly one event per change.
    async fn passenger_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only changes to passengers matching this filter.")] filter: Option<PassengerFilter>,
    ) -> Result<impl Stream<Item = Result<PassengerEvent>> + use<>> {
        let slots = ctx.data::<SubscriptionSlots>()?;
        let permit: OwnedSemaphorePermit = slots.0.clone().try_acquire_owned().map_err(|_| {
            async_graphql::Error::new("too many open subscriptions; try again later")
                .extend_with(|_, e| e.set("code", "TOO_MANY_SUBSCRIPTIONS"))
        })?;
        let events = ctx.data::<Events>()?;
        let receiver = events.subscribe();
        let closed = {
            let events = events.clone();
            async move { events.closed().await }
        };
        let filter = filter.map(Filter::from);
        let stream =
            futures_util::stream::unfold((receiver, false, permit), |(mut receiver, ended, permit)| async move {
                if ended {
                    return None;
                }
                match receiver.recv().await {
                    Ok(event) => Some((Ok(Some(event)), (receiver, false, permit))),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        let error = async_graphql::Error::new(format!(
                            "this subscriber fell {missed} events behind and was disconnected; resubscribe"
                        ))
                        .extend_with(|_, e| e.set("code", "SUBSCRIBER_LAGGED"));
                        Some((Err(error), (receiver, true, permit)))
                    }
                    Err(broadcast::error::RecvError::Closed) => None,
                }
            });
        Ok(stream.take_until(Box::pin(closed)).filter_map(move |item| {
            let out = match item {
                Err(e) => Some(Err(e)),
                Ok(Some(event)) => {
                    let row = event.row;
                    filter.as_ref().is_none_or(|f| f.matches(&row)).then(|| {
                        Ok(PassengerEvent {
                            kind: event.kind.into(),
                            id: row.uuid,
                            node_id: async_graphql::ID(super::global_id::passenger_id(row.uuid)),
                            passenger: (event.kind != EventKind::Deleted).then_some(Passenger::from(row)),
                        })
                    })
                }
                Ok(None) => None,
            };
            std::future::ready(out)
        }))
    }
}
