//! Liveness and readiness probes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::AppState;
use crate::db;

/// `GET /healthz`: 200 while the process serves requests, whatever the database does.
pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

/// `GET /readyz`: 200 when the database answers a query, 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if db::is_ready(&state.db).await {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
    }
}
