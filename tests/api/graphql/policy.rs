//! One policy for every transport: POST, GET, batches, WebSocket and the REST shim all go
//! through the executor, so strict mode, the time limit, access control and the metrics hold
//! for each of them alike.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};
use crate::subscriptions::Subscription;

/// The GraphQL transports (the REST shim is checked with its own routes).
#[derive(Debug, Clone, Copy)]
enum Via {
    Post,
    Get,
    Batch,
    WebSocket,
}

const VIAS: [Via; 4] = [Via::Post, Via::Get, Via::Batch, Via::WebSocket];

/// Runs `query` over `via` (with `token` when given) and returns the GraphQL response.
async fn run(app: &TestApp, via: Via, query: &str, token: Option<&str>) -> Value {
    let url = format!("{}/graphql", app.address);
    let with_token = |r: reqwest::RequestBuilder| match token {
        Some(t) => r.bearer_auth(t),
        None => r,
    };
    match via {
        Via::Post => with_token(app.client.post(&url).json(&json!({ "query": query })))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap(),
        Via::Get => {
            with_token(app.client.get(&url).query(&[("query", query)])).send().await.unwrap().json().await.unwrap()
        }
        Via::Batch => {
            let body = json!([{ "query": query }]);
            let answers: Value =
                with_token(app.client.post(&url).json(&body)).send().await.unwrap().json().await.unwrap();
            assert_eq!(answers.as_array().map(Vec::len), Some(1), "{answers}");
            answers[0].clone()
        }
        Via::WebSocket => {
            let payload = token.map_or(json!({}), |t| json!({ "Authorization": format!("Bearer {t}") }));
            let mut socket =
                Subscription::open_with_payload(&app.address, "graphql-transport-ws", query, payload).await;
            let message = socket.next_raw().await;
            match message["type"].as_str() {
                Some("next") => message["payload"].clone(),
                Some("error") => json!({ "errors": message["payload"] }),
                _ => panic!("unexpected message {message}"),
            }
        }
    }
}

fn code(response: &Value) -> String {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or("<none>").to_owned()
}

async fn metrics(app: &TestApp) -> String {
    app.get("/metrics").await.text().await.unwrap()
}

#[tokio::test]
async fn strict_mode_refuses_an_unlisted_operation_on_every_transport() {
    let dir = tempfile::tempdir().unwrap();
    let listed = "query Listed { __typename }";
    let list = dir.path().join("allow.json");
    std::fs::write(&list, json!({ passenger_api::graphql::documents::sha256_hex(listed): listed }).to_string())
        .unwrap();
    let app = spawn_app_with(|c| c.persisted_queries_allowlist = Some(list.clone())).await;
    for via in VIAS {
        let refused = run(&app, via, "query Unlisted { passengers { totalCount } }", None).await;
        assert_eq!(code(&refused), "PERSISTED_QUERY_NOT_ALLOWED", "{via:?}: {refused}");
        // Over HTTP a request that could not run has no `data`; async-graphql's WebSocket
        // protocol sends it as null.
        assert!(refused.get("data").is_none_or(Value::is_null), "{via:?}: {refused}");
        let allowed = run(&app, via, listed, None).await;
        assert_eq!(allowed["data"]["__typename"], "Query", "{via:?}: {allowed}");
    }
    let shim = crate::rest::get(&app, "/passengerlist").await;
    assert_eq!(shim.status, 403);
}

#[tokio::test]
async fn a_slow_operation_hits_the_time_limit_on_every_transport() {
    // No time at all: every operation that waits for the database for longer than the timer's
    // millisecond is past its limit (a page of a thousand rows can come back within one now, so
    // the legacy list reads all 20,000 rows as one page here).
    let app = spawn_app_with(|c| {
        c.request_timeout_ms = 0;
        c.max_page_size = 20_000;
    })
    .await;
    passenger_api::seed::insert(&app.db, passenger_api::seed::synthetic(20_000, 3).collect(), false).await.unwrap();
    let slow = r#"query Slow { a: passengerStats(groupBy: [SEX, PASSENGER_CLASS, SURVIVED]) { count } b: passengers(filter: {name: {containsInsensitive: "zzz"}}) { totalCount } }"#;
    for via in VIAS {
        let response = run(&app, via, slow, None).await;
        assert_eq!(code(&response), "TIMEOUT", "{via:?}: {response}");
    }
    let shim = crate::rest::get(&app, "/passengerlist").await;
    assert_eq!(shim.status, 503, "the legacy list of 20,000 rows within 1 ms");
    let text = metrics(&app).await;
    assert!(text.contains(r#"operation="Slow",type="query",code="TIMEOUT"} 4"#), "{text}");
    assert!(text.contains(r#"operation="LegacyListPassengers",type="query",code="TIMEOUT"} 1"#), "{text}");
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn a_write_without_a_token_is_refused_on_every_transport() {
    const TOKEN: &str = "tok-policy";
    let app = spawn_app_with(|c| c.api_tokens = Some(passenger_api::config::Secret(TOKEN.into()))).await;
    let mutation = r#"mutation Write { createPassenger(input: { name: "Nope" }) { id } }"#;
    for via in VIAS {
        let response = run(&app, via, mutation, None).await;
        let expected = if matches!(via, Via::Get) { "METHOD_NOT_ALLOWED" } else { "UNAUTHENTICATED" };
        assert_eq!(code(&response), expected, "{via:?}: {response}");
        assert!(response.get("data").is_none_or(Value::is_null), "{via:?}: {response}");
        assert!(response["errors"][0].get("locations").is_none(), "{via:?}: {response}");
    }
    let shim = crate::rest::post_json(&app, crate::rest::README_BODY).await;
    assert_eq!(shim.status, 401);
    assert_eq!(passenger_api::service::passenger::count(&app.db).await.unwrap(), 0, "nothing written");
    // With the token, every transport that may write does.
    for via in [Via::Post, Via::Batch, Via::WebSocket] {
        let response = run(&app, via, mutation, Some(TOKEN)).await;
        assert!(response["data"]["createPassenger"]["id"].is_string(), "{via:?}: {response}");
    }
    assert_eq!(passenger_api::service::passenger::count(&app.db).await.unwrap(), 3);
}

#[tokio::test]
async fn every_transport_counts_its_operations_in_the_metrics() {
    let app = spawn_app_with(|_| {}).await;
    for via in VIAS {
        let response = run(&app, via, "query Counted { passengers { totalCount } }", None).await;
        assert_eq!(response["data"]["passengers"]["totalCount"], 0, "{via:?}: {response}");
    }
    assert_eq!(crate::rest::get(&app, "/getpassenger/00000000-0000-0000-0000-000000000000").await.text(), "null\n");
    let text = metrics(&app).await;
    assert!(text.contains(r#"operation="Counted",type="query",code="ok"} 4"#), "{text}");
    assert!(text.contains(r#"operation="LegacyGetPassenger",type="query",code="ok"} 1"#), "{text}");
}
