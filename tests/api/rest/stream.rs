//! The legacy list at any size: one page answered with a length, longer lists streamed from
//! one snapshot with the same bytes.

use passenger_api::startup::Application;

use super::*;
use crate::helpers::spawn_app_with;

/// A second server on the same database as `app`, with `max_page_size` pages.
async fn server_on(app: &TestApp, max_page_size: u32) -> String {
    let mut config = app.config.clone();
    config.max_page_size = max_page_size;
    let server = Application::build(config).await.unwrap();
    let address = format!("http://127.0.0.1:{}", server.port());
    tokio::spawn(server.run_until_stopped(std::future::pending()));
    address
}

#[tokio::test]
async fn a_list_longer_than_a_page_is_streamed_with_the_bytes_of_the_buffered_answer() {
    let app = spawn_app_with(|c| c.max_page_size = 1000).await;
    app.seed_titanic().await;
    post_json(&app, &body_with(json!({ "name": "Zoë Ångström-Łukasz 李雷 🚢", "age": 0.42, "fare": 1e16 }))).await;
    let buffered = get(&app, "/passengerlist").await;
    assert_eq!(buffered.header("content-length"), buffered.body.len().to_string(), "one page: a length");

    let streaming = server_on(&app, 100).await;
    let response = app.client.get(format!("{streaming}/passengerlist")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().get("content-length").is_none(), "nine pages: streamed");
    let streamed = response.bytes().await.unwrap();
    assert_eq!(streamed.len(), buffered.body.len());
    assert!(streamed == buffered.body, "the streamed bytes differ from the buffered ones");

    let head = app.client.head(format!("{streaming}/passengerlist")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], buffered.body.len().to_string());
    assert!(head.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_streamed_list_comes_from_one_snapshot_whatever_happens_meanwhile() {
    let app = spawn_app_with(|_| {}).await;
    app.seed_titanic().await;
    // Several megabytes, more than the sockets' buffers hold, so the server must wait for the
    // client to read on.
    passenger_api::seed::insert(&app.db, passenger_api::seed::synthetic(20_000, 9).collect(), false).await.unwrap();
    let before = get(&app, "/passengerlist").await.json();
    let streaming = server_on(&app, 100).await;
    let mut response = app.client.get(format!("{streaming}/passengerlist")).send().await.unwrap();
    let mut bytes = response.chunk().await.unwrap().unwrap().to_vec();
    // While the rest of the 89 pages are still to be read: delete some, add some, change some.
    let rows = before.as_array().unwrap();
    for row in &rows[19_500..19_520] {
        call(&app, "DELETE", &format!("/deletepassenger/{}", row["uuid"].as_str().unwrap()), None, None).await;
    }
    for row in &rows[20_000..20_010] {
        let id = row["uuid"].as_str().unwrap();
        put_json(&app, id, &body_with(json!({ "name": "Changed Meanwhile" }))).await;
    }
    for _ in 0..5 {
        post_json(&app, &body_with(json!({ "name": "Added Meanwhile" }))).await;
    }
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes.extend_from_slice(&chunk);
    }
    let after: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(after, before, "the list is not the snapshot taken when it started");
    assert_eq!(list(&app).await.len(), 20_887 - 20 + 5, "the changes did happen");
}

#[tokio::test]
async fn a_page_size_larger_than_the_cost_limit_allows_keeps_the_legacy_routes_working() {
    // The legacy routes' committed operations are sized by MAX_PAGE_SIZE alone: a page of
    // 100,000 rows is far above the default cost limit meant for clients' documents.
    let app = spawn_app_with(|c| c.max_page_size = 100_000).await;
    app.seed_titanic().await;
    let list = get(&app, "/passengerlist").await;
    assert_eq!((list.status, list.body.len()), (200, 188_657));
    let posted = post_json(&app, &body_with(json!({ "name": "Mr. Owen Harris Braund" }))).await;
    assert_eq!(posted.status, 200);
    assert_eq!(posted.json().as_array().map(Vec::len), Some(2));
    // A client's document of that size is still judged by the limit.
    let body = json!({ "query": "{ passengers(first: 100000) { nodes { id name sex age fare } } }" });
    let refused: Value =
        app.client.post(format!("{}/graphql", app.address)).json(&body).send().await.unwrap().json().await.unwrap();
    assert_eq!(refused["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{refused}");
}
