//! Contract section 9, and adoption of a legacy database end to end.

use super::*;
use crate::helpers::{TestDb, postgres_only};

#[tokio::test]
async fn the_list_is_in_csv_order_with_new_rows_at_the_end_and_deleted_rows_gone() {
    let app = seeded_app().await;
    let names: Vec<String> = list(&app).await.iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect();
    let csv: Vec<String> = titanic_rows().into_iter().map(|r| r.name.unwrap()).collect();
    assert_eq!(names, csv);
    assert_eq!(names.first().map(String::as_str), Some("Mr. Owen Harris Braund"));
    assert_eq!(names.last().map(String::as_str), Some("Mr. Patrick Dooley"));

    for name in ["Order-Test-A", "Order-Test-B", "Order-Test-C"] {
        post_json(&app, &body_with(json!({ "name": name }))).await;
    }
    let tail: Vec<Value> = list(&app).await.split_off(887);
    assert_eq!(
        tail.iter().map(|p| p["name"].clone()).collect::<Vec<_>>(),
        json!(["Order-Test-A", "Order-Test-B", "Order-Test-C"]).as_array().unwrap().clone()
    );

    let b = tail[1]["uuid"].as_str().unwrap();
    call(&app, "DELETE", &format!("/deletepassenger/{b}"), None, None).await;
    let tail: Vec<Value> = list(&app).await.split_off(887);
    assert_eq!(
        tail.iter().map(|p| p["name"].clone()).collect::<Vec<_>>(),
        vec![json!("Order-Test-A"), json!("Order-Test-C")]
    );
}

#[tokio::test]
async fn an_adopted_legacy_database_is_served_in_its_order_with_the_legacy_bytes() {
    let Some(admin) = postgres_only("an_adopted_legacy_database_is_served_in_its_order_with_the_legacy_bytes") else {
        return;
    };
    let test_db = TestDb::postgres(admin).await;
    let db = test_db.connect().await;
    crate::migrations::create_legacy_database(&db).await;
    assert_eq!(crate::migrations::LEGACY_ROW0_UUID, ROW0_UUID);
    // The order the legacy `SELECT *` (no ORDER BY) listed: heap order.
    let legacy_order = crate::migrations::legacy_rows(&db, "titanic").await;

    let mut config = passenger_api::config::Config::with_database_url(&test_db.url);
    config.bind = "127.0.0.1:0".parse().unwrap();
    let server = passenger_api::startup::Application::build(config).await.expect("adopts and starts");
    let base = format!("http://127.0.0.1:{}", server.port());
    tokio::spawn(server.run_until_stopped(std::future::pending()));

    let body = reqwest::get(format!("{base}/passengerlist")).await.unwrap().text().await.unwrap();
    assert_eq!(body.len(), 188_657);
    assert!(body.starts_with(&format!("[{}", ROW0_BYTES.trim_end())), "{}", &body[..300]);
    let list: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(list.len(), legacy_order.len());
    for (served, legacy) in list.iter().zip(&legacy_order) {
        assert!(legacy.starts_with(&format!("({},", served["uuid"].as_str().unwrap())), "{served} vs {legacy}");
    }
    let one = reqwest::get(format!("{base}/getpassenger/{ROW0_UUID}")).await.unwrap().text().await.unwrap();
    assert_eq!(one, ROW0_BYTES);
}
