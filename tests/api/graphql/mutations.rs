//! Mutations and their validation: nothing is written when an input is invalid.

use serde_json::{Value, json};

use super::{FIELDS, Gql, code, input};

const CREATE: &str = "mutation($i: PassengerInput!) { createPassenger(input: $i) { id survived passengerClass name sex age siblingsOrSpousesAboard parentsOrChildrenAboard fare } }";

async fn create(gql: &Gql, name: &str) -> Value {
    gql.data(CREATE, json!({ "i": input(name) })).await["createPassenger"].clone()
}

#[tokio::test]
async fn create_passenger_stores_and_returns_the_row_with_a_new_id() {
    let gql = Gql::new().await;
    let created = create(&gql, "Zoë Ångström 🚢").await;
    let mut expected = input("Zoë Ångström 🚢");
    expected["id"] = created["id"].clone();
    assert_eq!(created, expected);
    let fetched = gql
        .data(&format!("query($id: UUID!) {{ passenger(id: $id) {{ {FIELDS} }} }}"), json!({ "id": created["id"] }))
        .await;
    assert_eq!(fetched["passenger"], created);
}

#[tokio::test]
async fn create_passenger_with_omitted_fields_stores_nulls() {
    let gql = Gql::new().await;
    let data = gql
        .data(r#"mutation { createPassenger(input: { name: "Only Name" }) { name age survived fare } }"#, json!({}))
        .await;
    assert_eq!(data["createPassenger"], json!({ "name": "Only Name", "age": null, "survived": null, "fare": null }));
}

#[tokio::test]
async fn invalid_inputs_are_bad_user_input_errors_naming_the_field_and_write_nothing() {
    let gql = Gql::new().await;
    let cases = [
        ("name", json!("x".repeat(151)), "name: must be at most 150 characters, got 151"),
        ("sex", json!("unknown"), "sex: must be at most 6 characters, got 7"),
    ];
    for (field, value, message) in cases {
        let mut i = input("Invalid");
        i[field] = value;
        let error = gql.error(CREATE, json!({ "i": i })).await;
        assert_eq!(code(&error), "BAD_USER_INPUT");
        assert_eq!(error["message"], message);
        assert_eq!(error["extensions"]["field"], field);
    }
    let mut i = input("Too Big");
    i["passengerClass"] = json!(2_147_483_648_i64);
    let error = gql.error(CREATE, json!({ "i": i })).await;
    assert_eq!(code(&error), "BAD_USER_INPUT", "{error}");
    assert!(error["message"].as_str().unwrap().contains("passengerClass"), "{error}");
    let mut i = input("Exactly 150");
    i["name"] = json!("é".repeat(150));
    gql.data(CREATE, json!({ "i": i })).await;
    assert_eq!(gql.count().await, 1, "only the valid row was written");
}

#[tokio::test]
async fn create_passengers_is_all_or_nothing() {
    let gql = Gql::new().await;
    let mut bad = input("Bad");
    bad["sex"] = json!("toolong");
    let error = gql
        .error(
            "mutation($i: [PassengerInput!]!) { createPassengers(inputs: $i) { id } }",
            json!({ "i": [input("A"), bad] }),
        )
        .await;
    assert_eq!(code(&error), "BAD_USER_INPUT");
    assert_eq!(error["extensions"]["field"], "inputs[1].sex");
    assert_eq!(gql.count().await, 0);

    let data = gql
        .data(
            "mutation($i: [PassengerInput!]!) { createPassengers(inputs: $i) { name } }",
            json!({ "i": [input("A"), input("B"), input("C")] }),
        )
        .await;
    assert_eq!(data["createPassengers"], json!([{ "name": "A" }, { "name": "B" }, { "name": "C" }]));
    let list = gql.data("{ passengers { nodes { name } } }", json!({})).await;
    assert_eq!(list["passengers"]["nodes"], json!([{ "name": "A" }, { "name": "B" }, { "name": "C" }]));
}

#[tokio::test]
async fn update_passenger_replaces_every_field_and_is_null_for_unknown_ids() {
    let gql = Gql::new().await;
    let created = create(&gql, "Before").await;
    let data = gql
        .data(
            "mutation($id: UUID!) { updatePassenger(id: $id, input: { name: \"After\", age: 3 }) { id name age sex survived } }",
            json!({ "id": created["id"] }),
        )
        .await;
    assert_eq!(
        data["updatePassenger"],
        json!({ "id": created["id"], "name": "After", "age": 3.0, "sex": null, "survived": null })
    );
    let data = gql
        .data(
            "mutation { updatePassenger(id: \"00000000-0000-0000-0000-000000000000\", input: { name: \"X\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(data["updatePassenger"], Value::Null);
    assert_eq!(gql.count().await, 1);
}

#[tokio::test]
async fn patch_passenger_changes_only_given_fields_and_explicit_null_clears() {
    let gql = Gql::new().await;
    let created = create(&gql, "Patch Me").await;
    let patch =
        "mutation($id: UUID!, $p: PassengerPatch!) { patchPassenger(id: $id, patch: $p) { name age fare sex } }";
    let data = gql.data(patch, json!({ "id": created["id"], "p": { "age": 40.5, "fare": null } })).await;
    assert_eq!(data["patchPassenger"], json!({ "name": "Patch Me", "age": 40.5, "fare": null, "sex": "male" }));
    let data = gql.data(patch, json!({ "id": created["id"], "p": {} })).await;
    assert_eq!(data["patchPassenger"], json!({ "name": "Patch Me", "age": 40.5, "fare": null, "sex": "male" }));
    let error = gql.error(patch, json!({ "id": created["id"], "p": { "name": "y".repeat(151) } })).await;
    assert_eq!(error["extensions"]["field"], "name");
    let data = gql.data(patch, json!({ "id": "00000000-0000-0000-0000-000000000000", "p": { "age": 1 } })).await;
    assert_eq!(data["patchPassenger"], Value::Null);
}

#[tokio::test]
async fn delete_passenger_says_whether_a_row_was_deleted() {
    let gql = Gql::new().await;
    let created = create(&gql, "Delete Me").await;
    let delete = "mutation($id: UUID!) { deletePassenger(id: $id) }";
    assert_eq!(gql.data(delete, json!({ "id": created["id"] })).await, json!({ "deletePassenger": true }));
    assert_eq!(gql.data(delete, json!({ "id": created["id"] })).await, json!({ "deletePassenger": false }));
    assert_eq!(gql.count().await, 0);
}
