//! Issue 18: Relay global object identification — `Node`, `nodeId`, `node` and `nodes`.

use std::sync::atomic::Ordering;

use base64::Engine as _;
use passenger_api::config::Config;
use passenger_api::graphql::access::Caller;
use passenger_api::graphql::{Call, Executor, Transport, build_schema};
use serde_json::{Value, json};

use super::{Gql, code, input};
use crate::helpers::{TestDb, counting_selects, titanic_rows};

const FIELDS: &str = "id nodeId name version";

#[tokio::test]
async fn node_and_nodes_round_trip_every_passengers_node_id() {
    let gql = Gql::seeded().await;
    let list = gql.data(&format!("{{ passengers(first: 1000) {{ nodes {{ {FIELDS} }} }} }}"), json!({})).await;
    let passengers = list["passengers"]["nodes"].as_array().unwrap().clone();
    assert_eq!(passengers.len(), 887);
    // The fast path and the field-by-field resolver give the same global ids.
    let one = gql
        .data(
            &format!("query($id: UUID!) {{ passenger(id: $id) {{ {FIELDS} }} }}"),
            json!({ "id": passengers[0]["id"] }),
        )
        .await;
    assert_eq!(one["passenger"], passengers[0]);
    let ids: Vec<&Value> = passengers.iter().map(|p| &p["nodeId"]).collect();
    let unique: std::collections::HashSet<&str> = ids.iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(unique.len(), 887, "global ids are unique");
    for chunk in ids.chunks(300) {
        let data = gql
            .data(
                &format!("query($ids: [ID!]!) {{ nodes(nodeIds: $ids) {{ __typename nodeId ... on Passenger {{ {FIELDS} }} }} }}"),
                json!({ "ids": chunk }),
            )
            .await;
        for (asked, got) in chunk.iter().zip(data["nodes"].as_array().unwrap()) {
            assert_eq!(&got["nodeId"], *asked);
            assert_eq!(got["__typename"], "Passenger");
            let original = passengers.iter().find(|p| &p["nodeId"] == *asked).unwrap();
            assert_eq!(got["id"], original["id"]);
            assert_eq!(got["name"], original["name"]);
        }
    }
    for p in passengers.iter().step_by(97) {
        let data = gql
            .data(
                "query($id: ID!) { node(nodeId: $id) { nodeId ... on Passenger { id name version } } }",
                json!({ "id": p["nodeId"] }),
            )
            .await;
        assert_eq!(data["node"]["id"], p["id"]);
        assert_eq!(data["node"]["nodeId"], p["nodeId"]);
    }
}

#[tokio::test]
async fn malformed_foreign_and_unknown_ids_behave_as_documented() {
    let gql = Gql::seeded().await;
    let q = "query($id: ID!) { node(nodeId: $id) { nodeId } }";
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    // Not a global id at all: a BAD_USER_INPUT error naming the argument.
    for bad in ["", "%%%", "1b0e0a3c-0000-0000-0000-000000000000", &b64("no-colon"), &b64("Passenger:not-a-uuid")] {
        let error = gql.error(q, json!({ "id": bad })).await;
        assert_eq!(code(&error), "BAD_USER_INPUT", "{bad:?}: {error}");
        assert!(error["message"].as_str().unwrap().starts_with("nodeId:"), "{error}");
    }
    // Another type's id, or a passenger that does not exist: null, as Relay expects.
    for none in [b64("Ship:1"), b64(&format!("Passenger:{}", uuid::Uuid::new_v4()))] {
        assert_eq!(gql.data(q, json!({ "id": none })).await["node"], Value::Null);
    }
    let known =
        gql.data("{ passengers(first: 1) { nodes { nodeId } } }", json!({})).await["passengers"]["nodes"][0]["nodeId"]
            .clone();
    let data = gql
        .data(
            "query($ids: [ID!]!) { nodes(nodeIds: $ids) { nodeId } }",
            json!({ "ids": [b64("Ship:1"), known, b64(&format!("Passenger:{}", uuid::Uuid::new_v4()))] }),
        )
        .await;
    assert_eq!(data["nodes"], json!([null, { "nodeId": known }, null]));
    let error =
        gql.error("query($ids: [ID!]!) { nodes(nodeIds: $ids) { nodeId } }", json!({ "ids": [known, "%%%"] })).await;
    assert_eq!(code(&error), "BAD_USER_INPUT");
    assert!(error["message"].as_str().unwrap().starts_with("nodeIds[1]:"), "{error}");
    // Bounded like passengersByIds.
    let many: Vec<Value> = (0..1001).map(|_| known.clone()).collect();
    let error = gql.error("query($ids: [ID!]!) { nodes(nodeIds: $ids) { nodeId } }", json!({ "ids": many })).await;
    assert_eq!(code(&error), "BAD_USER_INPUT");
}

#[tokio::test]
async fn one_hundred_node_lookups_in_one_request_cost_one_select() {
    let test_db = TestDb::new().await;
    let db = test_db.migrated().await;
    passenger_api::seed::insert(&db, titanic_rows(), false).await.unwrap();
    let config = Config::with_database_url(&test_db.url);
    let plain = Executor::standalone(
        build_schema(db.clone(), passenger_api::service::events::Events::new(8), &config),
        &config,
    );
    let call = Call::new(Caller::TRUSTED, Transport::Post);
    let listed =
        plain.execute(async_graphql::Request::new("{ passengers(first: 100) { nodes { id nodeId } } }"), call).await;
    let nodes = listed.response.data.into_json().unwrap()["passengers"]["nodes"].as_array().unwrap().clone();

    let (counted, statements) = counting_selects(&test_db).await;
    let executor =
        Executor::standalone(build_schema(counted, passenger_api::service::events::Events::new(8), &config), &config);
    let fields: String = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| format!("n{i}: node(nodeId: {}) {{ nodeId ... on Passenger {{ id name }} }}\n", n["nodeId"]))
        .collect();
    let response = executor.execute(async_graphql::Request::new(format!("{{ {fields} }}")), call).await.response;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().unwrap();
    for (i, n) in nodes.iter().enumerate() {
        assert_eq!(data[format!("n{i}")]["id"], n["id"]);
    }
    assert_eq!(statements.load(Ordering::SeqCst), 1, "100 node lookups, one SELECT");
}

#[tokio::test]
async fn mutation_payloads_carry_the_same_node_id() {
    let gql = Gql::new().await;
    let created = gql
        .data(
            "mutation($input: PassengerInput!) { createPassenger(input: $input) { id nodeId } }",
            json!({ "input": input("Relay") }),
        )
        .await;
    let node_id = created["createPassenger"]["nodeId"].clone();
    let again = gql
        .data("query($id: ID!) { node(nodeId: $id) { nodeId ... on Passenger { id } } }", json!({ "id": node_id }))
        .await;
    assert_eq!(again["node"]["id"], created["createPassenger"]["id"]);
    let patched = gql
        .data(
            "mutation($id: UUID!) { patchPassenger(id: $id, patch: { fare: 1.5 }) { nodeId } }",
            json!({ "id": created["createPassenger"]["id"] }),
        )
        .await;
    assert_eq!(patched["patchPassenger"]["nodeId"], node_id);
}
