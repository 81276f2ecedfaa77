//! Handlers of the legacy routes: parse, run a committed GraphQL operation, write legacy bytes.

use async_graphql::Value;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::body::{self, BodyError};
use super::operations::{self, Operation};
use super::{
    bad_request, forbidden, internal_error, legacy_json, legacy_json::encode, malformed, not_found, unauthorized,
    unavailable, unsupported_media_type,
};
use std::sync::Arc;

use crate::cache::Stored;
use crate::graphql::access::{Caller, UNAUTHENTICATED};
use crate::graphql::documents::PERSISTED_QUERY_NOT_ALLOWED;
use crate::graphql::error::{BAD_USER_INPUT, CONFLICT, SERVICE_UNAVAILABLE};
use crate::graphql::{Call, Encoding, Outcome, Transport};
use crate::service::WriteScope;
use crate::state::AppState;

/// `uuid` when it is in the canonical lower-case hyphenated form the legacy path converter
/// accepted; any other spelling is a 404 there.
pub fn canonical_uuid(uuid: &str) -> Option<&str> {
    let bytes = uuid.as_bytes();
    let ok = bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => matches!(b, b'0'..=b'9' | b'a'..=b'f'),
        });
    ok.then_some(uuid)
}

/// Runs `operation` for `caller` through the executor and returns its data, or the legacy
/// error response for its errors.
async fn run(
    state: &AppState,
    caller: Caller,
    operation: &Operation,
    variables: serde_json::Value,
) -> Result<Value, Response> {
    run_request(state, caller, operation, operation.request(variables)).await
}

/// [`run`] for a request already built from `operation` (with data of its own).
#[allow(clippy::result_large_err)] // the error is the response itself, returned at once
pub(super) async fn run_request(
    state: &AppState,
    caller: Caller,
    operation: &Operation,
    request: async_graphql::Request,
) -> Result<Value, Response> {
    let call = Call::encoded(caller, Transport::Rest, Encoding::Legacy);
    let executed = state.executor.execute(request, call).await;
    match executed.outcome {
        Outcome::Executed if executed.response.errors.is_empty() => return Ok(executed.response.data),
        Outcome::Unauthenticated => return Err(unauthorized()),
        Outcome::TimedOut | Outcome::Overloaded => return Err(unavailable()),
        _ => {}
    }
    let error = &executed.response.errors[0];
    let code = error.extensions.as_ref().and_then(|x| x.get("code")).cloned();
    Err(match code {
        Some(Value::String(c)) if c == BAD_USER_INPUT => bad_request(&error.message),
        Some(Value::String(c)) if c == UNAUTHENTICATED => unauthorized(),
        Some(Value::String(c)) if c == SERVICE_UNAVAILABLE || c == "TIMEOUT" => unavailable(),
        Some(Value::String(c)) if c == PERSISTED_QUERY_NOT_ALLOWED => forbidden(),
        Some(Value::String(c)) if c == CONFLICT => precondition_failed(&error.message),
        _ => {
            tracing::error!(operation = operation.name(), error = %error.message, "legacy route failed");
            internal_error()
        }
    })
}

/// The member `name` of an object value (null otherwise).
pub(super) fn field(data: Value, name: &str) -> Value {
    match data {
        Value::Object(mut map) => map.swap_remove(name).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn null_response() -> Response {
    legacy_json(StatusCode::OK, b"null\n".to_vec())
}

/// `GET /hello`: 201 `{"message":"ok"}`.
pub async fn hello() -> Response {
    legacy_json(StatusCode::CREATED, b"{\"message\":\"ok\"}\n".to_vec())
}

/// `GET /zero`: 201 `{"0":""}`.
pub async fn zero() -> Response {
    legacy_json(StatusCode::CREATED, b"{\"0\":\"\"}\n".to_vec())
}

/// The entity tag of a passenger at `version`: what `GET /getpassenger` sends as `ETag`, and
/// what `If-None-Match` and `If-Match` are compared with.
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits and quotes are a valid header value")
}

/// The entity tags of a conditional header: `*`, or the listed tags (weak ones marked).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tags {
    Any,
    List(Vec<(bool, String)>),
}

/// The tags of header `name`, `None` when it is absent (every occurrence is read).
fn tags(headers: &HeaderMap, name: header::HeaderName) -> Option<Tags> {
    let mut list = Vec::new();
    let mut present = false;
    for value in headers.get_all(name) {
        present = true;
        let Ok(text) = value.to_str() else { continue };
        for tag in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if tag == "*" {
                return Some(Tags::Any);
            }
            let (weak, opaque) = match tag.strip_prefix("W/") {
                Some(rest) => (true, rest),
                None => (false, tag),
            };
            list.push((weak, opaque.to_owned()));
        }
    }
    present.then_some(Tags::List(list))
}

/// The version a strong tag of ours names.
fn tag_version(opaque: &str) -> Option<i64> {
    opaque.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
}

/// What `If-Match` asks of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    /// No `If-Match`: write as the legacy service did.
    Nothing,
    /// `If-Match: *`: the passenger must exist.
    Exists,
    /// The passenger must be at one of these versions.
    Versions(Vec<i64>),
}

fn expectation(headers: &HeaderMap) -> Expect {
    match tags(headers, header::IF_MATCH) {
        None => Expect::Nothing,
        Some(Tags::Any) => Expect::Exists,
        // Strong comparison: weak tags never match.
        Some(Tags::List(list)) => {
            Expect::Versions(list.iter().filter(|(weak, _)| !weak).filter_map(|(_, t)| tag_version(t)).collect())
        }
    }
}

/// The 412 answer to a write whose `If-Match` does not hold; nothing was written.
fn precondition_failed(message: &str) -> Response {
    super::page(StatusCode::PRECONDITION_FAILED, message)
}

/// `GET /getpassenger/<uuid>`: the passenger, or 200 `null`. A passenger comes with an `ETag`
/// naming its version; `If-None-Match` with that tag is answered 304 without a body.
pub async fn get_passenger(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Some(id) = canonical_uuid(&id) else {
        return not_found();
    };
    let caller = state.tokens.caller_from(&headers);
    let ticket = match state.cache.begin(caller, &[b"/getpassenger/", id.as_bytes()], &headers).await {
        Ok(ticket) => ticket,
        Err(cached) => return cached,
    };
    let data = match run(&state, caller, &operations::GET_PASSENGER, json!({ "id": id })).await {
        Ok(data) => data,
        Err(response) => return response,
    };
    let mut passenger = field(data, "passenger");
    let version = match &mut passenger {
        Value::Object(map) => match map.shift_remove("version") {
            Some(Value::Number(n)) => n.as_i64(),
            _ => None,
        },
        _ => None,
    };
    // The tag is the row's version: the same tag serves If-None-Match here and If-Match on
    // PUT and DELETE. A passenger that does not exist has none.
    let stored = Stored {
        status: StatusCode::OK,
        content_type: HeaderValue::from_static("application/json"),
        body: Bytes::from(encode(&passenger)),
        etag: version.map(etag),
    };
    match ticket {
        Some(ticket) => state.cache.store(ticket, stored).respond(&headers),
        None => stored.respond(&headers),
    }
}

/// The current version of passenger `id`, if there is one.
async fn current_version(state: &AppState, caller: Caller, id: &str) -> Result<Option<i64>, Response> {
    let data = run(state, caller, &operations::GET_PASSENGER, json!({ "id": id })).await?;
    Ok(match field(field(data, "passenger"), "version") {
        Value::Number(n) => n.as_i64(),
        _ => None,
    })
}

/// The `expectedVersion` to send for `expect`, or the 412 answer when no version can match
/// (only weak or foreign tags, or several tags none of which is the current version).
async fn expected_version(
    state: &AppState,
    caller: Caller,
    id: &str,
    expect: &Expect,
) -> Result<Option<i64>, Response> {
    match expect {
        Expect::Nothing | Expect::Exists => Ok(None),
        Expect::Versions(versions) if versions.len() == 1 => Ok(Some(versions[0])),
        Expect::Versions(versions) => match current_version(state, caller, id).await? {
            // The write then checks that it is still this version.
            Some(current) if versions.contains(&current) => Ok(Some(current)),
            _ => Err(precondition_failed("If-Match names no current version of this passenger")),
        },
    }
}

/// Whether a legacy answer reports a failure a retry may not meet (not kept for a retry).
fn transient(response: &Response) -> bool {
    let status = response.status();
    status.is_server_error() || status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN
}

/// Runs `work` once per idempotency key when the request has one (its writes joining the
/// key's transaction), or directly.
async fn once<F, Fut>(state: &AppState, method: &str, path: &str, headers: &HeaderMap, body: &[u8], work: F) -> Response
where
    F: FnOnce(Option<Arc<WriteScope>>) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let key = match crate::idempotency::key_of(headers) {
        Ok(key) => key,
        Err(refusal) => return refused(refusal),
    };
    let Some(key) = key else { return work(None).await };
    let fingerprint = crate::idempotency::fingerprint(method, path, headers, body);
    crate::idempotency::run(&state.idempotency, headers, key, fingerprint, refused, |scope| async move {
        let response = work(Some(scope)).await;
        let transient = transient(&response);
        crate::idempotency::Ran { response, transient }
    })
    .await
}

/// A refused idempotent request, in the legacy page style.
fn refused(refusal: crate::idempotency::Refusal) -> Response {
    let mut response = super::page(refusal.status(), &refusal.message());
    if let Some((name, value)) = refusal.headers() {
        response.headers_mut().insert(name, value);
    }
    response
}

/// `request` joining `scope`'s transaction, if any.
fn within(request: async_graphql::Request, scope: Option<Arc<WriteScope>>) -> async_graphql::Request {
    match scope {
        Some(scope) => request.data(scope),
        None => request,
    }
}

fn body_error(error: BodyError) -> Response {
    match error {
        BodyError::UnsupportedMediaType => unsupported_media_type(),
        BodyError::Malformed => malformed(),
        BodyError::Invalid(message) => bad_request(&message),
    }
}

/// The caller of a write and its parsed body; a caller without write access is refused with
/// 401 before the body is even read.
#[allow(clippy::result_large_err)] // the error is the response itself, returned at once
fn write_request(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(Caller, serde_json::Value), Response> {
    let caller = state.tokens.caller_from(headers);
    if !caller.can_write {
        return Err(unauthorized());
    }
    let input = body::parse(headers, body).map_err(body_error)?;
    Ok((caller, input))
}

/// `POST /postpassenger`: inserts, then answers every passenger with that name, oldest first
/// (read inside the insert's transaction: what was committed is what is answered).
pub async fn post_passenger(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (caller, input) = match write_request(&state, &headers, &body) {
        Ok(request) => request,
        Err(response) => return response,
    };
    let variables = json!({ "input": input, "namesakes": state.config.max_page_size });
    once(&state, "POST", "/postpassenger", &headers, &body, |scope| async {
        let request = within(operations::CREATE_PASSENGER.request(variables), scope);
        match run_request(&state, caller, &operations::CREATE_PASSENGER, request).await {
            Ok(data) => legacy_json(StatusCode::OK, encode(&field(field(data, "createPassenger"), "namesakes"))),
            Err(response) => response,
        }
    })
    .await
}

/// `PUT /putpassenger/<uuid>`: replaces all eight fields; 200 `null` whether or not the row
/// exists. With `If-Match`, writes only if the passenger is at the tagged version (412
/// otherwise, also for an unknown passenger); the answer's `ETag` names the new version.
pub async fn put_passenger(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(id) = canonical_uuid(&id) else {
        return not_found();
    };
    let (caller, input) = match write_request(&state, &headers, &body) {
        Ok(request) => request,
        Err(response) => return response,
    };
    let expect = expectation(&headers);
    let path = format!("/putpassenger/{id}");
    once(&state, "PUT", &path, &headers, &body, |scope| async {
        let expected = match expected_version(&state, caller, id, &expect).await {
            Ok(expected) => expected,
            Err(response) => return response,
        };
        let variables = json!({ "id": id, "input": input, "expectedVersion": expected });
        let request = within(operations::UPDATE_PASSENGER.request(variables), scope);
        match run_request(&state, caller, &operations::UPDATE_PASSENGER, request).await {
            Ok(data) => match field(field(data, "updatePassenger"), "version") {
                Value::Number(n) => {
                    let mut response = null_response();
                    if let Some(version) = n.as_i64() {
                        response.headers_mut().insert(header::ETAG, etag(version));
                    }
                    response
                }
                _ if expect != Expect::Nothing => precondition_failed("no such passenger"),
                _ => null_response(),
            },
            Err(response) => response,
        }
    })
    .await
}

/// `DELETE /deletepassenger/<uuid>`: 200 `null` whether or not the row existed. With
/// `If-Match`, deletes only if the passenger is at the tagged version (412 otherwise, also for
/// an unknown passenger).
pub async fn delete_passenger(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Some(id) = canonical_uuid(&id) else {
        return not_found();
    };
    let caller = state.tokens.caller_from(&headers);
    let expect = expectation(&headers);
    let path = format!("/deletepassenger/{id}");
    once(&state, "DELETE", &path, &headers, &[], |scope| async {
        let expected = match expected_version(&state, caller, id, &expect).await {
            Ok(expected) => expected,
            Err(response) => return response,
        };
        let request =
            within(operations::DELETE_PASSENGER.request(json!({ "id": id, "expectedVersion": expected })), scope);
        match run_request(&state, caller, &operations::DELETE_PASSENGER, request).await {
            Ok(data) => match field(data, "deletePassenger") {
                Value::Boolean(false) if expect != Expect::Nothing => precondition_failed("no such passenger"),
                _ => null_response(),
            },
            Err(response) => response,
        }
    })
    .await
}

/// `GET /openapi.json`: the OpenAPI 3.1 description of the legacy routes.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], super::openapi::document()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_lower_case_uuids_are_accepted() {
        assert!(canonical_uuid("acd1111a-c9f6-4ff7-ba94-dc28bf15f36c").is_some());
        assert!(canonical_uuid("00000000-0000-0000-0000-000000000000").is_some());
        for bad in [
            "ACD1111A-C9F6-4FF7-BA94-DC28BF15F36C",
            "acd1111ac9f64ff7ba94dc28bf15f36c",
            "{acd1111a-c9f6-4ff7-ba94-dc28bf15f36c}",
            "urn:uuid:acd1111a-c9f6-4ff7-ba94-dc28bf15f36c",
            "not-a-uuid",
            "1234",
            "",
        ] {
            assert!(canonical_uuid(bad).is_none(), "{bad}");
        }
    }
}
