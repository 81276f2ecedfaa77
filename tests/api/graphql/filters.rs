//! Every filter operator, checked against counts computed independently from the CSV.

use passenger_api::service::PassengerData;
use serde_json::{Value, json};

use super::Gql;
use crate::helpers::titanic_rows;

async fn total(gql: &Gql, filter: Value) -> u64 {
    let data = gql
        .data("query($f: PassengerFilter) { passengers(filter: $f, first: 0) { totalCount } }", json!({ "f": filter }))
        .await;
    data["passengers"]["totalCount"].as_u64().unwrap()
}

/// Seeded rows plus one row whose every field is null.
async fn gql_with_a_null_row() -> (Gql, Vec<PassengerData>) {
    let gql = Gql::seeded().await;
    gql.data("mutation { createPassenger(input: {}) { id } }", json!({})).await;
    let mut rows = titanic_rows();
    rows.push(PassengerData::default());
    (gql, rows)
}

async fn check(gql: &Gql, rows: &[PassengerData], filter: Value, expected: impl Fn(&PassengerData) -> bool) {
    let want = rows.iter().filter(|r| expected(r)).count() as u64;
    assert_eq!(total(gql, filter.clone()).await, want, "filter {filter}");
}

#[tokio::test]
async fn string_filters_match_the_csv() {
    let (gql, rows) = gql_with_a_null_row().await;
    let name = |r: &PassengerData| r.name.clone().unwrap_or_default();
    check(&gql, &rows, json!({ "name": { "eq": "Miss. Ellen O'Dwyer" } }), |r| {
        r.name.as_deref() == Some("Miss. Ellen O'Dwyer")
    })
    .await;
    check(&gql, &rows, json!({ "name": { "ne": "Miss. Ellen O'Dwyer" } }), |r| {
        r.name.as_deref() != Some("Miss. Ellen O'Dwyer")
    })
    .await;
    check(&gql, &rows, json!({ "name": { "in": ["Mr. Owen Harris Braund", "Mr. Patrick Dooley", "Nobody"] } }), |r| {
        matches!(r.name.as_deref(), Some("Mr. Owen Harris Braund" | "Mr. Patrick Dooley"))
    })
    .await;
    check(&gql, &rows, json!({ "name": { "in": [] } }), |_| false).await;
    check(&gql, &rows, json!({ "name": { "contains": "O'" } }), |r| r.name.as_ref().is_some_and(|n| n.contains("O'")))
        .await;
    check(&gql, &rows, json!({ "name": { "contains": "mrs." } }), |r| {
        r.name.as_ref().is_some_and(|n| n.contains("mrs."))
    })
    .await;
    check(&gql, &rows, json!({ "name": { "containsInsensitive": "MRS." } }), |r| {
        r.name.as_ref().is_some_and(|n| n.to_lowercase().contains("mrs."))
    })
    .await;
    check(&gql, &rows, json!({ "name": { "startsWith": "Miss." } }), |r| name(r).starts_with("Miss.")).await;
    check(&gql, &rows, json!({ "name": { "contains": "%" } }), |r| name(r).contains('%')).await;
    check(&gql, &rows, json!({ "name": { "isNull": true } }), |r| r.name.is_none()).await;
    check(&gql, &rows, json!({ "sex": { "isNull": false, "eq": "female" } }), |r| r.sex.as_deref() == Some("female"))
        .await;
}

#[tokio::test]
async fn int_filters_match_the_csv() {
    let (gql, rows) = gql_with_a_null_row().await;
    let class = |r: &PassengerData| r.passenger_class;
    check(&gql, &rows, json!({ "passengerClass": { "eq": 1 } }), |r| class(r) == Some(1)).await;
    check(&gql, &rows, json!({ "passengerClass": { "ne": 1 } }), |r| class(r) != Some(1)).await;
    check(&gql, &rows, json!({ "passengerClass": { "in": [1, 2] } }), |r| matches!(class(r), Some(1 | 2))).await;
    check(&gql, &rows, json!({ "passengerClass": { "gt": 1 } }), |r| class(r).is_some_and(|c| c > 1)).await;
    check(&gql, &rows, json!({ "passengerClass": { "gte": 2 } }), |r| class(r).is_some_and(|c| c >= 2)).await;
    check(&gql, &rows, json!({ "passengerClass": { "lt": 3 } }), |r| class(r).is_some_and(|c| c < 3)).await;
    check(&gql, &rows, json!({ "passengerClass": { "lte": 2 } }), |r| class(r).is_some_and(|c| c <= 2)).await;
    check(&gql, &rows, json!({ "passengerClass": { "isNull": true } }), |r| class(r).is_none()).await;
    check(&gql, &rows, json!({ "siblingsOrSpousesAboard": { "gte": 3 } }), |r| {
        r.siblings_or_spouses_aboard.is_some_and(|n| n >= 3)
    })
    .await;
    check(&gql, &rows, json!({ "parentsOrChildrenAboard": { "in": [1, 2] } }), |r| {
        matches!(r.parents_or_children_aboard, Some(1 | 2))
    })
    .await;
}

#[tokio::test]
async fn float_and_boolean_filters_match_the_csv() {
    let (gql, rows) = gql_with_a_null_row().await;
    check(&gql, &rows, json!({ "age": { "eq": 22 } }), |r| r.age == Some(22.0)).await;
    check(&gql, &rows, json!({ "age": { "lt": 1 } }), |r| r.age.is_some_and(|a| a < 1.0)).await;
    check(&gql, &rows, json!({ "age": { "gte": 60, "lte": 70 } }), |r| {
        r.age.is_some_and(|a| (60.0..=70.0).contains(&a))
    })
    .await;
    check(&gql, &rows, json!({ "age": { "gt": 70 } }), |r| r.age.is_some_and(|a| a > 70.0)).await;
    check(&gql, &rows, json!({ "fare": { "gt": 100 } }), |r| r.fare.is_some_and(|f| f > 100.0)).await;
    check(&gql, &rows, json!({ "fare": { "isNull": true } }), |r| r.fare.is_none()).await;
    check(&gql, &rows, json!({ "survived": { "eq": true } }), |r| r.survived == Some(true)).await;
    check(&gql, &rows, json!({ "survived": { "eq": false } }), |r| r.survived == Some(false)).await;
    check(&gql, &rows, json!({ "survived": { "isNull": true } }), |r| r.survived.is_none()).await;
}

#[tokio::test]
async fn and_or_not_combine_with_two_valued_logic() {
    let (gql, rows) = gql_with_a_null_row().await;
    let female = |r: &PassengerData| r.sex.as_deref() == Some("female");
    check(&gql, &rows, json!({ "and": [{ "sex": { "eq": "female" } }, { "passengerClass": { "eq": 1 } }] }), |r| {
        female(r) && r.passenger_class == Some(1)
    })
    .await;
    check(&gql, &rows, json!({ "or": [{ "age": { "lt": 10 } }, { "fare": { "gt": 200 } }] }), |r| {
        r.age.is_some_and(|a| a < 10.0) || r.fare.is_some_and(|f| f > 200.0)
    })
    .await;
    // `not` is the exact complement: the all-null row is counted.
    check(&gql, &rows, json!({ "not": { "sex": { "eq": "female" } } }), |r| !female(r)).await;
    check(&gql, &rows, json!({ "not": { "age": { "gt": 30 } } }), |r| !r.age.is_some_and(|a| a > 30.0)).await;
    check(
        &gql,
        &rows,
        json!({ "not": { "or": [{ "passengerClass": { "eq": 3 } }, { "survived": { "eq": false } }] } }),
        |r| !(r.passenger_class == Some(3) || r.survived == Some(false)),
    )
    .await;
    check(&gql, &rows, json!({ "not": { "passengerClass": { "ne": 2 } } }), |r| r.passenger_class == Some(2)).await;
    check(&gql, &rows, json!({ "sex": { "eq": "male" }, "not": { "not": { "survived": { "eq": true } } } }), |r| {
        r.sex.as_deref() == Some("male") && r.survived == Some(true)
    })
    .await;
    assert_eq!(total(&gql, json!({ "and": [] })).await, rows.len() as u64);
    assert_eq!(total(&gql, json!({ "or": [] })).await, 0);
}

#[tokio::test]
async fn a_filter_applies_to_pages_and_to_their_total() {
    let gql = Gql::seeded().await;
    let data = gql
        .data(
            r#"{ passengers(first: 5, filter: { name: { startsWith: "Rev." } }) { totalCount nodes { name } } }"#,
            json!({}),
        )
        .await;
    let expected: Vec<_> =
        titanic_rows().into_iter().filter_map(|r| r.name).filter(|n| n.starts_with("Rev.")).collect();
    assert_eq!(data["passengers"]["totalCount"], expected.len());
    let got: Vec<_> = data["passengers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, expected.into_iter().take(5).collect::<Vec<_>>());
}

#[tokio::test]
async fn texts_with_nul_characters_match_nothing_and_never_reach_the_database() {
    let gql = Gql::seeded().await;
    let count = |filter: serde_json::Value| {
        let gql = &gql;
        async move {
            let data = gql
                .data("query($f: PassengerFilter) { passengers(filter: $f) { totalCount } }", json!({ "f": filter }))
                .await;
            data["passengers"]["totalCount"].as_u64().unwrap()
        }
    };
    assert_eq!(count(json!({ "name": { "eq": "a\u{0}b" } })).await, 0);
    assert_eq!(count(json!({ "name": { "contains": "\u{0}" } })).await, 0);
    assert_eq!(count(json!({ "sex": { "startsWith": "\u{0}" } })).await, 0);
    assert_eq!(count(json!({ "name": { "ne": "\u{0}" } })).await, 887);
    assert_eq!(count(json!({ "not": { "name": { "containsInsensitive": "x\u{0}" } } })).await, 887);
    assert_eq!(count(json!({ "name": { "in": ["\u{0}", "Mr. Owen Harris Braund"] } })).await, 1);
    let stats = gql.data(r#"{ passengerStats(filter: { sex: { in: ["\u0000"] } }) { count } }"#, json!({})).await;
    assert_eq!(stats["passengerStats"][0]["count"], 0);
}
