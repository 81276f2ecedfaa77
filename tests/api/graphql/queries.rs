//! Lookups by id.

use serde_json::json;

use super::{FIELDS, Gql};

#[tokio::test]
async fn passenger_returns_every_field_of_a_seeded_row() {
    let gql = Gql::seeded().await;
    let first = gql.data("{ passengers(first: 1) { nodes { id } } }", json!({})).await;
    let id = first["passengers"]["nodes"][0]["id"].clone();
    let data =
        gql.data(&format!("query($id: UUID!) {{ passenger(id: $id) {{ {FIELDS} }} }}"), json!({ "id": id })).await;
    assert_eq!(
        data["passenger"],
        json!({
            "id": id, "survived": false, "passengerClass": 3, "name": "Mr. Owen Harris Braund", "sex": "male",
            "age": 22.0, "siblingsOrSpousesAboard": 1, "parentsOrChildrenAboard": 0, "fare": 7.25
        })
    );
}

#[tokio::test]
async fn passenger_is_null_for_an_unknown_id() {
    let gql = Gql::seeded().await;
    let data = gql.data(r#"{ passenger(id: "00000000-0000-0000-0000-000000000000") { id } }"#, json!({})).await;
    assert_eq!(data, json!({ "passenger": null }));
}

#[tokio::test]
async fn passenger_with_a_malformed_id_is_a_bad_user_input_error() {
    let gql = Gql::seeded().await;
    let error = gql.error("query($id: UUID!) { passenger(id: $id) { id } }", json!({ "id": "not-a-uuid" })).await;
    assert_eq!(super::code(&error), "BAD_USER_INPUT", "{error}");
}

#[tokio::test]
async fn passengers_by_ids_keeps_the_order_asked_and_gives_null_for_unknown_ids() {
    let gql = Gql::seeded().await;
    let page = gql.data("{ passengers(first: 3) { nodes { id name } } }", json!({})).await;
    let nodes = page["passengers"]["nodes"].as_array().unwrap().clone();
    let unknown = "00000000-0000-0000-0000-000000000001";
    let ids = json!([nodes[2]["id"], unknown, nodes[0]["id"], nodes[2]["id"]]);
    let data =
        gql.data("query($ids: [UUID!]!) { passengersByIds(ids: $ids) { id name } }", json!({ "ids": ids })).await;
    assert_eq!(data["passengersByIds"], json!([nodes[2], null, nodes[0], nodes[2]]));
}
