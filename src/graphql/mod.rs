//! The GraphQL schema: the one place where the API's behaviour lives.
//!
//! [`build_schema`] has no side effects, so the server, the REST shim, the tests and the SDL
//! export (`passenger-api schema`) all build the very same schema (the server builds it as
//! [`Schemas`]: twice over the same data, differing only in how documents are validated).
//! [`executor::Executor`] is the one way in: every transport runs its operations through it
//! (see that module for what happens to an operation, step by step).

pub mod access;
pub mod columns;
pub mod cost;
pub mod documents;
pub mod error;
pub mod executor;
pub mod fast;
pub mod global_id;
pub mod inputs;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod node;
pub mod query;
pub mod ranges;
pub mod subscription;
pub mod types;

use std::sync::Arc;

use async_graphql::{Schema, ValidationMode};
use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::db::Db;
use crate::service::events::Events;
use crate::service::group::CreateQueue;

pub use executor::{Call, Executed, Executor, Kind, Outcome, Transport};
pub use fast::Encoding;
pub use loaders::PassengerLoader;

/// The schema type served at `/graphql`.
pub type AppSchema = Schema<query::QueryRoot, mutation::MutationRoot, subscription::SubscriptionRoot>;

/// Settings resolvers read from the schema data.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Largest page (`first`/`last`), id list or batch of inputs.
    pub max_page_size: u64,
    /// Resolve lists of passengers in one step (see [`fast`]); `false` resolves them field by
    /// field through async-graphql, which the property test compares against.
    pub fast_lists: bool,
}

/// Refuses a list argument `field` of `len` items (`noun`) longer than the maximum page size.
pub(crate) fn check_list_len(
    ctx: &async_graphql::Context<'_>,
    field: &str,
    noun: &str,
    len: usize,
) -> async_graphql::Result<()> {
    let max = ctx.data::<Settings>()?.max_page_size;
    if len as u64 > max {
        return Err(error::bad_input(field, format!("must hold at most {max} {noun}, got {len}")));
    }
    Ok(())
}

/// Builds the schema with the limits from `config`; `db` is what resolvers query, `events`
/// where writes are announced and subscriptions listen.
pub fn build_schema(db: impl Into<Db>, events: Events, config: &Config) -> AppSchema {
    build_schema_with(db.into(), events, config, true)
}

/// [`build_schema`], choosing how lists of passengers are resolved (tests compare both).
pub fn build_schema_with(db: Db, events: Events, config: &Config, fast_lists: bool) -> AppSchema {
    Shared::new(db, events, config, fast_lists).schema(ValidationMode::Strict)
}

/// The schema twice over the same data (the same loaders, so lookups still batch across both):
/// what the server runs.
#[derive(Clone)]
pub struct Schemas {
    /// Validates every document in full: every client's document runs here.
    pub checked: AppSchema,
    /// async-graphql's fast validation (fragment cycles, cost and depth only): for the REST
    /// shim's committed operations once their text has passed `checked`'s full validation, run
    /// with variables the shim built from input it has already checked. Validating the same
    /// committed document in full on every legacy request was a sixth of a lookup's CPU.
    pub trusted: AppSchema,
}

impl Schemas {
    /// [`build_schema`]'s schema, and its trusted twin.
    pub fn build(db: impl Into<Db>, events: Events, config: &Config) -> Self {
        let shared = Shared::new(db.into(), events, config, true);
        Self { checked: shared.schema(ValidationMode::Strict), trusted: shared.schema(ValidationMode::Fast) }
    }
}

impl From<AppSchema> for Schemas {
    /// One schema for both roles: every document validated in full.
    fn from(schema: AppSchema) -> Self {
        Self { trusted: schema.clone(), checked: schema }
    }
}

/// The data every schema over one database shares.
struct Shared {
    passengers: loaders::Passengers,
    namesakes: loaders::Namesakes,
    db: Db,
    /// SQLite's group commit of single creates (none on PostgreSQL, whose writers commit side
    /// by side).
    creates: Option<CreateQueue>,
    events: Events,
    slots: subscription::SubscriptionSlots,
    settings: Settings,
    disable_introspection: bool,
}

impl Shared {
    fn new(db: Db, events: Events, config: &Config, fast_lists: bool) -> Self {
        Self {
            passengers: PassengerLoader::new_data_loader(db.read.clone()),
            namesakes: loaders::NamesakesLoader::new_data_loader(db.read.clone()),
            slots: subscription::SubscriptionSlots(Arc::new(tokio::sync::Semaphore::new(config.max_subscriptions))),
            settings: Settings { max_page_size: u64::from(config.max_page_size), fast_lists },
            disable_introspection: config.disable_introspection,
            creates: is_sqlite(&db.write).then(|| CreateQueue::new(db.write.clone(), events.clone())),
            db,
            events,
        }
    }

    fn schema(&self, validation: ValidationMode) -> AppSchema {
        let mut builder = Schema::build(
            query::QueryRoot::default(),
            mutation::MutationRoot::default(),
            subscription::SubscriptionRoot::default(),
        )
        .data(self.passengers.clone())
        .data(self.namesakes.clone())
        .data(self.db.clone())
        .data(self.events.clone())
        .data(self.slots.clone())
        .data(self.settings)
        .validation_mode(validation);
        if let Some(creates) = &self.creates {
            builder = builder.data(creates.clone());
        }
        // Depth, cost and field counts are judged by the executor, before validation (see
        // `limits` and `cost`); introspection has a bound of its own there.
        if self.disable_introspection {
            builder = builder.disable_introspection();
        }
        builder.finish()
    }
}

/// Whether `db` is an SQLite pool (a disconnected placeholder is not).
fn is_sqlite(db: &DatabaseConnection) -> bool {
    matches!(db.inner, sea_orm::DatabaseConnectionType::SqlxSqlitePoolConnection(_))
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
