//! The GraphQL schema: the one place where the API's behaviour lives.
//!
//! [`build_schema`] has no side effects, so the server, the REST shim, the tests and the SDL
//! export (`passenger-api schema`) all build the very same schema. [`execute`] is the one way
//! in: it runs a request and makes sure every error carries `extensions.code`.

pub mod access;
pub mod documents;
pub mod error;
pub mod inputs;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod subscription;
pub mod types;

use std::sync::Arc;

use async_graphql::{Request, Response, Schema, Value};
use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::service::events::Events;

pub use loaders::PassengerLoader;

/// The schema type served at `/graphql`.
pub type AppSchema = Schema<query::QueryRoot, mutation::MutationRoot, subscription::SubscriptionRoot>;

/// Settings resolvers read from the schema data.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Largest page (`first`/`last`), id list or batch of inputs.
    pub max_page_size: u64,
}

/// Builds the schema with the limits from `config`; `db` is what resolvers query, `events`
/// where writes are announced and subscriptions listen.
pub fn build_schema(db: DatabaseConnection, events: Events, config: &Config) -> AppSchema {
    let slots = subscription::SubscriptionSlots(Arc::new(tokio::sync::Semaphore::new(config.max_subscriptions)));
    let mut builder = Schema::build(
        query::QueryRoot::default(),
        mutation::MutationRoot::default(),
        subscription::SubscriptionRoot::default(),
    )
    .data(PassengerLoader::new_data_loader(db.clone()))
    .data(db)
    .data(events)
    .data(slots)
    .data(Settings { max_page_size: u64::from(config.max_page_size) })
    .limit_depth(config.graphql_max_depth)
    .limit_complexity(config.graphql_max_complexity)
    .extension(access::AccessControl { enforced: config.tokens_configured() })
    .extension(limits::FieldLimit { max: config.graphql_max_fields });
    if config.disable_introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    let config = Config::with_database_url(crate::config::DEFAULT_DATABASE_URL);
    build_schema(DatabaseConnection::default(), Events::new(1), &config).sdl()
}

/// `extensions.code` of a document that does not parse.
pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
/// `extensions.code` of a document that breaks a validation rule or a limit.
pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

/// Whether a response failed before execution (parse, validation, limits): no data at all.
pub fn is_request_error(response: &Response) -> bool {
    response.data == Value::Null && !response.errors.is_empty() && response.errors.iter().all(|e| e.path.is_empty())
}

/// `ok`, or the code of the first error of `response` (for metrics).
pub fn outcome(response: &Response) -> &str {
    match response.errors.first().and_then(|e| e.extensions.as_ref()).and_then(|x| x.get("code")) {
        Some(Value::String(code)) => code.as_str(),
        Some(_) => "UNKNOWN",
        None if response.errors.is_empty() => "ok",
        None => "UNKNOWN",
    }
}

/// Executes `request` against `schema`. Errors raised by async-graphql itself get a code:
/// `GRAPHQL_VALIDATION_FAILED` before execution, `BAD_USER_INPUT` for arguments that fail to
/// coerce during execution.
pub async fn execute(schema: &AppSchema, request: Request) -> Response {
    let mut response = schema.execute(request).await;
    let request_error = is_request_error(&response);
    for err in &mut response.errors {
        let has_code = err.extensions.as_ref().is_some_and(|x| x.get("code").is_some());
        if !has_code {
            let code = if request_error { GRAPHQL_VALIDATION_FAILED } else { error::BAD_USER_INPUT };
            err.extensions.get_or_insert_with(Default::default).set("code", code);
        }
    }
    response
}
