//! Relay cursor pagination: forwards, backwards, across inserts, with orderings and ties.

use serde_json::{Value, json};

use super::{Gql, code, input};
use crate::helpers::titanic_rows;

const PAGE: &str = r#"query($first: Int, $after: String, $last: Int, $before: String, $orderBy: [PassengerOrder!], $filter: PassengerFilter) {
  passengers(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy, filter: $filter) {
    edges { cursor node { id name age passengerClass } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"#;

async fn page(gql: &Gql, vars: Value) -> Value {
    gql.data(PAGE, vars).await["passengers"].clone()
}

fn names(page: &Value) -> Vec<String> {
    page["edges"].as_array().unwrap().iter().map(|e| e["node"]["name"].as_str().unwrap_or("").to_owned()).collect()
}

#[tokio::test]
async fn the_default_page_is_the_first_50_in_csv_order() {
    let gql = Gql::seeded().await;
    let data = gql
        .data("{ passengers { totalCount nodes { name } pageInfo { hasNextPage hasPreviousPage } } }", json!({}))
        .await;
    let nodes = data["passengers"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 50);
    let csv: Vec<_> = titanic_rows().into_iter().take(50).map(|r| json!({ "name": r.name })).collect();
    assert_eq!(nodes, &csv);
    assert_eq!(data["passengers"]["totalCount"], 887);
    assert_eq!(data["passengers"]["pageInfo"], json!({ "hasNextPage": true, "hasPreviousPage": false }));
}

#[tokio::test]
async fn paging_forwards_visits_every_row_once_even_with_inserts_between_pages() {
    let gql = Gql::seeded().await;
    let mut seen = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let p = page(&gql, json!({ "first": 100, "after": after })).await;
        seen.extend(names(&p));
        pages += 1;
        if pages == 2 {
            // A write between pages must neither shift nor repeat rows.
            gql.data(
                "mutation($i: PassengerInput!) { createPassenger(input: $i) { id } }",
                json!({ "i": input("Inserted Between Pages") }),
            )
            .await;
        }
        assert_eq!(p["pageInfo"]["hasPreviousPage"], json!(pages > 1));
        if p["pageInfo"]["hasNextPage"] == json!(false) {
            break;
        }
        after = p["pageInfo"]["endCursor"].clone();
    }
    let mut expected: Vec<String> = titanic_rows().into_iter().map(|r| r.name.unwrap()).collect();
    expected.push("Inserted Between Pages".into());
    assert_eq!(seen, expected);
    assert_eq!(pages, 9);
}

#[tokio::test]
async fn paging_backwards_from_the_end_visits_every_row_once() {
    let gql = Gql::seeded().await;
    let mut seen: Vec<String> = Vec::new();
    let mut before = Value::Null;
    loop {
        let p = page(&gql, json!({ "last": 97, "before": before })).await;
        let mut chunk = names(&p);
        chunk.extend(seen);
        seen = chunk;
        if p["pageInfo"]["hasPreviousPage"] == json!(false) {
            break;
        }
        before = p["pageInfo"]["startCursor"].clone();
    }
    let expected: Vec<String> = titanic_rows().into_iter().map(|r| r.name.unwrap()).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn page_info_reports_both_directions_in_the_middle() {
    let gql = Gql::seeded().await;
    let first = page(&gql, json!({ "first": 10 })).await;
    let middle = page(&gql, json!({ "first": 10, "after": first["pageInfo"]["endCursor"] })).await;
    assert_eq!(middle["pageInfo"]["hasNextPage"], true);
    assert_eq!(middle["pageInfo"]["hasPreviousPage"], true);
    let back = page(&gql, json!({ "last": 10, "before": middle["pageInfo"]["startCursor"] })).await;
    assert_eq!(names(&back), names(&first));
    assert_eq!(back["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(back["pageInfo"]["hasNextPage"], true);
}

#[tokio::test]
async fn ordering_with_ties_and_nulls_is_total_and_pages_match_one_big_page() {
    let gql = Gql::seeded().await;
    for name in ["Null Age A", "Null Age B"] {
        let mut i = input(name);
        i["age"] = Value::Null;
        i["passengerClass"] = json!(1);
        gql.data("mutation($i: PassengerInput!) { createPassenger(input: $i) { id } }", json!({ "i": i })).await;
    }
    let order = json!([{ "field": "PASSENGER_CLASS", "direction": "ASC" }, { "field": "AGE", "direction": "DESC" }]);
    let all = page(&gql, json!({ "first": 1000, "orderBy": order })).await;
    let all_nodes: Vec<Value> = all["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
    assert_eq!(all_nodes.len(), 889);

    // Sorted by class ascending, then age descending with nulls first, then id.
    for pair in all_nodes.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let (ca, cb) = (a["passengerClass"].as_i64().unwrap(), b["passengerClass"].as_i64().unwrap());
        assert!(ca <= cb, "class order broken: {a} then {b}");
        if ca == cb {
            match (a["age"].as_f64(), b["age"].as_f64()) {
                (Some(x), Some(y)) => {
                    assert!(x >= y, "age order broken: {a} then {b}");
                    if x == y {
                        assert!(a["id"].as_str() < b["id"].as_str(), "id tie-break broken: {a} then {b}");
                    }
                }
                (None, Some(_)) => {}
                (None, None) => assert!(a["id"].as_str() < b["id"].as_str()),
                (Some(_), None) => panic!("null age must come first in descending order: {a} then {b}"),
            }
        }
    }
    assert_eq!(all_nodes[0]["age"], Value::Null, "nulls first in DESC");

    // Small pages over the same ordering give exactly the same sequence.
    let mut paged = Vec::new();
    let mut after = Value::Null;
    loop {
        let p = page(&gql, json!({ "first": 37, "after": after, "orderBy": order })).await;
        paged.extend(p["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()));
        if p["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = p["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(paged, all_nodes);
}

#[tokio::test]
async fn page_sizes_over_the_cap_or_negative_are_bad_user_input() {
    let gql = Gql::with(|c| c.max_page_size = 100).await;
    let error = gql.error("{ passengers(first: 101) { totalCount } }", json!({})).await;
    assert_eq!(code(&error), "BAD_USER_INPUT");
    assert_eq!(error["message"], "first: must be at most 100, got 101");
    let error = gql.error("{ passengers(last: -1) { totalCount } }", json!({})).await;
    assert_eq!(code(&error), "BAD_USER_INPUT");
    let error = gql.error("{ passengers(first: 3000000000) { totalCount } }", json!({})).await;
    assert_eq!(code(&error), "BAD_USER_INPUT");
    assert_eq!(error["message"], "first: must be a 32-bit integer (-2147483648 to 2147483647), got 3000000000");
    assert!(gql.run("{ passengers(first: 100) { totalCount } }", json!({})).await.get("errors").is_none());
}

#[tokio::test]
async fn a_foreign_or_garbled_cursor_is_bad_user_input() {
    let gql = Gql::seeded().await;
    let p = page(&gql, json!({ "first": 1 })).await;
    let cursor = p["pageInfo"]["endCursor"].clone();
    let error = gql.error(PAGE, json!({ "first": 1, "after": cursor, "orderBy": [{ "field": "NAME" }] })).await;
    assert_eq!(code(&error), "BAD_USER_INPUT");
    assert!(error["message"].as_str().unwrap().starts_with("after:"), "{error}");
    let error = gql.error(PAGE, json!({ "first": 1, "after": "garbage!" })).await;
    assert_eq!(code(&error), "BAD_USER_INPUT");
}

#[tokio::test]
async fn first_and_last_together_give_the_last_of_the_first_as_relay_defines() {
    let gql = Gql::seeded().await;
    let both = page(&gql, json!({ "first": 10, "last": 3 })).await;
    let all: Vec<String> = titanic_rows().into_iter().take(10).map(|r| r.name.unwrap()).collect();
    assert_eq!(names(&both), all[7..10].to_vec());
    assert_eq!(both["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(both["pageInfo"]["hasNextPage"], true);
    let fewer = page(&gql, json!({ "first": 2, "last": 5 })).await;
    assert_eq!(names(&fewer), all[..2].to_vec());
    assert_eq!(fewer["pageInfo"]["hasPreviousPage"], false);
}

#[tokio::test]
async fn every_float_reads_back_exactly_from_a_page() {
    let gql = Gql::new().await;
    let values: [f64; 10] = [
        5e-324,
        -5e-324,
        1.7976931348623157e308,
        -0.0,
        0.1 + 0.2,
        71.2833,
        1e-7,
        1e16,
        123_456_789.123_456_79,
        2.5e-310,
    ];
    for (i, v) in values.iter().enumerate() {
        gql.data(
            "mutation($i: PassengerInput!) { createPassenger(input: $i) { id } }",
            json!({ "i": { "name": format!("F{i}"), "age": v, "fare": -v } }),
        )
        .await;
    }
    let data = gql.data("{ passengers(first: 20) { nodes { name age fare } } }", json!({})).await;
    let nodes = data["passengers"]["nodes"].as_array().unwrap();
    // SQLite stores a REAL without a fractional part as an integer, so a negative zero comes
    // back as zero there (its documented storage optimisation); every other value, exactly.
    let sqlite = gql.db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite;
    let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (sqlite && a == 0.0 && b == 0.0);
    for (i, v) in values.iter().enumerate() {
        let age = nodes[i]["age"].as_f64().unwrap();
        let fare = nodes[i]["fare"].as_f64().unwrap();
        assert!(same(age, *v), "age {v:e} came back as {age:e}");
        assert!(same(fare, -v), "fare {:e} came back as {fare:e}", -v);
    }
}
