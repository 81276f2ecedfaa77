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
use crate::graphql::access::{Caller, UNAUTHENTICATED};
use crate::graphql::documents::PERSISTED_QUERY_NOT_ALLOWED;
use crate::graphql::error::{BAD_USER_INPUT, SERVICE_UNAVAILABLE};
use crate::graphql::{Call, Encoding, Outcome, Transport};
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

/// `GET /getpassenger/<uuid>`: the passenger, or 200 `null`.
pub async fn get_passenger(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Some(id) = canonical_uuid(&id) else {
        return not_found();
    };
    match run(&state, state.tokens.caller_from(&headers), &operations::GET_PASSENGER, json!({ "id": id })).await {
        Ok(data) => legacy_json(StatusCode::OK, encode(&field(data, "passenger"))),
        Err(response) => response,
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

/// `POST /postpassenger`: inserts, then answers every passenger with that name, oldest first.
pub async fn post_passenger(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (caller, input) = match write_request(&state, &headers, &body) {
        Ok(request) => request,
        Err(response) => return response,
    };
    let variables = json!({ "input": input, "namesakes": state.config.max_page_size });
    match run(&state, caller, &operations::CREATE_PASSENGER, variables).await {
        Ok(data) => legacy_json(StatusCode::OK, encode(&field(field(data, "createPassenger"), "namesakes"))),
        Err(response) => response,
    }
}

/// `PUT /putpassenger/<uuid>`: replaces all eight fields; 200 `null` whether or not the row exists.
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
    match run(&state, caller, &operations::UPDATE_PASSENGER, json!({ "id": id, "input": input })).await {
        Ok(_) => null_response(),
        Err(response) => response,
    }
}

/// `DELETE /deletepassenger/<uuid>`: 200 `null` whether or not the row existed.
pub async fn delete_passenger(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Some(id) = canonical_uuid(&id) else {
        return not_found();
    };
    match run(&state, state.tokens.caller_from(&headers), &operations::DELETE_PASSENGER, json!({ "id": id })).await {
        Ok(_) => null_response(),
        Err(response) => response,
    }
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
