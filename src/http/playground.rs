//! `GET /playground/{file}`: the GraphiQL and React bundles of the offline playground.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// `GET /playground/{file}`: one of the bundles.
pub async fn asset(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    match state.playground.file(&file) {
        Some((content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
            ],
            bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
