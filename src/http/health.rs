//! `/healthz` and `/readyz`: liveness and readiness for orchestrators.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::state::AppState;

/// `GET /healthz`: 200 while the process serves requests, whatever the database does.
pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

/// `GET /readyz`: 200 when the database answers now, the schema is migrated and the service
/// is not shutting down; 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let up = state.health.check_now().await;
    if state.health.ready() {
        (StatusCode::OK, "ready\n")
    } else if state.health.shutting_down() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
    } else if !up {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "migrations pending\n")
    }
}
