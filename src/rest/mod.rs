//! The REST compatibility shim: the seven routes of the legacy Flask service.
//!
//! A thin translation layer. Each handler matches the legacy path and method, parses the legacy
//! body leniently into GraphQL variables ([`body`]), runs one of the committed operations in
//! `operations/` against the same schema `/graphql` serves, and writes the legacy bytes
//! ([`legacy_json`], [`pages`]) with the legacy status codes. There is no SQL and no business
//! rule here.

pub mod body;
pub mod handlers;
pub mod legacy_json;
pub mod list;
pub mod openapi;
pub mod operations;
pub mod pages;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};

use crate::state::AppState;

/// `Allow` of the legacy GET routes.
pub const ALLOW_GET: &str = "GET, HEAD, OPTIONS";
/// `Allow` of the legacy POST route.
pub const ALLOW_POST: &str = "OPTIONS, POST";
/// `Allow` of the legacy PUT route.
pub const ALLOW_PUT: &str = "OPTIONS, PUT";
/// `Allow` of the legacy DELETE route.
pub const ALLOW_DELETE: &str = "DELETE, OPTIONS";

/// The legacy routes that need no database (and the OpenAPI document describing them all).
pub fn static_router() -> Router<AppState> {
    Router::new()
        .route("/hello", legacy(get(handlers::hello), ALLOW_GET, false))
        .route("/zero", legacy(get(handlers::zero), ALLOW_GET, false))
        .route("/openapi.json", get(handlers::openapi))
}

/// The database gate for the legacy routes: the legacy-style 503 page while the database is
/// down.
pub async fn database_gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    crate::http::guard::database_gate(&state, request, next, unavailable).await
}

/// The legacy routes backed by the database.
pub fn database_router() -> Router<AppState> {
    Router::new()
        .route("/passengerlist", legacy(get(list::list_passengers), ALLOW_GET, false))
        .route("/getpassenger/{id}", legacy(get(handlers::get_passenger), ALLOW_GET, true))
        .route("/postpassenger", legacy(post(handlers::post_passenger), ALLOW_POST, false))
        .route("/putpassenger/{id}", legacy(put(handlers::put_passenger), ALLOW_PUT, true))
        .route("/deletepassenger/{id}", legacy(delete(handlers::delete_passenger), ALLOW_DELETE, true))
}

/// Adds the legacy OPTIONS answer and the legacy 405 for every other method. With a uuid in
/// the path, OPTIONS checks it (404 when malformed) while a wrong method is 405 regardless,
/// as in the legacy service.
fn legacy(route: MethodRouter<AppState>, allow: &'static str, has_uuid: bool) -> MethodRouter<AppState> {
    let options = move |path: axum::extract::RawPathParams| async move {
        let uuid_ok = !has_uuid || path.iter().all(|(_, v)| handlers::canonical_uuid(v).is_some());
        if uuid_ok { options_response(allow) } else { not_found() }
    };
    route.options(options).fallback(move || async move { method_not_allowed(allow) })
}

fn html(status: StatusCode, body: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], body.into())
        .into_response()
}

/// The legacy 404 page; also the answer for every unknown path.
pub fn not_found() -> Response {
    html(StatusCode::NOT_FOUND, pages::NOT_FOUND)
}

/// The legacy 405 page with its `Allow` header.
pub fn method_not_allowed(allow: &'static str) -> Response {
    let mut response = html(StatusCode::METHOD_NOT_ALLOWED, pages::METHOD_NOT_ALLOWED);
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

fn options_response(allow: &'static str) -> Response {
    let mut response = html(StatusCode::OK, "");
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// A legacy JSON response: exact bytes, `Content-Type: application/json` without charset.
pub fn legacy_json(status: StatusCode, bytes: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response()
}

/// The legacy 400 page naming the problem.
pub fn bad_request(message: &str) -> Response {
    html(StatusCode::BAD_REQUEST, pages::bad_request(message))
}

/// A page in the legacy skeleton for `status`, naming the problem.
pub fn page(status: StatusCode, message: &str) -> Response {
    html(status, pages::page(status.as_u16(), status.canonical_reason().unwrap_or(""), message))
}

/// The legacy 400 page for a body that is not JSON.
pub fn malformed() -> Response {
    html(StatusCode::BAD_REQUEST, pages::BAD_REQUEST)
}

/// The legacy 415 page.
pub fn unsupported_media_type() -> Response {
    html(StatusCode::UNSUPPORTED_MEDIA_TYPE, pages::UNSUPPORTED_MEDIA_TYPE)
}

/// The legacy 500 page.
pub fn internal_error() -> Response {
    html(StatusCode::INTERNAL_SERVER_ERROR, pages::INTERNAL_SERVER_ERROR)
}

/// 401 in the legacy style, for a write without a valid token.
pub fn unauthorized() -> Response {
    let mut response = html(StatusCode::UNAUTHORIZED, pages::UNAUTHORIZED);
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// 403 in the legacy style: strict mode and the route's operation is not on the allow-list.
pub fn forbidden() -> Response {
    html(StatusCode::FORBIDDEN, pages::FORBIDDEN)
}

/// 503 in the legacy style, for a database that cannot be reached or a request past its time
/// limit.
pub fn unavailable() -> Response {
    html(StatusCode::SERVICE_UNAVAILABLE, pages::SERVICE_UNAVAILABLE)
}
