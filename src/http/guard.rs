//! Middleware around every request: request id, one log line, metrics, load shedding, rate
//! limiting, and a fast 503 while the database is known to be down.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::limiter::Client;
use crate::state::AppState;

/// Header carrying the request id, taken from the client or generated, and echoed.
pub const REQUEST_ID: &str = "x-request-id";

/// Logs and measures every request, and tags it with a request id.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned);
    let mut response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let route = route.as_deref().unwrap_or("<unmatched>");
    state.metrics.http(route, method.as_str(), status, elapsed);
    tracing::info!(
        request_id = %request_id,
        method = %method,
        route = %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// Sheds load beyond `MAX_CONCURRENT_REQUESTS` with an immediate 503.
pub async fn shed(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Ok(_permit) = state.inflight.clone().try_acquire_owned() else {
        return overloaded();
    };
    next.run(request).await
}

fn overloaded() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
        "overloaded; retry shortly\n",
    )
        .into_response()
}

/// Runs `request` when the database is up (counting it as a database request), or answers
/// `unavailable()` with `Retry-After` at once while the health check finds it down, instead of
/// letting each request wait for a connection.
pub async fn database_gate(state: &AppState, request: Request, next: Next, unavailable: fn() -> Response) -> Response {
    if state.health.database_up() {
        let in_flight = &state.metrics.db_requests_in_flight;
        in_flight.fetch_add(1, Ordering::Relaxed);
        let response = next.run(request).await;
        in_flight.fetch_sub(1, Ordering::Relaxed);
        return response;
    }
    let mut response = unavailable();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// [`database_gate`] for `/graphql`: a GraphQL error with code `SERVICE_UNAVAILABLE`.
pub async fn graphql_gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    database_gate(&state, request, next, graphql_unavailable).await
}

fn graphql_unavailable() -> Response {
    let body = r#"{"errors":[{"message":"the database is unavailable; retry later","extensions":{"code":"SERVICE_UNAVAILABLE"}}]}"#;
    (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body).into_response()
}

/// Applies the per-client rate limit: a client is its verified token, else its address.
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(limiter) = &state.limiter else { return next.run(request).await };
    let authorization = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let token = state.tokens.verified(authorization);
    let address = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    match limiter.check(Client::of(token, address)) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, HeaderValue::from(secs))],
                "too many requests; slow down\n",
            )
                .into_response()
        }
    }
}
