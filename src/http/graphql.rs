//! `/graphql`: GraphQL over HTTP, following the GraphQL-over-HTTP specification, GraphQL over
//! WebSocket, and the GraphiQL playground for browsers. Every operation goes through the
//! executor (`graphql::executor`); this module only speaks the protocols.
//!
//! - `POST` with `Content-Type: application/json` (a single request or a batch array). Any
//!   other content type is refused with 415: form and text bodies are what a cross-site form
//!   can send without a CORS preflight, so refusing them is the CSRF protection.
//! - `GET ?query=…&variables=…&operationName=…` for queries only; a mutation over GET is 405.
//! - The response is `application/graphql-response+json` when the client accepts it (then
//!   documents that fail to parse or validate get 400), `application/json` otherwise (always
//!   200 for a well-formed request). Malformed requests get 400 either way. A response to a
//!   request that could not run (parse, validation, limits, access) has no `data` entry.
//! - Answers to single queries (POST or GET) go through the response cache ([`crate::cache`]):
//!   served from it while the data is unchanged, with an `ETag` for `If-None-Match`.

use std::collections::BTreeMap;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{BatchRequest, Response as GqlResponse, ServerError, Value};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::body::Bytes;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::cache::{Stored, Ticket};
use crate::graphql::executor::{Executed, Kind, Outcome, WebSocketExecutor, coded};
use crate::graphql::{Call, Encoding, Transport};
use crate::state::AppState;

/// Media type of GraphQL responses per the GraphQL-over-HTTP spec.
pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The response media type chosen from the `Accept` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`: status 200 for every well-formed request.
    Json,
    /// `application/graphql-response+json`: 4xx for documents that cannot execute.
    GraphqlResponseJson,
}

impl Format {
    /// The format's part of a response-cache key.
    fn tag(self) -> &'static [u8] {
        match self {
            Self::Json => b"json",
            Self::GraphqlResponseJson => b"graphql-response+json",
        }
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Json => "application/json; charset=utf-8",
            Self::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
        })
    }
}

/// Picks the response format: the first acceptable media range of `Accept` wins; no `Accept`
/// means `application/json`; nothing acceptable is `None` (406).
pub fn negotiate(headers: &HeaderMap) -> Option<Format> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Format::Json);
    };
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let refused = parts
            .any(|p| p.replace(' ', "").starts_with("q=0") && !p.contains(|c: char| c.is_ascii_digit() && c != '0'));
        if refused {
            continue;
        }
        match media.as_str() {
            GRAPHQL_RESPONSE_JSON => return Some(Format::GraphqlResponseJson),
            "application/json" | "application/*" | "*/*" => return Some(Format::Json),
            _ => {}
        }
    }
    None
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.type_() == mime::APPLICATION && m.subtype() == mime::JSON)
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
}

/// A GraphQL response on the wire: `data` only when the operation ran.
#[derive(serde::Serialize)]
struct Wire<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, Value>,
}

impl<'a> Wire<'a> {
    fn errors_only(response: &'a GqlResponse) -> Self {
        Self { errors: &response.errors, data: None, extensions: &response.extensions }
    }
}

/// A response carrying a single error with `code`, outside GraphQL execution.
fn error_response(status: StatusCode, format: Format, code: &str, message: impl Into<String>) -> Response {
    let body = GqlResponse::from_errors(vec![coded(code, message)]);
    json_response(status, format, &Wire::errors_only(&body))
}

fn json_response<T: serde::Serialize>(status: StatusCode, format: Format, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, format.content_type())], bytes).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn not_acceptable() -> Response {
    (StatusCode::NOT_ACCEPTABLE, "acceptable response types: application/graphql-response+json, application/json\n")
        .into_response()
}

/// `POST /graphql`.
pub async fn graphql_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(format) = negotiate(&headers) else {
        return not_acceptable();
    };
    let caller = state.tokens.caller_from(&headers);
    if !is_json(&headers) {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format,
            "UNSUPPORTED_MEDIA_TYPE",
            "POST /graphql needs `Content-Type: application/json`",
        );
    }
    // A query answered before, with nothing changed since, is answered from the cache.
    let ticket = match state.cache.begin(caller, &[b"POST /graphql", format.tag(), &body], &headers).await {
        Ok(ticket) => ticket,
        Err(cached) => return cached,
    };
    let batch = match parse_body(&body) {
        Ok(batch) => batch,
        Err(problem) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                format,
                "BAD_REQUEST",
                format!("malformed GraphQL request: {problem}"),
            );
        }
    };
    if let BatchRequest::Batch(requests) = &batch {
        let max = state.config.graphql_max_batch;
        if requests.len() > max {
            return error_response(
                StatusCode::BAD_REQUEST,
                format,
                "BAD_REQUEST",
                format!("a batch may hold at most {max} operations, got {}", requests.len()),
            );
        }
    }
    let key = match crate::idempotency::key_of(&headers) {
        Ok(key) => key,
        Err(refusal) => return refused(format, refusal),
    };
    let writes = match &batch {
        BatchRequest::Single(request) => state.executor.writes(request),
        BatchRequest::Batch(requests) => requests.iter().any(|r| state.executor.writes(r)),
    };
    let call = Call::encoded(caller, Transport::Post, Encoding::Json);
    match key {
        // A key applies to writes; a query with one simply runs.
        Some(key) if writes => {
            let fingerprint = crate::idempotency::fingerprint("POST", "/graphql", &headers, &body);
            let refuse = |refusal| refused(format, refusal);
            crate::idempotency::run(&state.idempotency, &headers, key, fingerprint, refuse, |scope| {
                execute(&state, batch, call, format, Some(scope))
            })
            .await
        }
        _ => match (batch, ticket) {
            (BatchRequest::Single(request), Some(ticket)) => {
                let executed = state.executor.execute(request, call).await;
                answer_and_keep(&state, executed, format, ticket, &headers)
            }
            (batch, _) => execute(&state, batch, call, format, None).await.response,
        },
    }
}

/// The answer to `executed`, kept in the response cache when it is a complete, error-free
/// query answer (with its `ETag`, so that `If-None-Match` may be answered 304).
fn answer_and_keep(
    state: &AppState,
    executed: Executed,
    format: Format,
    ticket: Ticket,
    headers: &HeaderMap,
) -> Response {
    if !(executed.is_clean() && executed.kind == Kind::Query) {
        return answer(executed, format);
    }
    let mut body = String::with_capacity(256);
    executed.write_json(&mut body);
    let stored = Stored::tagged(StatusCode::OK, format.content_type(), Bytes::from(body));
    state.cache.store(ticket, stored).respond(headers)
}

/// A refused idempotent request, as a GraphQL error with the refusal's code.
fn refused(format: Format, refusal: crate::idempotency::Refusal) -> Response {
    let mut response = error_response(refusal.status(), format, refusal.code(), refusal.message());
    if let Some((name, value)) = refusal.headers() {
        response.headers_mut().insert(name, value);
    }
    response
}

/// Runs a request or a batch; with `scope`, every write joins that transaction.
async fn execute(
    state: &AppState,
    batch: BatchRequest,
    call: Call,
    format: Format,
    scope: Option<std::sync::Arc<crate::service::WriteScope>>,
) -> crate::idempotency::Ran {
    let with_scope = |request: async_graphql::Request| match &scope {
        Some(scope) => request.data(scope.clone()),
        None => request,
    };
    match batch {
        BatchRequest::Single(request) => {
            let executed = state.executor.execute(with_scope(request), call).await;
            let transient = transient(&executed);
            crate::idempotency::Ran { response: answer(executed, format), transient }
        }
        BatchRequest::Batch(requests) => {
            let mut out = String::from("[");
            let mut any_transient = false;
            for (i, request) in requests.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let executed = state.executor.execute(with_scope(request), call).await;
                any_transient |= transient(&executed);
                executed.write_json(&mut out);
            }
            out.push(']');
            let response = (StatusCode::OK, [(header::CONTENT_TYPE, format.content_type())], out).into_response();
            crate::idempotency::Ran { response, transient: any_transient }
        }
    }
}

/// Whether an operation failed for a reason a retry may not meet (time-out, overload, an
/// unavailable database, an internal error, a missing token): such an answer is not worth
/// keeping for a retry.
fn transient(executed: &Executed) -> bool {
    use crate::graphql::error::{INTERNAL, SERVICE_UNAVAILABLE};
    matches!(executed.outcome, Outcome::TimedOut | Outcome::Overloaded | Outcome::Unauthenticated)
        || executed.response.errors.iter().any(|e| {
            let code = e.extensions.as_ref().and_then(|x| x.get("code"));
            matches!(code, Some(Value::String(c)) if [INTERNAL, SERVICE_UNAVAILABLE, "TIMEOUT", "OVERLOADED"].contains(&c.as_str()))
        })
}

/// Parses a POST body, checking the shape the spec requires of each request: `query` a string
/// (absent only for a persisted-query hash), `variables` and `extensions` objects,
/// `operationName` a string (each may be null).
fn parse_body(body: &[u8]) -> Result<BatchRequest, String> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let check = |r: &serde_json::Value| -> Result<(), String> {
        let r = r.as_object().ok_or("a request must be a JSON object")?;
        let persisted = r.get("extensions").and_then(|e| e.get("persistedQuery")).is_some();
        match r.get("query") {
            Some(serde_json::Value::String(_)) => {}
            None | Some(serde_json::Value::Null) if persisted => {}
            None | Some(serde_json::Value::Null) => return Err("`query` is missing".into()),
            Some(_) => return Err("`query` must be a string".into()),
        }
        for (key, ok) in [
            ("variables", r.get("variables").is_none_or(|v| v.is_object() || v.is_null())),
            ("extensions", r.get("extensions").is_none_or(|v| v.is_object() || v.is_null())),
            ("operationName", r.get("operationName").is_none_or(|v| v.is_string() || v.is_null())),
        ] {
            if !ok {
                return Err(format!("`{key}` has the wrong type"));
            }
        }
        Ok(())
    };
    match &value {
        serde_json::Value::Array(items) if items.is_empty() => return Err("an empty batch".into()),
        serde_json::Value::Array(items) => items.iter().try_for_each(check)?,
        other => check(other)?,
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// `GET /graphql`: a WebSocket upgrade for subscriptions (`graphql-transport-ws` or the older
/// `graphql-ws` sub-protocol), a query in the URL, or the playground for a browser.
pub async fn graphql_get(
    State(state): State<AppState>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    protocol: Result<GraphQLProtocol, StatusCode>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Ok(upgrade) = upgrade {
        let Ok(protocol) = protocol else {
            return (
                StatusCode::BAD_REQUEST,
                "unsupported WebSocket sub-protocol; use graphql-transport-ws or graphql-ws\n",
            )
                .into_response();
        };
        let executor = WebSocketExecutor(state.executor.clone());
        let tokens = state.tokens.clone();
        let from_headers = tokens.caller_from(&headers);
        return upgrade
            .protocols(ALL_WEBSOCKET_PROTOCOLS)
            .on_upgrade(move |socket| {
                GraphQLWebSocket::new(socket, executor, protocol)
                    .on_connection_init(move |payload| async move {
                        // Browsers cannot set headers on a WebSocket: accept the token in the
                        // connection_init payload too.
                        let from_payload = ["Authorization", "authorization"]
                            .iter()
                            .find_map(|k| payload.get(*k).and_then(|v| v.as_str()).map(str::to_owned));
                        let caller = match from_payload {
                            Some(value) => tokens.caller(Some(&value)),
                            None => from_headers,
                        };
                        let mut data = async_graphql::Data::default();
                        data.insert(caller);
                        Ok(data)
                    })
                    .serve()
            })
            .into_response();
    }
    let query = query.unwrap_or_default();
    let has_query = query.split('&').any(|pair| pair.starts_with("query=") || pair.starts_with("extensions="));
    if !has_query && accepts_html(&headers) {
        return state.playground.page().into_response();
    }
    let Some(format) = negotiate(&headers) else {
        return not_acceptable();
    };
    if !has_query {
        return error_response(StatusCode::BAD_REQUEST, format, "BAD_REQUEST", "missing `query` parameter");
    }
    let caller = state.tokens.caller_from(&headers);
    let ticket = match state.cache.begin(caller, &[b"GET /graphql", format.tag(), query.as_bytes()], &headers).await {
        Ok(ticket) => ticket,
        Err(cached) => return cached,
    };
    match async_graphql::http::parse_query_string(&query) {
        Ok(request) => {
            let call = Call::encoded(caller, Transport::Get, Encoding::Json);
            let executed = state.executor.execute(request, call).await;
            match ticket {
                Some(ticket) => answer_and_keep(&state, executed, format, ticket, &headers),
                None => answer(executed, format),
            }
        }
        Err(e) => {
            error_response(StatusCode::BAD_REQUEST, format, "BAD_REQUEST", format!("malformed GraphQL request: {e}"))
        }
    }
}

/// The HTTP answer to an executed operation.
fn answer(executed: Executed, format: Format) -> Response {
    let strict = format == Format::GraphqlResponseJson;
    let status = match executed.outcome {
        Outcome::Executed => StatusCode::OK,
        Outcome::Rejected if strict => StatusCode::BAD_REQUEST,
        Outcome::Unauthenticated if strict => StatusCode::UNAUTHORIZED,
        Outcome::Rejected | Outcome::Unauthenticated => StatusCode::OK,
        Outcome::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Outcome::TimedOut | Outcome::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
    };
    let mut body = String::with_capacity(256);
    executed.write_json(&mut body);
    let mut http = (status, [(header::CONTENT_TYPE, format.content_type())], body).into_response();
    match executed.outcome {
        Outcome::MethodNotAllowed => {
            http.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        Outcome::Overloaded => {
            http.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        _ => {}
    }
    http
}
