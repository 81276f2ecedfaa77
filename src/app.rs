//! The complete router: every route of the service and the middleware around them, composed
//! in one place above the transports (`http` for GraphQL and operations, `rest` for the legacy
//! routes).

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{Router, middleware};

use crate::config::Config;
use crate::http::{self, guard};
use crate::rest;
use crate::state::AppState;

/// The complete router of the service.
pub fn router(state: AppState) -> Router {
    let graphql = Router::new()
        .route("/graphql", get(http::graphql::graphql_get).post(http::graphql::graphql_post))
        .route_layer(middleware::from_fn_with_state(state.clone(), guard::graphql_gate));
    let legacy =
        rest::database_router().route_layer(middleware::from_fn_with_state(state.clone(), rest::database_gate));
    let mut app = Router::new()
        .route("/healthz", get(http::health::healthz))
        .route("/readyz", get(http::health::readyz))
        .route("/metrics", get(http::metrics::metrics))
        .route("/playground/{file}", get(http::playground::asset))
        .merge(graphql)
        .merge(legacy)
        .merge(rest::static_router())
        .fallback(|| async { rest::not_found() })
        .layer(DefaultBodyLimit::max(state.config.body_limit_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), guard::shed))
        .layer(middleware::from_fn_with_state(state.clone(), guard::rate_limit));
    if let Some(cors) = cors(&state.config) {
        app = app.layer(cors);
    }
    app.layer(middleware::from_fn_with_state(state.clone(), guard::observe)).with_state(state)
}

fn cors(config: &Config) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, HeaderValue, Method, header};
    let origins: Vec<HeaderValue> = config
        .cors_allowed_origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                header::IF_MATCH,
                header::IF_NONE_MATCH,
                HeaderName::from_static(guard::REQUEST_ID),
                HeaderName::from_static(crate::idempotency::HEADER),
            ])
            .expose_headers([
                HeaderName::from_static(guard::REQUEST_ID),
                header::ETAG,
                header::RETRY_AFTER,
                HeaderName::from_static(crate::idempotency::REPLAYED),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}
