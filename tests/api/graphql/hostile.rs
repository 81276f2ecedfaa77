//! Hostile documents: what they would cost is refused before it runs, batched fields stay
//! batched, and what an anonymous client sends cannot grow the server's memory.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

async fn graphql(app: &TestApp, query: &str) -> Value {
    app.client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// SELECT statements the server has run so far (from its own metrics).
async fn selects(app: &TestApp) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find(|l| l.starts_with(r#"passenger_api_db_statements_total{kind="SELECT",failed="false"}"#))
        .map_or(0.0, |l| l.rsplit(' ').next().unwrap().parse().unwrap())
}

#[tokio::test]
async fn nested_namesakes_cost_one_statement_per_level_not_one_per_parent() {
    let app = spawn_app().await;
    app.seed_titanic().await;
    // Some namesakes to find: three more passengers named like the first.
    for _ in 0..3 {
        crate::rest::post_json(&app, &crate::rest::body_with(json!({ "name": "Mr. Owen Harris Braund" }))).await;
    }
    let before = selects(&app).await;
    let response = graphql(
        &app,
        "{ passengers(first: 1000) { nodes { name namesakes(first: 3) { id namesakes(first: 2) { id } } } } }",
    )
    .await;
    let after = selects(&app).await;
    assert!(response.get("errors").is_none(), "{response}");
    let nodes = response["data"]["passengers"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 890);
    assert_eq!(nodes[0]["namesakes"].as_array().unwrap().len(), 3, "first: 3 honoured");
    assert_eq!(nodes[0]["namesakes"][0]["namesakes"].as_array().unwrap().len(), 2);
    assert_eq!(nodes[1]["namesakes"].as_array().unwrap().len(), 1, "a unique name is its own namesake");
    assert_eq!(after - before, 3.0, "the page, then one statement per namesakes level");
}

#[tokio::test]
async fn the_hostile_nested_namesakes_query_is_refused_before_it_runs() {
    let app = spawn_app().await;
    app.seed_titanic().await;
    let before = selects(&app).await;
    let response = graphql(&app, "{ passengers(first: 1000) { nodes { namesakes { namesakes { id } } } } }").await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{response}");
    assert!(response["errors"][0]["message"].as_str().unwrap().contains("too complex"), "{response}");
    assert!(response.get("data").is_none());
    assert_eq!(selects(&app).await, before, "nothing ran");
}

#[tokio::test]
async fn a_thousand_aliased_statistics_are_refused_before_they_run() {
    let app = spawn_app().await;
    let aliases: String = (0..1000).map(|i| format!("s{i}: passengerStats {{ count }} ")).collect();
    let before = selects(&app).await;
    let response = graphql(&app, &format!("{{ {aliases} }}")).await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{response}");
    assert!(response["errors"][0]["message"].as_str().unwrap().contains("too complex"));
    assert_eq!(selects(&app).await, before, "nothing ran");
    // Two of them are an ordinary query.
    let two = graphql(&app, "{ a: passengerStats { count } b: passengerStats(groupBy: [SEX]) { sex count } }").await;
    assert!(two.get("errors").is_none(), "{two}");
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn three_hundred_distinct_one_megabyte_documents_do_not_grow_the_server() {
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        eprintln!("NOTE: the document-memory test runs in the SQLite pass only (it starts a server of its own)");
        return;
    }
    // A server process of its own, so its memory is measured alone.
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_passenger-api"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("rss.db").display()))
        .env("LOG_LEVEL", "warn")
        .env("NO_SEED", "true")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let padding = "#".repeat(1_000_000);
    let send = |i: usize, persisted: bool| {
        let query = format!("query Q{i} {{ __typename }}\n# {i} {padding}");
        let body = if persisted {
            let hash = passenger_api::graphql::documents::sha256_hex(&query);
            json!({ "query": query, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } })
        } else {
            json!({ "query": query })
        };
        let request = client.post(format!("{base}/graphql")).json(&body);
        async move {
            let response: Value = request.send().await.unwrap().json().await.unwrap();
            assert_eq!(response["data"]["__typename"], "Query", "{response}");
        }
    };
    for i in 0..20 {
        send(i, false).await; // warm up the allocator and the connection
    }
    let before = rss_kib(child.id());
    for i in 1000..1300 {
        send(i, false).await;
    }
    for i in 2000..2100 {
        send(i, true).await;
    }
    let after = rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let grown_mib = after.saturating_sub(before) as f64 / 1024.0;
    eprintln!("RSS {before} KiB -> {after} KiB after 300 distinct 1 MB documents and 100 APQ registrations");
    assert!(grown_mib < 32.0, "RSS grew by {grown_mib:.1} MiB");
}
