//! The GraphQL schema: the one place where the API's behaviour lives.
//!
//! [`build_schema`] has no side effects, so the server, the REST shim, the tests and the SDL
//! export (`passenger-api schema`) all build the very same schema.

pub mod loaders;
pub mod query;
pub mod types;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};
use sea_orm::DatabaseConnection;

use crate::config::Config;

pub use loaders::PassengerLoader;

/// The schema type served at `/graphql`.
pub type AppSchema = Schema<query::QueryRoot, EmptyMutation, EmptySubscription>;

/// Builds the schema with the limits from `config`; `db` is what resolvers query.
pub fn build_schema(db: DatabaseConnection, config: &Config) -> AppSchema {
    let mut builder = Schema::build(query::QueryRoot::default(), EmptyMutation, EmptySubscription)
        .data(db)
        .limit_depth(config.graphql_max_depth)
        .limit_complexity(config.graphql_max_complexity);
    if config.disable_introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    let config = Config::with_database_url(crate::config::DEFAULT_DATABASE_URL);
    build_schema(DatabaseConnection::default(), &config).sdl()
}
