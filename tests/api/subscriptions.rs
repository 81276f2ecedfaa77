//! Live updates over WebSocket, in process (SQLite) and across replicas (PostgreSQL).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use passenger_api::config::Config;
use passenger_api::startup::Application;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{TestApp, TestDb, postgres_only, spawn_app, spawn_app_with};
use crate::rest::{README_BODY, body_with};

const EVENTS: &str =
    "subscription($f: PassengerFilter) { passengerEvents(filter: $f) { kind id passenger { name sex } } }";

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A subscription over one WebSocket, speaking `protocol`.
pub struct Subscription {
    socket: Socket,
    modern: bool,
}

impl Subscription {
    /// Opens a WebSocket on `/graphql` and subscribes to `query`.
    pub async fn open(address: &str, protocol: &str, query: &str, variables: Value) -> Self {
        Self::open_inner(address, protocol, query, variables, json!({})).await
    }

    /// Like [`Self::open`], sending `payload` with `connection_init` (e.g. a token).
    pub async fn open_with_payload(address: &str, protocol: &str, query: &str, payload: Value) -> Self {
        Self::open_inner(address, protocol, query, json!({}), payload).await
    }

    async fn open_inner(address: &str, protocol: &str, query: &str, variables: Value, payload: Value) -> Self {
        let url = format!("{}/graphql", address.replace("http://", "ws://"));
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
        let (socket, response) = tokio_tungstenite::connect_async(request).await.expect("WebSocket upgrade");
        assert_eq!(response.headers()["sec-websocket-protocol"], protocol);
        let mut sub = Self { socket, modern: protocol == "graphql-transport-ws" };
        sub.send(json!({ "type": "connection_init", "payload": payload })).await;
        let ack = sub.next_message().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        let kind = if sub.modern { "subscribe" } else { "start" };
        sub.send(json!({ "id": "1", "type": kind, "payload": { "query": query, "variables": variables } })).await;
        // Let the server register the subscriber before the test writes.
        tokio::time::sleep(Duration::from_millis(150)).await;
        sub
    }

    async fn send(&mut self, message: Value) {
        self.socket.send(Message::text(message.to_string())).await.unwrap();
    }

    async fn next_message(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("a message within 10 s")
                .expect("socket open")
                .expect("valid frame");
            if let Message::Text(text) = message {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] != "ka" {
                    return value;
                }
            }
        }
    }

    /// The next event's `passengerEvents` payload (fails on an error message).
    pub async fn next_event(&mut self) -> Value {
        let message = self.next_message().await;
        let expected = if self.modern { "next" } else { "data" };
        assert_eq!(message["type"], expected, "{message}");
        assert!(message["payload"].get("errors").is_none(), "{message}");
        message["payload"]["data"]["passengerEvents"].clone()
    }

    /// The next raw protocol message.
    pub async fn next_raw(&mut self) -> Value {
        self.next_message().await
    }

    /// Asserts that nothing arrives for `wait`.
    pub async fn assert_quiet(&mut self, wait: Duration) {
        if let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(wait, self.socket.next()).await {
            let value: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(value["type"], "ka", "unexpected message: {value}");
        }
    }
}

/// Waits until `n` event listeners are LISTENing on the database of `db` (PostgreSQL).
pub async fn wait_for_listeners(db: &DatabaseConnection, n: i64) {
    for _ in 0..100 {
        let row = db
            .query_one_raw(Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'passenger-api-listener' \
                 AND datname = current_database() AND query ILIKE 'LISTEN%'",
            ))
            .await
            .unwrap()
            .unwrap();
        if row.try_get::<i64>("", "n").unwrap() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the event listener did not start");
}

async fn ready(app: &TestApp) {
    if app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        wait_for_listeners(&app.db, 1).await;
    }
}

async fn graphql(address: &str, query: &str, variables: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{address}/graphql"))
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

#[tokio::test]
async fn every_write_from_graphql_or_rest_reaches_a_subscriber_once() {
    let app = spawn_app().await;
    ready(&app).await;
    let mut sub = Subscription::open(&app.address, "graphql-transport-ws", EVENTS, json!({})).await;

    let created = graphql(
        &app.address,
        r#"mutation { createPassenger(input: { name: "Live", sex: "female" }) { id } }"#,
        json!({}),
    )
    .await;
    let id = created["data"]["createPassenger"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        sub.next_event().await,
        json!({ "kind": "CREATED", "id": id, "passenger": { "name": "Live", "sex": "female" } })
    );

    let put = crate::rest::put_json(&app, &id, &body_with(json!({ "name": "Live-2" }))).await;
    assert_eq!(put.status, 200);
    assert_eq!(
        sub.next_event().await,
        json!({ "kind": "UPDATED", "id": id, "passenger": { "name": "Live-2", "sex": "male" } })
    );

    let post = crate::rest::post_json(&app, README_BODY).await.json();
    assert_eq!(sub.next_event().await["id"], post[0]["uuid"]);

    crate::rest::call(&app, "DELETE", &format!("/deletepassenger/{id}"), None, None).await;
    assert_eq!(sub.next_event().await, json!({ "kind": "DELETED", "id": id, "passenger": null }));
    // A delete of an unknown row changes nothing and announces nothing.
    crate::rest::call(&app, "DELETE", &format!("/deletepassenger/{id}"), None, None).await;
    sub.assert_quiet(Duration::from_millis(400)).await;
}

#[tokio::test]
async fn events_carry_the_global_id_that_mutations_answer_deletions_included() {
    let app = spawn_app().await;
    ready(&app).await;
    let query = "subscription { passengerEvents { kind nodeId passenger { nodeId } } }";
    let mut sub = Subscription::open(&app.address, "graphql-transport-ws", query, json!({})).await;
    let created =
        graphql(&app.address, r#"mutation { createPassenger(input: { name: "Relay" }) { id nodeId } }"#, json!({}))
            .await;
    let node_id = created["data"]["createPassenger"]["nodeId"].clone();
    assert!(node_id.is_string());
    assert_eq!(
        sub.next_event().await,
        json!({ "kind": "CREATED", "nodeId": node_id, "passenger": { "nodeId": node_id } })
    );
    let id = created["data"]["createPassenger"]["id"].as_str().unwrap().to_owned();
    crate::rest::call(&app, "DELETE", &format!("/deletepassenger/{id}"), None, None).await;
    assert_eq!(sub.next_event().await, json!({ "kind": "DELETED", "nodeId": node_id, "passenger": null }));
}

#[tokio::test]
async fn the_older_graphql_ws_protocol_is_spoken_too() {
    let app = spawn_app().await;
    ready(&app).await;
    let mut sub = Subscription::open(&app.address, "graphql-ws", EVENTS, json!({})).await;
    crate::rest::post_json(&app, &body_with(json!({ "name": "Old Protocol" }))).await;
    let event = sub.next_event().await;
    assert_eq!((event["kind"].as_str(), event["passenger"]["name"].as_str()), (Some("CREATED"), Some("Old Protocol")));
}

#[tokio::test]
async fn a_subscription_filter_only_lets_matching_changes_through() {
    let app = spawn_app().await;
    ready(&app).await;
    let filter = json!({ "f": { "sex": { "eq": "female" }, "name": { "startsWith": "Keep" } } });
    let mut sub = Subscription::open(&app.address, "graphql-transport-ws", EVENTS, filter).await;
    for (name, sex) in [("Keep-Male", "male"), ("Drop-Female", "female"), ("Keep-Female", "female")] {
        crate::rest::post_json(&app, &body_with(json!({ "name": name, "sex": sex }))).await;
    }
    assert_eq!(sub.next_event().await["passenger"]["name"], "Keep-Female");
    sub.assert_quiet(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn the_number_of_open_subscriptions_is_capped() {
    let app = spawn_app_with(|c| c.max_subscriptions = 1).await;
    let _first = Subscription::open(&app.address, "graphql-transport-ws", EVENTS, json!({})).await;
    let mut second = Subscription::open(&app.address, "graphql-transport-ws", EVENTS, json!({})).await;
    let message = second.next_raw().await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS", "{message}");
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_is_told_and_disconnected_without_stalling_writers() {
    let test_db = TestDb::new().await;
    let db = test_db.migrated().await;
    let mut config = Config::with_database_url(&test_db.url);
    config.event_buffer = 4;
    let events = passenger_api::service::events::Events::new(config.event_buffer);
    let schema = passenger_api::graphql::build_schema(db.clone(), events.clone(), &config);
    let mut stream = schema.execute_stream(async_graphql::Request::new(EVENTS));
    // First poll registers the subscriber; nothing has happened yet.
    assert!(tokio::time::timeout(Duration::from_millis(100), stream.next()).await.is_err());
    for i in 0..10 {
        // Delivered locally, as a replica's listener does, without waiting for anyone.
        let row = entity::passenger::Model {
            uuid: uuid::Uuid::new_v4(),
            survived: None,
            passenger_class: None,
            name: Some(format!("Flood {i}")),
            sex: None,
            age: None,
            siblings_or_spouses_aboard: None,
            parents_or_children_aboard: None,
            fare: None,
            seq: i,
            version: 1,
        };
        events.deliver(passenger_api::service::events::PassengerEvent::new(
            passenger_api::service::events::EventKind::Created,
            row,
        ));
    }
    let first = stream.next().await.unwrap();
    assert_eq!(first.errors.len(), 1, "{first:?}");
    let code = first.errors[0].extensions.as_ref().and_then(|x| x.get("code")).cloned();
    assert_eq!(code, Some(async_graphql::Value::from("SUBSCRIBER_LAGGED")));
    assert!(first.errors[0].message.contains("fell 6 events behind"), "{}", first.errors[0].message);
    assert!(stream.next().await.is_none(), "the subscription ends");
}

async fn start(test_db: &TestDb) -> String {
    let mut config = Config::with_database_url(&test_db.url);
    config.bind = "127.0.0.1:0".parse().unwrap();
    let app = Application::build(config).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    address
}

#[tokio::test]
async fn writes_through_one_replica_reach_subscribers_on_another_exactly_once() {
    let Some(admin) = postgres_only("writes_through_one_replica_reach_subscribers_on_another_exactly_once") else {
        return;
    };
    let test_db = TestDb::postgres(admin).await;
    let (a, b) = (start(&test_db).await, start(&test_db).await);
    let db = test_db.connect().await;
    wait_for_listeners(&db, 2).await;
    let mut on_b = Subscription::open(&b, "graphql-transport-ws", EVENTS, json!({})).await;
    let mut on_a = Subscription::open(&a, "graphql-ws", EVENTS, json!({})).await;

    let created =
        graphql(&a, r#"mutation { createPassenger(input: { name: "Across", sex: "male" }) { id } }"#, json!({})).await;
    let id = created["data"]["createPassenger"]["id"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();
    let put = client
        .put(format!("{a}/putpassenger/{id}"))
        .header("content-type", "application/json")
        .body(body_with(json!({ "name": "Across-2" })))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let patched = graphql(
        &a,
        "mutation($id: UUID!) { patchPassenger(id: $id, patch: { sex: \"female\" }) { id } }",
        json!({ "id": id }),
    )
    .await;
    assert!(patched.get("errors").is_none(), "{patched}");
    let posted: Value = client
        .post(format!("{a}/postpassenger"))
        .header("content-type", "application/json")
        .body(body_with(json!({ "name": "Via REST" })))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    client.delete(format!("{a}/deletepassenger/{id}")).send().await.unwrap();

    for sub in [&mut on_b, &mut on_a] {
        assert_eq!(
            sub.next_event().await,
            json!({ "kind": "CREATED", "id": id, "passenger": { "name": "Across", "sex": "male" } })
        );
        assert_eq!(
            sub.next_event().await,
            json!({ "kind": "UPDATED", "id": id, "passenger": { "name": "Across-2", "sex": "male" } })
        );
        assert_eq!(
            sub.next_event().await,
            json!({ "kind": "UPDATED", "id": id, "passenger": { "name": "Across-2", "sex": "female" } })
        );
        let rest = sub.next_event().await;
        assert_eq!((rest["kind"].as_str(), &rest["id"]), (Some("CREATED"), &posted[0]["uuid"]));
        assert_eq!(sub.next_event().await, json!({ "kind": "DELETED", "id": id, "passenger": null }));
        sub.assert_quiet(Duration::from_millis(400)).await;
    }
}

#[tokio::test]
async fn the_listener_reconnects_after_its_connection_is_killed() {
    let Some(admin) = postgres_only("the_listener_reconnects_after_its_connection_is_killed") else {
        return;
    };
    let test_db = TestDb::postgres(admin).await;
    let address = start(&test_db).await;
    let db = test_db.connect().await;
    wait_for_listeners(&db, 1).await;
    let mut sub = Subscription::open(&address, "graphql-transport-ws", EVENTS, json!({})).await;

    db.execute_unprepared(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'passenger-api-listener' AND datname = current_database()",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    wait_for_listeners(&db, 1).await;

    graphql(&address, r#"mutation { createPassenger(input: { name: "After Kill" }) { id } }"#, json!({})).await;
    assert_eq!(sub.next_event().await["passenger"]["name"], "After Kill");
}

#[tokio::test]
async fn shutting_down_turns_readiness_off_first_and_completes_open_subscriptions() {
    let mut app = spawn_app_with(|c| c.shutdown_delay_secs = 1).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let mut sub = Subscription::open(&app.address, "graphql-transport-ws", EVENTS, json!({})).await;
    let mut old = Subscription::open(&app.address, "graphql-ws", EVENTS, json!({})).await;
    app.shut_down();
    assert_eq!(sub.next_raw().await, json!({ "id": "1", "type": "complete" }));
    assert_eq!(old.next_raw().await, json!({ "id": "1", "type": "complete" }));
    let readiness = app.get("/readyz").await;
    assert_eq!(readiness.status(), 503, "during the shutdown delay the listener is open but not ready");
    assert_eq!(readiness.text().await.unwrap(), "shutting down\n");
}
