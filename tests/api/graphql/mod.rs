//! GraphQL behaviour, tested by executing operations against the schema and comparing JSON;
//! transport behaviour over a real HTTP server.

mod columns;
mod dataloader;
mod fast_path;
mod filters;
mod hostile;
mod limits;
mod mutations;
mod node;
mod pagination;
mod persisted;
mod policy;
mod queries;
mod stats;
mod transport;
mod trusted;

use passenger_api::config::Config;
use passenger_api::graphql::access::Caller;
use passenger_api::graphql::{Call, Executor, Outcome, Transport, build_schema};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use crate::helpers::{TestDb, titanic_rows};

/// A schema over a fresh database, the executor in front of it, plus the database.
pub struct Gql {
    /// The executor every transport uses, over that schema.
    pub executor: Executor,
    /// Its database.
    pub db: DatabaseConnection,
    _test_db: TestDb,
}

impl Gql {
    /// A schema over an empty, migrated database with default settings.
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// Like [`Self::new`] with adjusted settings.
    pub async fn with(configure: impl FnOnce(&mut Config)) -> Self {
        let test_db = TestDb::new().await;
        let db = test_db.migrated().await;
        let mut config = Config::with_database_url(&test_db.url);
        configure(&mut config);
        let schema = build_schema(db.clone(), passenger_api::service::events::Events::new(64), &config);
        Self { executor: Executor::standalone(schema, &config), db, _test_db: test_db }
    }

    /// A schema over the 887 seeded legacy rows.
    pub async fn seeded() -> Self {
        let gql = Self::new().await;
        passenger_api::seed::insert(&gql.db, titanic_rows(), false).await.unwrap();
        gql
    }

    /// Runs `query` with `variables` through the executor, as a trusted caller over POST; the
    /// whole response as JSON (`data` only when the operation ran, as on the wire).
    pub async fn run(&self, query: &str, variables: Value) -> Value {
        let request = async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(variables));
        let call = Call::new(Caller::TRUSTED, Transport::Post);
        let executed = self.executor.execute(request, call).await;
        let mut json = serde_json::to_value(&executed.response).unwrap();
        if executed.outcome != Outcome::Executed {
            json.as_object_mut().unwrap().remove("data");
        }
        json
    }

    /// Runs `query` and returns `data`, failing the test on any error.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let response = self.run(query, variables).await;
        assert!(response.get("errors").is_none(), "unexpected errors: {response:#}");
        response["data"].clone()
    }

    /// Runs `query`, expects exactly one error, and returns it.
    pub async fn error(&self, query: &str, variables: Value) -> Value {
        let response = self.run(query, variables).await;
        let errors = response["errors"].as_array().unwrap_or_else(|| panic!("expected an error: {response:#}"));
        assert_eq!(errors.len(), 1, "{response:#}");
        errors[0].clone()
    }

    /// Number of rows in the table.
    pub async fn count(&self) -> u64 {
        passenger_api::service::passenger::count(&self.db).await.unwrap()
    }
}

/// The `extensions.code` of an error.
pub fn code(error: &Value) -> &str {
    error["extensions"]["code"].as_str().unwrap_or("<none>")
}

/// A full passenger input as JSON.
pub fn input(name: &str) -> Value {
    json!({
        "survived": true, "passengerClass": 2, "name": name, "sex": "male", "age": 27.0,
        "siblingsOrSpousesAboard": 0, "parentsOrChildrenAboard": 0, "fare": 13.0
    })
}

/// The fields of a passenger, for selections.
pub const FIELDS: &str = "id survived passengerClass name sex age siblingsOrSpousesAboard parentsOrChildrenAboard fare";
