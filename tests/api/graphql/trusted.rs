//! Which documents skip async-graphql's full validation: only the REST shim's, and only once
//! their text has passed it. A client's document is validated in full on every request.

use passenger_api::config::Config;
use passenger_api::graphql::access::Caller;
use passenger_api::graphql::{Call, Executor, Outcome, Schemas, Transport};
use serde_json::{Value, json};

use super::code;
use crate::helpers::TestDb;

const QUERY: &str = "query Page($first: Int) { passengers(first: $first) { nodes { id } } }";

/// Runs `QUERY` over `transport` with `first` as its variable: the outcome and the response.
async fn page(executor: &Executor, transport: Transport, first: Value) -> (Outcome, Value) {
    let request = async_graphql::Request::new(QUERY)
        .operation_name("Page")
        .variables(async_graphql::Variables::from_json(json!({ "first": first })));
    let executed = executor.execute(request, Call::new(Caller::TRUSTED, transport)).await;
    (executed.outcome, serde_json::to_value(&executed.response).unwrap())
}

#[tokio::test]
async fn only_validated_shim_documents_skip_full_validation() {
    let test_db = TestDb::new().await;
    let db = test_db.migrated().await;
    let config = Config::with_database_url(&test_db.url);
    let schemas = Schemas::build(db.clone(), passenger_api::service::events::Events::new(8), &config);
    let executor = Executor::standalone(schemas, &config);

    // A document never seen: validated in full on every transport, the shim's included, so a
    // variable of the wrong type is a validation error before anything runs.
    for transport in [Transport::Rest, Transport::Post] {
        let (outcome, response) = page(&executor, transport, json!("many")).await;
        assert_eq!(outcome, Outcome::Rejected, "{transport:?}: {response:#}");
        assert_eq!(code(&response["errors"][0]), "GRAPHQL_VALIDATION_FAILED", "{response:#}");
    }

    // It validates once, with a proper value, and is remembered.
    let (outcome, response) = page(&executor, Transport::Post, json!(2)).await;
    assert_eq!(outcome, Outcome::Executed, "{response:#}");
    assert_eq!(response["data"], json!({ "passengers": { "nodes": [] } }));

    // A client sending it again is still validated in full.
    let (outcome, response) = page(&executor, Transport::Post, json!("many")).await;
    assert_eq!(outcome, Outcome::Rejected, "{response:#}");
    assert_eq!(code(&response["errors"][0]), "GRAPHQL_VALIDATION_FAILED", "{response:#}");

    // The shim's call runs on the trusted schema: its variables are its own, and a wrong one
    // would only be caught where the argument is read (a field error, no statement run).
    let (outcome, response) = page(&executor, Transport::Rest, json!("many")).await;
    assert_eq!(outcome, Outcome::Executed, "{response:#}");
    assert_eq!(response["data"], Value::Null, "{response:#}");
    assert_eq!(code(&response["errors"][0]), "BAD_USER_INPUT", "{response:#}");
    let (outcome, response) = page(&executor, Transport::Rest, json!(2)).await;
    assert_eq!(outcome, Outcome::Executed, "{response:#}");
    assert_eq!(response, json!({ "data": { "passengers": { "nodes": [] } } }));
}
