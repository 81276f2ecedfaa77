//! `GET /passengerlist`: every passenger, unpaged, in the legacy bytes.
//!
//! The list is read page by page through the committed GraphQL operation
//! (`operations/list_passengers.graphql`). A list that fits in one page (the 887 historical
//! passengers do) is answered at once with a `Content-Length`; a longer one is read from one
//! snapshot of the database and streamed page by page, so the server's memory stays bounded
//! whatever the size of the table, the first byte leaves as soon as the first page is read,
//! and the bytes are exactly those of the buffered answer. One-page answers go through the
//! response cache ([`crate::cache`]); streamed ones never do. A client that stops reading for
//! longer than the request time limit is cut off, releasing its snapshot.

use std::time::Duration;

use async_graphql::Value;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::handlers::{field, run_request};
use super::legacy_json::write_value;
use super::operations;
use super::{legacy_json, unavailable};
use crate::cache::Stored;
use crate::graphql::access::Caller;
use crate::graphql::columns::CursorsUnread;
use crate::service::Snapshot;
use crate::state::AppState;

/// One page of the list: its passengers in the legacy form (`[…]`, as the fast path wrote
/// them), whether more follow, and the cursor of the next page when there is one and it was
/// read.
struct Page {
    list: Bytes,
    more: bool,
    next: Option<String>,
}

impl Page {
    /// The passengers without the brackets.
    fn items(&self) -> Bytes {
        self.list.slice(1..self.list.len().saturating_sub(1).max(1))
    }
}

/// Reads the page after `after`, from `snapshot` when given. Without one, the page is only a
/// first look (a longer list is read again from a snapshot), so its cursor is not read and its
/// rows come without their insertion numbers.
async fn page(
    state: &AppState,
    caller: Caller,
    after: Option<String>,
    snapshot: Option<&Snapshot>,
) -> Result<Page, Response> {
    let variables = json!({ "first": state.config.max_page_size.max(1), "after": after });
    let mut request = operations::LIST_PASSENGERS.request(variables);
    match snapshot {
        Some(snapshot) => request = request.data(snapshot.clone()),
        None => request = request.data(CursorsUnread),
    }
    let data = run_request(state, caller, &operations::LIST_PASSENGERS, request).await?;
    let connection = field(data, "passengers");
    let (nodes, page_info) = match connection {
        Value::Object(mut map) => {
            (map.swap_remove("nodes").unwrap_or(Value::Null), map.swap_remove("pageInfo").unwrap_or(Value::Null))
        }
        _ => (Value::Null, Value::Null),
    };
    let list = match nodes {
        // Written by the fast path, as the shim asks for.
        Value::Binary(text) => text,
        other => {
            let mut text = String::new();
            write_value(&mut text, &other);
            Bytes::from(text)
        }
    };
    let more = field(page_info.clone(), "hasNextPage") == Value::Boolean(true);
    let next = match field(page_info, "endCursor") {
        Value::String(cursor) if more => Some(cursor),
        _ => None,
    };
    Ok(Page { list, more, next })
}

/// `GET /passengerlist` (and `HEAD`, which answers the length of the same bytes).
pub async fn list_passengers(State(state): State<AppState>, method: Method, headers: HeaderMap) -> Response {
    let caller = state.tokens.caller_from(&headers);
    let ticket = match state.cache.begin(caller, &[b"/passengerlist"], &headers).await {
        Ok(ticket) => ticket,
        Err(cached) => return cached,
    };
    // The common case: the whole list in one page, read by one statement (its own snapshot).
    let first = match page(&state, caller, None, None).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    if !first.more {
        // The fast path left room for the newline: no copy.
        let mut body = Vec::from(first.list);
        body.push(b'\n');
        let Some(ticket) = ticket else { return legacy_json(StatusCode::OK, body) };
        let stored = Stored::tagged(StatusCode::OK, HeaderValue::from_static("application/json"), Bytes::from(body));
        return state.cache.store(ticket, stored).respond(&headers);
    }
    // Longer: every page from one snapshot, the number of such readers bounded (each holds a
    // pooled connection while it runs). A reader takes seconds, not milliseconds, so one that
    // finds them all busy waits its turn for as long as a request may run, not merely as long
    // as for a pooled connection.
    let wait = state.config.request_timeout();
    let Ok(Ok(permit)) = tokio::time::timeout(wait, state.list_streams.clone().acquire_owned()).await else {
        return unavailable();
    };
    let snapshot = match Snapshot::open(&state.db.read).await {
        Ok(snapshot) => snapshot,
        Err(e) => {
            tracing::warn!(error = %e, "cannot open a snapshot for the list");
            return unavailable();
        }
    };
    if method == Method::HEAD {
        let length = match total_length(&state, caller, &snapshot).await {
            Ok(length) => length,
            Err(response) => return response,
        };
        drop((snapshot, permit));
        let mut response = legacy_json(StatusCode::OK, Vec::new());
        response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        return response;
    }
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    let idle = state.config.request_timeout();
    tokio::spawn(async move {
        let _permit = permit;
        produce(&state, caller, snapshot, sender, idle).await;
    });
    let stream = futures_util::stream::unfold(receiver, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], Body::from_stream(stream))
        .into_response()
}

/// Reads every page from `snapshot` into `sender`; stops when the client stops reading for
/// `idle`, and aborts the body (the client sees an incomplete answer) when a page fails.
async fn produce(
    state: &AppState,
    caller: Caller,
    snapshot: Snapshot,
    sender: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    idle: Duration,
) {
    let mut after = None;
    let mut first = true;
    loop {
        let page = match page(state, caller, after.take(), Some(&snapshot)).await {
            Ok(page) => page,
            Err(response) => {
                tracing::error!(status = %response.status(), "the list failed mid-stream; the answer is cut short");
                let _ = sender.send(Err(std::io::Error::other("the list failed mid-stream"))).await;
                return;
            }
        };
        let items = page.items();
        let done = page.next.is_none();
        let mut chunks = Vec::with_capacity(3);
        if first {
            chunks.push(Bytes::from_static(b"["));
        } else if !items.is_empty() {
            chunks.push(Bytes::from_static(b","));
        }
        chunks.push(items);
        if done {
            chunks.push(Bytes::from_static(b"]\n"));
        }
        first = false;
        for chunk in chunks {
            if sender.send_timeout(Ok(chunk), idle).await.is_err() {
                tracing::warn!("the list's client stopped reading; stream closed");
                return;
            }
        }
        if done {
            break;
        }
        after = page.next;
    }
    if let Ok(txn) = std::sync::Arc::try_unwrap(snapshot.0) {
        let _ = txn.commit().await;
    }
}

/// The length of the whole list's bytes, read from `snapshot` without keeping them.
async fn total_length(state: &AppState, caller: Caller, snapshot: &Snapshot) -> Result<u64, Response> {
    let mut length = 1u64; // "["
    let mut after = None;
    let mut first = true;
    loop {
        let page = page(state, caller, after.take(), Some(snapshot)).await?;
        let items = page.items().len() as u64;
        if !first && items > 0 {
            length += 1; // ","
        }
        first = false;
        length += items;
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(length + 2), // "]\n"
        }
    }
}
