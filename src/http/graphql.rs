//! `/graphql`: GraphQL over HTTP, and the GraphiQL playground for browsers.

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;
use axum::response::{Html, IntoResponse};

use super::AppState;
use crate::graphql::PassengerLoader;

/// `POST /graphql`: executes a query.
pub async fn graphql_post(State(state): State<AppState>, request: GraphQLRequest) -> GraphQLResponse {
    let request = request
        .into_inner()
        .data(PassengerLoader::new_data_loader(state.db.clone()));
    state.schema.execute(request).await.into()
}

/// `GET /graphql`: the GraphiQL playground.
pub async fn graphql_get() -> impl IntoResponse {
    Html(GraphiQLSource::build().endpoint("/graphql").finish())
}
