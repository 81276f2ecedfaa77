//! Aggregates, checked against values computed independently from the CSV.

use std::collections::BTreeMap;

use passenger_api::service::PassengerData;
use serde_json::{Value, json};

use super::Gql;
use crate::helpers::titanic_rows;

const STATS: &str = r#"query($f: PassengerFilter, $g: [PassengerGroupBy!]) {
  passengerStats(filter: $f, groupBy: $g) {
    passengerClass sex survived count survivedCount survivalRate
    age { min max avg } fare { min max avg }
  }
}"#;

fn close(a: &Value, b: f64) {
    let a = a.as_f64().unwrap_or_else(|| panic!("expected a number, got {a}"));
    assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "{a} != {b}");
}

fn summary(values: impl Iterator<Item = f64> + Clone) -> (f64, f64, f64) {
    let n = values.clone().count() as f64;
    let min = values.clone().fold(f64::INFINITY, f64::min);
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    (min, max, values.sum::<f64>() / n)
}

fn check_group(got: &Value, rows: &[&PassengerData]) {
    assert_eq!(got["count"], rows.len());
    let survived = rows.iter().filter(|r| r.survived == Some(true)).count();
    assert_eq!(got["survivedCount"], survived);
    close(&got["survivalRate"], survived as f64 / rows.len() as f64);
    let (min, max, avg) = summary(rows.iter().filter_map(|r| r.age));
    close(&got["age"]["min"], min);
    close(&got["age"]["max"], max);
    close(&got["age"]["avg"], avg);
    let (min, max, avg) = summary(rows.iter().filter_map(|r| r.fare));
    close(&got["fare"]["min"], min);
    close(&got["fare"]["max"], max);
    close(&got["fare"]["avg"], avg);
}

#[tokio::test]
async fn overall_stats_match_the_csv() {
    let gql = Gql::seeded().await;
    let data = gql.data(STATS, json!({})).await;
    let groups = data["passengerStats"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!((groups[0]["passengerClass"].clone(), groups[0]["sex"].clone()), (Value::Null, Value::Null));
    let rows = titanic_rows();
    check_group(&groups[0], &rows.iter().collect::<Vec<_>>());
}

#[tokio::test]
async fn stats_grouped_by_class_and_sex_match_the_csv_in_key_order() {
    let gql = Gql::seeded().await;
    let data = gql.data(STATS, json!({ "g": ["PASSENGER_CLASS", "SEX"] })).await;
    let groups = data["passengerStats"].as_array().unwrap();
    let rows = titanic_rows();
    let mut expected: BTreeMap<(i32, String), Vec<&PassengerData>> = BTreeMap::new();
    for r in &rows {
        expected.entry((r.passenger_class.unwrap(), r.sex.clone().unwrap())).or_default().push(r);
    }
    assert_eq!(groups.len(), expected.len());
    for (got, ((class, sex), members)) in groups.iter().zip(&expected) {
        assert_eq!((&got["passengerClass"], got["sex"].as_str()), (&json!(class), Some(sex.as_str())));
        assert_eq!(got["survived"], Value::Null);
        check_group(got, members);
    }
}

#[tokio::test]
async fn stats_respect_the_filter_and_group_by_survival() {
    let gql = Gql::seeded().await;
    let data = gql.data(STATS, json!({ "f": { "sex": { "eq": "female" } }, "g": ["SURVIVED"] })).await;
    let groups = data["passengerStats"].as_array().unwrap();
    let rows = titanic_rows();
    for (got, outcome) in groups.iter().zip([false, true]) {
        assert_eq!(got["survived"], outcome);
        let members: Vec<_> =
            rows.iter().filter(|r| r.sex.as_deref() == Some("female") && r.survived == Some(outcome)).collect();
        assert_eq!(got["count"], members.len());
        assert_eq!(got["survivedCount"], if outcome { members.len() } else { 0 });
    }
    assert_eq!(groups.len(), 2);
}

#[tokio::test]
async fn stats_of_an_empty_selection_are_zero_with_null_summaries() {
    let gql = Gql::seeded().await;
    let data = gql.data(STATS, json!({ "f": { "name": { "eq": "Nobody" } } })).await;
    let got = &data["passengerStats"][0];
    assert_eq!(got["count"], 0);
    assert_eq!(got["survivalRate"], Value::Null);
    assert_eq!(got["age"], json!({ "min": null, "max": null, "avg": null }));
}

#[tokio::test]
async fn means_of_huge_values_do_not_overflow() {
    let gql = super::Gql::new().await;
    for _ in 0..3 {
        gql.data(
            "mutation { createPassenger(input: { name: \"Huge\", age: 1e308, fare: -1.7e308 }) { id } }",
            serde_json::json!({}),
        )
        .await;
        gql.data(
            "mutation { createPassenger(input: { name: \"Tiny\", age: 5e-324, fare: -2.05e-186 }) { id } }",
            serde_json::json!({}),
        )
        .await;
    }
    let data = gql.data("{ passengerStats { count age { avg max } fare { avg min } } }", serde_json::json!({})).await;
    let stats = &data["passengerStats"][0];
    assert_eq!(stats["count"], 6);
    let (age, fare) = (stats["age"]["avg"].as_f64().unwrap(), stats["fare"]["avg"].as_f64().unwrap());
    assert!((age / 5e307 - 1.0).abs() < 1e-14, "{stats}");
    assert!((fare / -8.5e307 - 1.0).abs() < 1e-14, "{stats}");
    // Means of only tiny values, grouped: below the smallest double, they are 0, not an error.
    let tiny = gql
        .data(
            "{ passengerStats(filter: { name: { eq: \"Tiny\" } }, groupBy: [SEX, SURVIVED]) { count age { avg } fare { avg } } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(tiny["passengerStats"][0]["count"], 3, "{tiny}");
    assert!(tiny["passengerStats"][0]["age"]["avg"].as_f64().unwrap() < 1e-300, "{tiny}");
    assert_eq!(stats["fare"]["min"].as_f64(), Some(-1.7e308));
}
