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

#[tokio::test]
async fn a_streamed_list_that_finds_every_reader_busy_waits_its_turn_instead_of_failing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|_| {}).await;
    app.seed_titanic().await;
    // About ten megabytes: more than the server's socket buffer and its own buffers hold, so a
    // client that stops reading (with a small receive buffer) keeps its reader busy.
    passenger_api::seed::insert(&app.db, passenger_api::seed::synthetic(40_000, 7).collect(), false).await.unwrap();
    let mut config = app.config.clone();
    config.max_page_size = 100;
    config.db_max_connections = 2; // one streamed list at a time
    config.db_acquire_timeout_secs = 1;
    config.request_timeout_ms = 20_000;
    let server = Application::build(config).await.unwrap();
    let port = server.port();
    tokio::spawn(server.run_until_stopped(std::future::pending()));

    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut first = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
    first.write_all(b"GET /passengerlist HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.unwrap();
    let mut first_bytes = vec![0; 4096];
    let n = first.read(&mut first_bytes).await.unwrap();
    first_bytes.truncate(n);
    assert!(first_bytes.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&first_bytes));

    let second = tokio::spawn({
        let (client, url) = (app.client.clone(), format!("http://127.0.0.1:{port}/passengerlist"));
        async move {
            let response = client.get(url).send().await.unwrap();
            (response.status(), response.bytes().await.unwrap())
        }
    });
    // Longer than a pooled connection is waited for: the second list must still be waiting.
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    assert!(!second.is_finished(), "the second list did not wait for the first");
    first.read_to_end(&mut first_bytes).await.unwrap();
    let (status, second_bytes) = second.await.unwrap();
    assert_eq!(status, 200);
    let rows: Value = serde_json::from_slice(&second_bytes).unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(40_887));
    // The first list, read to its end, is complete too (chunked: its last chunk ends the list).
    assert!(first_bytes.ends_with(b"]\n\r\n0\r\n\r\n"), "the first list was cut short");
}
