//! Middleware around every request: request id, one log line, metrics, load shedding, rate
//! limiting, and a fast 503 while the database is known to be down.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// Header carrying the request id, taken from the client or generated, and echoed.
pub const REQUEST_ID: &str = "x-request-id";

/// Logs and measures every request, and tags it with a request id.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "<unmatched>".to_owned(), |p| p.as_str().to_owned());
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
    state.metrics.http(&route, &method, status, elapsed);
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

/// Answers database-backed routes with an immediate 503 while the health check finds the
/// database down, instead of letting each request wait for a connection.
pub async fn database_gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.health.database_up() {
        let in_flight = &state.metrics.db_requests_in_flight;
        in_flight.fetch_add(1, Ordering::Relaxed);
        let response = next.run(request).await;
        in_flight.fetch_sub(1, Ordering::Relaxed);
        return response;
    }
    let is_graphql = request.uri().path().starts_with("/graphql");
    if is_graphql {
        let body = r#"{"errors":[{"message":"the database is unavailable; retry later","extensions":{"code":"SERVICE_UNAVAILABLE"}}]}"#;
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8"), (header::RETRY_AFTER, "1")],
            body,
        )
            .into_response()
    } else {
        let mut response = crate::rest::unavailable();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    }
}

/// A token bucket per client.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` requests per second with bursts of `burst`.
    pub fn new(rate: f64, burst: u32) -> Self {
        Self { rate, burst: f64::from(burst.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token for `client`; on refusal, how long until one is available.
    pub fn check(&self, client: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > 100_000 {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, (tokens, at)| *tokens + at.elapsed().as_secs_f64() * rate < burst);
        }
        let (tokens, at) = buckets.entry(client.to_owned()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.rate))
        }
    }
}

/// Applies the per-client rate limit (clients are told apart by token, else by IP).
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(limiter) = &state.limiter else { return next.run(request).await };
    let client = match request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(auth) => format!("token:{}", crate::graphql::documents::sha256_hex(auth)),
        None => request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |c| format!("ip:{}", c.0.ip())),
    };
    match limiter.check(&client) {
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
