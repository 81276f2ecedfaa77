//! Operations: metrics, request ids, auth, CORS, rate limits, load shedding, concurrent
//! writers, graceful shutdown, and bad input thrown at every route.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, names_in_file_alone, spawn_app, spawn_app_with};
use crate::rest::{README_BODY, body_with, call, count, post_json};

async fn graphql(app: &TestApp, query: &str, token: Option<&str>) -> Value {
    let mut request = app.client.post(format!("{}/graphql", app.address)).json(&json!({ "query": query }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn metrics_reflect_the_requests_made() {
    let app = spawn_app().await;
    app.get("/hello").await;
    app.get("/hello").await;
    app.get("/nope").await;
    graphql(&app, "query CountThem { passengers { totalCount } }", None).await;
    graphql(&app, "{ nope }", None).await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    for line in [
        "passenger_api_http_requests_total{route=\"/hello\",method=\"GET\",status=\"201\"} 2",
        "passenger_api_http_requests_total{route=\"<unmatched>\",method=\"GET\",status=\"404\"} 1",
        "passenger_api_http_requests_total{route=\"/graphql\",method=\"POST\",status=\"200\"} 2",
        "passenger_api_graphql_operations_total{operation=\"CountThem\",type=\"query\",code=\"ok\"} 1",
        "passenger_api_graphql_operations_total{operation=\"anonymous\",type=\"query\",code=\"GRAPHQL_VALIDATION_FAILED\"} 1",
        "passenger_api_http_request_duration_seconds_count{route=\"/hello\",method=\"GET\"} 2",
        "passenger_api_build_info{version=",
        "passenger_api_db_pool_max 16",
        "passenger_api_subscriptions_open 0",
    ] {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
    assert!(text.contains("passenger_api_db_statements_total{kind=\"SELECT\",failed=\"false\"}"), "{text}");
    assert!(text.contains("passenger_api_db_statement_duration_seconds_bucket{kind=\"SELECT\",le=\"+Inf\"}"), "{text}");
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = spawn_app().await;
    let echoed =
        app.client.get(format!("{}/hello", app.address)).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "abc-123");
    let generated = app.get("/hello").await;
    assert_eq!(generated.headers()["x-request-id"].len(), 32);
}

const TOKEN: &str = "tok-4f2c9e1d";

#[tokio::test]
async fn with_tokens_configured_writes_need_a_valid_bearer_token_on_both_interfaces() {
    let app = spawn_app_with(|c| c.api_tokens = Some(passenger_api::config::Secret(format!("other,{TOKEN}")))).await;
    let mutation = r#"mutation { createPassenger(input: { name: "Auth" }) { id } }"#;
    for token in [None, Some("wrong")] {
        let denied = graphql(&app, mutation, token).await;
        assert_eq!(denied["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{denied}");
        let rest = app
            .client
            .post(format!("{}/postpassenger", app.address))
            .header("content-type", "application/json")
            .body(README_BODY);
        let rest = match token {
            Some(t) => rest.bearer_auth(t),
            None => rest,
        };
        let rest = rest.send().await.unwrap();
        assert_eq!(rest.status(), 401);
        assert_eq!(rest.headers()["www-authenticate"], "Bearer");
    }
    assert_eq!(count(&app).await, 0, "nothing written without a token");

    let allowed = graphql(&app, mutation, Some(TOKEN)).await;
    let id = allowed["data"]["createPassenger"]["id"].as_str().unwrap().to_owned();
    for (method, path) in [("PUT", format!("/putpassenger/{id}")), ("DELETE", format!("/deletepassenger/{id}"))] {
        let denied = call(&app, method, &path, Some("application/json"), Some(README_BODY.as_bytes())).await;
        assert_eq!(denied.status, 401, "{method}");
    }
    let put = app
        .client
        .put(format!("{}/putpassenger/{id}", app.address))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(README_BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    // Reads stay open.
    assert_eq!(app.get("/passengerlist").await.status(), 200);
    assert!(graphql(&app, "{ passengers { totalCount } }", None).await.get("errors").is_none());
}

#[tokio::test]
async fn protect_reads_closes_queries_and_legacy_reads_too_and_tokens_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    std::fs::write(&file, format!("# mounted secret\n\n{TOKEN}\n")).unwrap();
    let app = spawn_app_with(|c| {
        c.api_tokens_file = Some(file.clone());
        c.protect_reads = true;
    })
    .await;
    assert_eq!(app.get("/passengerlist").await.status(), 401);
    let denied = graphql(&app, "{ passengers { totalCount } }", None).await;
    assert_eq!(denied["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let allowed = graphql(&app, "{ passengers { totalCount } }", Some(TOKEN)).await;
    assert_eq!(allowed["data"]["passengers"]["totalCount"], 0);
    let list = app.client.get(format!("{}/passengerlist", app.address)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(list.status(), 200);
    assert_eq!(app.get("/hello").await.status(), 201, "health checks stay open");
}

#[tokio::test]
async fn subscriptions_respect_the_token_too() {
    let app = spawn_app_with(|c| {
        c.api_tokens = Some(passenger_api::config::Secret(TOKEN.into()));
        c.protect_reads = true;
    })
    .await;
    let query = "subscription { passengerEvents { kind } }";
    let mut denied =
        crate::subscriptions::Subscription::open(&app.address, "graphql-transport-ws", query, json!({})).await;
    let message = denied.next_raw().await;
    assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{message}");
    let mut allowed = crate::subscriptions::Subscription::open_with_payload(
        &app.address,
        "graphql-transport-ws",
        query,
        json!({ "Authorization": format!("Bearer {TOKEN}") }),
    )
    .await;
    graphql(&app, r#"mutation { createPassenger(input: { name: "Seen" }) { id } }"#, Some(TOKEN)).await;
    assert_eq!(allowed.next_event().await["kind"], "CREATED");
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let closed = spawn_app().await;
    let response = closed
        .client
        .get(format!("{}/hello", closed.address))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none());

    let open = spawn_app_with(|c| c.cors_allowed_origins = vec!["https://app.example".into()]).await;
    let preflight = open
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/graphql", open.address))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.headers()["access-control-allow-origin"], "https://app.example");
    let other = open
        .client
        .get(format!("{}/hello", open.address))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let app = spawn_app_with(|c| {
        c.rate_limit_per_second = 1.0;
        c.rate_limit_burst = 3;
    })
    .await;
    let statuses: Vec<u16> = futures_util::future::join_all((0..5).map(|_| app.get("/hello")))
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 3, "{statuses:?}");
    let limited = app.get("/hello").await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "1");
}

#[tokio::test]
async fn a_valid_token_has_its_own_bucket_and_random_tokens_do_not_escape_the_limit() {
    let app = spawn_app_with(|c| {
        c.rate_limit_per_second = 1.0;
        c.rate_limit_burst = 3;
        c.api_tokens = Some(passenger_api::config::Secret(TOKEN.into()));
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let random = uuid::Uuid::new_v4().simple().to_string();
        let response = app.client.get(format!("{}/hello", app.address)).bearer_auth(random).send().await.unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 3, "random tokens bought fresh bursts: {statuses:?}");
    assert_eq!(app.get("/hello").await.status(), 429, "the address is out of tokens");
    let verified = app.client.get(format!("{}/hello", app.address)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(verified.status(), 201, "a valid token is a client of its own");
}

/// Opens a POST whose body is still being sent: a request in flight for as long as we like.
async fn slow_post(address: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let addr = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /postpassenger HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        README_BODY.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&README_BODY.as_bytes()[..10]).await.unwrap();
    stream
}

async fn finish_post(mut stream: tokio::net::TcpStream) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(&README_BODY.as_bytes()[10..]).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn excess_concurrent_requests_are_shed_with_503() {
    let app = spawn_app_with(|c| c.max_concurrent_requests = 1).await;
    let held = slow_post(&app.address).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let shed = app.get("/hello").await;
    assert_eq!(shed.status(), 503);
    assert_eq!(shed.headers()["retry-after"], "1");
    assert!(finish_post(held).await.starts_with("HTTP/1.1 200"));
    assert_eq!(app.get("/hello").await.status(), 201);
}

#[tokio::test]
async fn fifty_concurrent_writers_each_land_exactly_once() {
    let app = spawn_app().await;
    let bodies: Vec<String> = (0..50).map(|i| body_with(json!({ "name": format!("Writer-{i}") }))).collect();
    let results = futures_util::future::join_all(bodies.iter().map(|b| post_json(&app, b))).await;
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.status, 200, "writer {i}: {}", r.text());
    }
    let list = crate::rest::list(&app).await;
    assert_eq!(list.len(), 50);
    for i in 0..50 {
        let name = format!("Writer-{i}");
        assert_eq!(list.iter().filter(|p| p["name"] == name.as_str()).count(), 1, "{name}");
    }
}

/// Also: a server on a new SQLite file leaves it whole, after seeding it at start and with
/// every write once stopped, so a copy of the file alone holds every passenger.
#[test]
fn sigterm_lets_an_in_flight_request_finish_refuses_new_connections_and_leaves_the_file_whole() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_passenger-api"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", format!("sqlite://{}", path.display()))
        .env("LOG_FORMAT", "json")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let address = format!("http://127.0.0.1:{port}");
    runtime.block_on(async {
        for _ in 0..100 {
            if reqwest::get(format!("{address}/readyz")).await.is_ok_and(|r| r.status() == 200) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(names_in_file_alone(&path).await.len(), 887, "the seeded rows are not in the file");
        let in_flight = slow_post(&address).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            tokio::net::TcpStream::connect(format!("127.0.0.1:{port}")).await.is_err(),
            "new connections must be refused"
        );
        let response = finish_post(in_flight).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.contains("Post-Test-Name"));
    });
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let names = runtime.block_on(names_in_file_alone(&path));
    assert_eq!(names.len(), 888);
    assert_eq!(names.last().map(String::as_str), Some("Post-Test-Name"));
}

#[test]
fn secrets_never_reach_the_logs() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let secret = "zz-very-secret-token-77";
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_passenger-api"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", format!("sqlite://{}", dir.path().join("db.sqlite").display()))
        .env("API_TOKENS", secret)
        .env("LOG_LEVEL", "trace")
        .env("LOG_FORMAT", "json")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let address = format!("http://127.0.0.1:{port}");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client.get(format!("{address}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for token in [secret, "zz-wrong-token-88"] {
            client
                .post(format!("{address}/postpassenger"))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(README_BODY)
                .send()
                .await
                .unwrap();
            client
                .post(format!("{address}/graphql"))
                .bearer_auth(token)
                .json(&json!({ "query": "mutation { deletePassenger(id: \"00000000-0000-0000-0000-000000000000\") }" }))
                .send()
                .await
                .unwrap();
        }
    });
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("\"status\":200"), "requests were logged: {log}");
    assert!(!log.contains(secret), "token leaked into the logs");
    assert!(!log.contains("zz-wrong-token-88"), "presented token leaked into the logs");
}

/// Random bytes and random JSON at every route: never a 5xx, never a dead server.
#[tokio::test]
async fn random_input_at_every_route_never_gets_a_5xx() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let app = spawn_app().await;
    app.seed_titanic().await;
    let mut runner = TestRunner::deterministic();
    let bytes = proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..300);
    let json_text =
        proptest::arbitrary::any::<String>().prop_map(|s| json!({ "query": s, "variables": { "x": s } }).to_string());
    let id = "acd1111a-c9f6-4ff7-ba94-dc28bf15f36c";
    let targets = [
        ("POST", "/graphql".to_owned()),
        ("GET", "/graphql?query=".to_owned()),
        ("POST", "/postpassenger".to_owned()),
        ("PUT", format!("/putpassenger/{id}")),
        ("DELETE", format!("/deletepassenger/{id}")),
        ("GET", format!("/getpassenger/{id}")),
        ("GET", "/passengerlist".to_owned()),
        ("GET", "/hello".to_owned()),
        ("GET", "/zero".to_owned()),
    ];
    for case in 0..100 {
        let raw = bytes.new_tree(&mut runner).unwrap().current();
        let text = json_text.new_tree(&mut runner).unwrap().current();
        for (method, path) in &targets {
            for (content_type, body) in [
                ("application/json", raw.clone()),
                ("application/json", text.clone().into_bytes()),
                ("text/plain", raw.clone()),
            ] {
                let path = if path.ends_with("query=") { format!("{path}{}", urlencode(&text)) } else { path.clone() };
                let answer = call(&app, method, &path, Some(content_type), Some(&body)).await;
                assert!(answer.status < 500, "case {case}: {method} {path} -> {} {}", answer.status, answer.text());
            }
        }
    }
    assert_eq!(app.get("/hello").await.status(), 201);
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
