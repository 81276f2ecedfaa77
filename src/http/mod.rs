//! The HTTP transport of GraphQL (`/graphql`: POST, GET, WebSocket and the playground) and the
//! operational endpoints (probes, metrics), plus the middleware every request passes.

pub mod graphql;
pub mod guard;
pub mod health;
pub mod metrics;
pub mod playground;
