//! Issue 17: writes that can be retried and trusted — idempotency keys, optimistic concurrency
//! (GraphQL `expectedVersion`, legacy `ETag`/`If-Match`/`If-None-Match`), and no failure
//! answered for a write that committed. On SQLite and on PostgreSQL.

use std::time::Duration;

use passenger_api::startup::Application;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, postgres_only, spawn_app, spawn_app_on, spawn_app_with, spawn_replica};
use crate::rest::{Answer, body_with};

/// Sends `method path` with `body` (JSON) and extra `headers`.
pub(crate) async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    send_to(&app.client, &app.address, method, path, body, headers).await
}

pub(crate) async fn send_to(
    client: &reqwest::Client,
    address: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client.request(method, format!("{address}{path}"));
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_owned());
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap().to_vec();
    Answer { status, headers, body }
}

pub(crate) fn graphql_body(query: &str, variables: Value) -> String {
    json!({ "query": query, "variables": variables }).to_string()
}

/// Rows whose name is `name`.
async fn count_named(app: &TestApp, name: &str) -> i64 {
    let backend = app.db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => "SELECT count(*) AS n FROM passengers WHERE name = $1",
        _ => "SELECT count(*) AS n FROM passengers WHERE name = ?",
    };
    let row = app.db.query_one_raw(Statement::from_sql_and_values(backend, sql, [name.into()])).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn stored_keys(app: &TestApp) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT count(*) AS n FROM passenger_api_idempotency",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

const CREATE: &str = "mutation($name: String) { createPassenger(input: { name: $name }) { id name version } }";

/// Sends a write until it is not refused as still running (a retry racing its original gets
/// 409 with `Retry-After` until the original finished).
async fn until_done(app: &TestApp, method: &str, path: &str, body: Option<&str>, headers: &[(&str, &str)]) -> Answer {
    for _ in 0..500 {
        let answer = send(app, method, path, body, headers).await;
        if answer.status != 409 {
            return answer;
        }
        assert_eq!(answer.header("retry-after"), "1", "a 409 says when to retry");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{method} {path} stayed in progress");
}

/// One write sent with `key`, retried once or twice; some retries race the original. Every
/// answer must be the original's, byte for byte.
async fn write_with_retries(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<&str>,
    key: &str,
    racing: bool,
    retries: usize,
) -> Answer {
    let headers = [("idempotency-key", key)];
    let original = if racing {
        let (original, raced) =
            tokio::join!(until_done(app, method, path, body, &headers), until_done(app, method, path, body, &headers));
        assert_eq!((raced.status, &raced.body), (original.status, &original.body), "{method} {path}: racing retry");
        original
    } else {
        send(app, method, path, body, &headers).await
    };
    for _ in 0..retries {
        let retry = until_done(app, method, path, body, &headers).await;
        assert_eq!(retry.status, original.status, "{method} {path}: status of a retry");
        assert!(
            retry.body == original.body,
            "{method} {path}: a retry answered {} for {}",
            retry.text(),
            original.text()
        );
        assert_eq!(retry.header("etag"), original.header("etag"));
        assert_eq!(retry.header("idempotent-replayed"), "true");
    }
    original
}

#[tokio::test]
async fn fifty_clients_retrying_every_write_with_keys_write_everything_exactly_once() {
    let app = spawn_app().await;
    let clients = (0..50).map(|c| {
        let app = &app;
        async move {
            let racing = c % 3 == 0;
            let retries = 1 + c % 2;
            // GraphQL create.
            let name = format!("Client {c}");
            let body = graphql_body(CREATE, json!({ "name": name }));
            let created =
                write_with_retries(app, "POST", "/graphql", Some(&body), &format!("{c}-create"), racing, retries).await;
            let id = created.json()["data"]["createPassenger"]["id"].as_str().unwrap().to_owned();
            // Legacy POST, then a legacy PUT of the GraphQL one, then a legacy DELETE of the POSTed one.
            let posted_name = format!("Posted {c}");
            let body = body_with(json!({ "name": posted_name }));
            let posted =
                write_with_retries(app, "POST", "/postpassenger", Some(&body), &format!("{c}-post"), !racing, retries)
                    .await;
            assert_eq!(posted.status, 200);
            let posted_id = posted.json()[0]["uuid"].as_str().unwrap().to_owned();
            let body = body_with(json!({ "name": format!("Client {c} renamed") }));
            let put = write_with_retries(
                app,
                "PUT",
                &format!("/putpassenger/{id}"),
                Some(&body),
                &format!("{c}-put"),
                racing,
                retries,
            )
            .await;
            assert_eq!((put.status, put.text(), put.header("etag")), (200, "null\n".into(), "\"2\"".into()));
            let delete = write_with_retries(
                app,
                "DELETE",
                &format!("/deletepassenger/{posted_id}"),
                None,
                &format!("{c}-delete"),
                !racing,
                retries,
            )
            .await;
            assert_eq!(delete.text(), "null\n");
            id
        }
    });
    let ids = futures_util::future::join_all(clients).await;
    for (c, id) in ids.iter().enumerate() {
        assert_eq!(count_named(&app, &format!("Client {c}")).await, 0, "renamed by the PUT");
        assert_eq!(count_named(&app, &format!("Client {c} renamed")).await, 1, "created once");
        assert_eq!(count_named(&app, &format!("Posted {c}")).await, 0, "posted once, deleted");
        let row = entity::passenger::Entity::find_by_id(id.parse::<uuid::Uuid>().unwrap());
        use sea_orm::EntityTrait;
        assert_eq!(row.one(&app.db).await.unwrap().unwrap().version, 2, "updated exactly once");
    }
    assert_eq!(passenger_api::service::passenger::count(&app.db).await.unwrap(), 50);
    assert_eq!(stored_keys(&app).await, 200);
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_refused_and_writes_nothing() {
    let app = spawn_app().await;
    let key = [("idempotency-key", "reused")];
    let first = send(&app, "POST", "/postpassenger", Some(&body_with(json!({ "name": "First" }))), &key).await;
    assert_eq!(first.status, 200);
    let other = send(&app, "POST", "/postpassenger", Some(&body_with(json!({ "name": "Second" }))), &key).await;
    assert_eq!(other.status, 422);
    assert!(other.text().contains("used for a different request"), "{}", other.text());
    // Same on /graphql, where the refusal is a GraphQL error with a code.
    let body = graphql_body(CREATE, json!({ "name": "Third" }));
    let gql = send(&app, "POST", "/graphql", Some(&body), &key).await;
    assert_eq!(gql.status, 422);
    assert_eq!(gql.json()["errors"][0]["extensions"]["code"], "IDEMPOTENCY_KEY_REUSED");
    assert_eq!((count_named(&app, "Second").await, count_named(&app, "Third").await), (0, 0));
    assert_eq!(count_named(&app, "First").await, 1);

    // Malformed keys are refused before anything runs.
    let long = "k".repeat(256);
    let bad = send(&app, "POST", "/postpassenger", Some(&body_with(json!({}))), &[("idempotency-key", &long)]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("at most 255"), "{}", bad.text());
    // Without the header nothing changes: two posts, two rows.
    for _ in 0..2 {
        send(&app, "POST", "/postpassenger", Some(&body_with(json!({ "name": "Unkeyed" }))), &[]).await;
    }
    assert_eq!(count_named(&app, "Unkeyed").await, 2);
}

#[tokio::test]
async fn keys_are_scoped_to_the_token_and_ignored_on_queries() {
    let app = spawn_app_with(|c| c.api_tokens = Some(passenger_api::config::Secret("tok-a,tok-b".into()))).await;
    let body = body_with(json!({ "name": "Scoped" }));
    for token in ["Bearer tok-a", "Bearer tok-b", "Bearer tok-a"] {
        let answer =
            send(&app, "POST", "/postpassenger", Some(&body), &[("idempotency-key", "k1"), ("authorization", token)])
                .await;
        assert_eq!(answer.status, 200);
    }
    assert_eq!(count_named(&app, "Scoped").await, 2, "one per token: the third request was tok-a's retry");
    // A query with a key just runs, and nothing is stored for it.
    let stored = stored_keys(&app).await;
    let query = graphql_body("{ passengers { totalCount } }", json!({}));
    let answer = send(&app, "POST", "/graphql", Some(&query), &[("idempotency-key", "q")]).await;
    assert_eq!(answer.json()["data"]["passengers"]["totalCount"], 2);
    assert_eq!(stored_keys(&app).await, stored);
}

#[tokio::test]
async fn a_key_replayed_after_expiry_is_a_new_request_and_expired_keys_are_purged() {
    let app = spawn_app_with(|c| c.idempotency_ttl_secs = 1).await;
    let body = graphql_body(CREATE, json!({ "name": "Expiring" }));
    let key = [("idempotency-key", "short-lived")];
    let first = send(&app, "POST", "/graphql", Some(&body), &key).await;
    let replay = send(&app, "POST", "/graphql", Some(&body), &key).await;
    assert!(replay.body == first.body);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = send(&app, "POST", "/graphql", Some(&body), &key).await;
    assert_eq!(fresh.header("idempotent-replayed"), "");
    assert_ne!(fresh.json()["data"]["createPassenger"]["id"], first.json()["data"]["createPassenger"]["id"]);
    assert_eq!(count_named(&app, "Expiring").await, 2);

    send(
        &app,
        "POST",
        "/graphql",
        Some(&graphql_body(CREATE, json!({ "name": "Other" }))),
        &[("idempotency-key", "x")],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let purged = passenger_api::service::idempotency::purge(&app.db, now, 1).await.unwrap();
    assert_eq!(purged, 1, "batches are bounded");
    assert_eq!(passenger_api::service::idempotency::purge(&app.db, now, 1000).await.unwrap(), 1);
    assert_eq!(stored_keys(&app).await, 0);
    assert_eq!(count_named(&app, "Expiring").await, 2, "purging touches no passenger");
}

/// Holds the database's write lock (SQLite) or a lock on the table that blocks inserts
/// (PostgreSQL) until dropped: writes of the service wait meanwhile.
struct Blocker {
    release: Option<tokio::sync::oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

impl Blocker {
    async fn hold(url: &str) -> Self {
        use sea_orm::sqlx::Connection;
        let (locked_tx, locked_rx) = tokio::sync::oneshot::channel();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let url = url.to_owned();
        let done = tokio::spawn(async move {
            if url.starts_with("postgres") {
                let mut conn = sea_orm::sqlx::PgConnection::connect(&url).await.unwrap();
                sea_orm::sqlx::raw_sql("BEGIN; LOCK TABLE passengers IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let _ = locked_tx.send(());
                let _ = released.await;
                sea_orm::sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.unwrap();
            } else {
                let mut conn = sea_orm::sqlx::SqliteConnection::connect(&url).await.unwrap();
                sea_orm::sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut conn).await.unwrap();
                let _ = locked_tx.send(());
                let _ = released.await;
                sea_orm::sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.unwrap();
            }
        });
        locked_rx.await.unwrap();
        Self { release: Some(release), done }
    }

    async fn release(mut self) {
        let _ = self.release.take().unwrap().send(());
        (&mut self.done).await.unwrap();
    }
}

#[tokio::test]
async fn a_retry_while_the_first_request_runs_is_told_to_come_back_and_then_gets_its_answer() {
    let app = spawn_app().await;
    let body = body_with(json!({ "name": "Slow" }));
    let blocker = Blocker::hold(&app.config.database_url).await;
    let key = [("idempotency-key", "in-flight")];
    let first = send(&app, "POST", "/postpassenger", Some(&body), &key);
    let racing = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let busy = send(&app, "POST", "/postpassenger", Some(&body), &key).await;
        blocker.release().await;
        busy
    };
    let (first, busy) = tokio::join!(first, racing);
    assert_eq!(busy.status, 409, "{} / first: {} {}", busy.text(), first.status, first.text());
    assert_eq!(busy.header("retry-after"), "1");
    assert_eq!(first.status, 200);
    let retry = send(&app, "POST", "/postpassenger", Some(&body), &key).await;
    assert!(retry.body == first.body);
    assert_eq!(count_named(&app, "Slow").await, 1);
}

#[tokio::test]
async fn a_retry_on_another_replica_while_the_first_request_runs_is_told_to_come_back() {
    let Some(admin) = postgres_only("a_retry_on_another_replica_while_the_first_request_runs_is_told_to_come_back")
    else {
        return;
    };
    let app = spawn_app_on(TestDb::postgres(admin).await, |_| {}).await;
    let other_address = spawn_replica(&app).await;

    let body = graphql_body(CREATE, json!({ "name": "Across Replicas" }));
    let blocker = Blocker::hold(&app.config.database_url).await;
    let key = [("idempotency-key", "replicas")];
    let first = send(&app, "POST", "/graphql", Some(&body), &key);
    let racing = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let busy = send_to(&app.client, &other_address, "POST", "/graphql", Some(&body), &key).await;
        blocker.release().await;
        busy
    };
    let (first, busy) = tokio::join!(first, racing);
    assert_eq!(busy.status, 409);
    assert_eq!(busy.json()["errors"][0]["extensions"]["code"], "IDEMPOTENCY_KEY_IN_USE");
    let retry = send_to(&app.client, &other_address, "POST", "/graphql", Some(&body), &key).await;
    assert!(retry.body == first.body, "{} vs {}", retry.text(), first.text());
    assert_eq!(count_named(&app, "Across Replicas").await, 1);
}

const UPDATE: &str = "mutation($id: UUID!, $v: Int) { updatePassenger(id: $id, input: { name: \"Edited\" }, expectedVersion: $v) { version } }";

#[tokio::test]
async fn two_editors_of_the_same_version_one_wins_the_other_gets_a_conflict_with_the_current_version() {
    let app = spawn_app().await;
    let created =
        send(&app, "POST", "/graphql", Some(&graphql_body(CREATE, json!({ "name": "Contested" }))), &[]).await;
    let id = created.json()["data"]["createPassenger"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created.json()["data"]["createPassenger"]["version"], 1);

    let edit = graphql_body(UPDATE, json!({ "id": id, "v": 1 }));
    let (a, b) = tokio::join!(
        send(&app, "POST", "/graphql", Some(&edit), &[]),
        send(&app, "POST", "/graphql", Some(&edit), &[])
    );
    let (a, b) = (a.json(), b.json());
    let (won, lost) = if a["errors"].is_null() { (a, b) } else { (b, a) };
    assert_eq!(won["data"]["updatePassenger"]["version"], 2, "{won}");
    assert_eq!(lost["errors"][0]["extensions"]["code"], "CONFLICT", "{lost}");
    assert_eq!(lost["errors"][0]["extensions"]["currentVersion"], 2);
    assert_eq!(lost["errors"][0]["extensions"]["expectedVersion"], 1);
    assert!(lost["data"]["updatePassenger"].is_null());

    // patch and delete check the version too; a stale delete deletes nothing.
    let patch =
        "mutation($id: UUID!) { patchPassenger(id: $id, patch: { fare: 1.5 }, expectedVersion: 1) { version } }";
    let stale = send(&app, "POST", "/graphql", Some(&graphql_body(patch, json!({ "id": id }))), &[]).await.json();
    assert_eq!(stale["errors"][0]["extensions"]["code"], "CONFLICT");
    let delete = "mutation($id: UUID!, $v: Int) { deletePassenger(id: $id, expectedVersion: $v) }";
    let stale = send(&app, "POST", "/graphql", Some(&graphql_body(delete, json!({ "id": id, "v": 1 }))), &[]).await;
    assert_eq!(stale.json()["errors"][0]["extensions"]["currentVersion"], 2);
    assert_eq!(count_named(&app, "Edited").await, 1);
    // An update made with SQL, outside the service, bumps the version too.
    app.db
        .execute_unprepared(&format!(
            "UPDATE passengers SET fare = 3.5 WHERE uuid = {}",
            match app.db.get_database_backend() {
                DatabaseBackend::Postgres => format!("'{id}'"),
                _ => format!("X'{}'", id.replace('-', "")),
            }
        ))
        .await
        .unwrap();
    let fresh = send(&app, "POST", "/graphql", Some(&graphql_body(delete, json!({ "id": id, "v": 3 }))), &[]).await;
    assert_eq!(fresh.json()["data"]["deletePassenger"], true, "{}", fresh.text());
    // Unknown ids are null / false, not conflicts.
    let unknown = graphql_body(UPDATE, json!({ "id": uuid::Uuid::new_v4(), "v": 1 }));
    let unknown = send(&app, "POST", "/graphql", Some(&unknown), &[]).await.json();
    assert!(unknown["errors"].is_null() && unknown["data"]["updatePassenger"].is_null(), "{unknown}");
}

#[tokio::test]
async fn the_legacy_routes_speak_etag_if_none_match_and_if_match() {
    let app = spawn_app().await;
    let posted = send(&app, "POST", "/postpassenger", Some(&body_with(json!({ "name": "Tagged" }))), &[]).await;
    let id = posted.json()[0]["uuid"].as_str().unwrap().to_owned();
    let path = format!("/getpassenger/{id}");
    let got = send(&app, "GET", &path, None, &[]).await;
    assert_eq!(got.header("etag"), "\"1\"");
    assert!(!got.text().contains("version"), "the body stays legacy: {}", got.text());
    assert_eq!(got.json()["name"], "Tagged");
    let unchanged = send(&app, "GET", &path, None, &[("if-none-match", "\"1\"")]).await;
    assert_eq!((unchanged.status, unchanged.body.len(), unchanged.header("etag")), (304, 0, "\"1\"".into()));
    let weak = send(&app, "GET", &path, None, &[("if-none-match", "\"7\", W/\"1\"")]).await;
    assert_eq!(weak.status, 304, "If-None-Match compares weakly");
    let other = send(&app, "GET", &path, None, &[("if-none-match", "\"7\"")]).await;
    assert_eq!(other.status, 200);

    // Two clients PUT with the tag they read: one wins, the other gets 412.
    let put = format!("/putpassenger/{id}");
    let (a_body, b_body) = (body_with(json!({ "name": "By A" })), body_with(json!({ "name": "By B" })));
    let (a, b) = tokio::join!(
        send(&app, "PUT", &put, Some(&a_body), &[("if-match", "\"1\"")]),
        send(&app, "PUT", &put, Some(&b_body), &[("if-match", "\"1\"")])
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 412]);
    let (won, lost) = if a.status == 200 { (&a, &b) } else { (&b, &a) };
    assert_eq!((won.text(), won.header("etag")), ("null\n".into(), "\"2\"".into()));
    assert!(lost.text().contains("Precondition Failed"), "{}", lost.text());
    let after = send(&app, "GET", &path, None, &[]).await;
    assert_eq!(after.header("etag"), "\"2\"");
    assert_eq!(count_named(&app, "By A").await + count_named(&app, "By B").await, 1);
    let stale = send(&app, "GET", &path, None, &[("if-none-match", "\"1\"")]).await;
    assert_eq!(stale.status, 200, "a stale tag gets the new body");

    // Strong comparison for If-Match; `*` needs the passenger to exist; several tags work.
    let weak = send(&app, "PUT", &put, Some(&a_body), &[("if-match", "W/\"2\"")]).await;
    assert_eq!(weak.status, 412);
    let any = send(&app, "PUT", &put, Some(&a_body), &[("if-match", "*")]).await;
    assert_eq!((any.status, any.header("etag")), (200, "\"3\"".into()));
    let several = send(&app, "PUT", &put, Some(&a_body), &[("if-match", "\"1\", \"3\"")]).await;
    assert_eq!((several.status, several.header("etag")), (200, "\"4\"".into()));
    let unknown = format!("/putpassenger/{}", uuid::Uuid::new_v4());
    assert_eq!(send(&app, "PUT", &unknown, Some(&a_body), &[("if-match", "*")]).await.status, 412);
    assert_eq!(send(&app, "PUT", &unknown, Some(&a_body), &[]).await.status, 200, "without it: legacy 200 null");

    // DELETE with a stale tag deletes nothing; with the current one it deletes.
    let delete = format!("/deletepassenger/{id}");
    assert_eq!(send(&app, "DELETE", &delete, None, &[("if-match", "\"3\"")]).await.status, 412);
    assert_eq!(send(&app, "GET", &path, None, &[]).await.json()["name"], "By A");
    let gone = send(&app, "DELETE", &delete, None, &[("if-match", "\"4\"")]).await;
    assert_eq!((gone.status, gone.text()), (200, "null\n".into()));
    assert_eq!(send(&app, "GET", &path, None, &[]).await.text(), "null\n");
    assert_eq!(send(&app, "GET", &path, None, &[]).await.header("etag"), "", "no tag for null");
}

/// Every POST is either answered 200 and in the table, or answered with an error and not in
/// the table: `outcomes` pairs each answer with the name it posted.
async fn assert_no_false_failures(app: &TestApp, outcomes: &[(String, Answer)]) -> (usize, usize) {
    let (mut ok, mut failed) = (0, 0);
    for (name, answer) in outcomes {
        let rows = count_named(app, name).await;
        if answer.status == 200 {
            ok += 1;
            assert_eq!(rows, 1, "{name}: answered 200, but {rows} rows");
            let answered = answer.json();
            let names: Vec<&str> = answered.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
            assert_eq!(names, [name.as_str()], "the answer is what was committed");
        } else {
            failed += 1;
            assert_eq!(rows, 0, "{name}: answered {} ({}), but the row is in the table", answer.status, answer.text());
        }
    }
    (ok, failed)
}

#[tokio::test]
async fn a_write_past_its_time_limit_is_either_answered_as_done_or_not_written() {
    // Time limits from nothing to a few milliseconds: some writes make it, some do not; none
    // is answered as failed while in the table.
    let test_db = TestDb::new().await;
    let app = spawn_app_on(test_db, |_| {}).await;
    let mut outcomes = Vec::new();
    for ms in [0, 2, 10, 40] {
        let mut config = app.config.clone();
        config.bind = "127.0.0.1:0".parse().unwrap();
        config.request_timeout_ms = ms;
        config.db_max_connections = 4;
        let server = Application::build(config).await.unwrap();
        let address = format!("http://127.0.0.1:{}", server.port());
        tokio::spawn(server.run_until_stopped(std::future::pending()));
        let posts = (0..30).map(|i| {
            let (client, address) = (app.client.clone(), address.clone());
            async move {
                let name = format!("Timed {ms}-{i}");
                let body = body_with(json!({ "name": name }));
                (name, send_to(&client, &address, "POST", "/postpassenger", Some(&body), &[]).await)
            }
        });
        outcomes.extend(futures_util::future::join_all(posts).await);
    }
    let (ok, failed) = assert_no_false_failures(&app, &outcomes).await;
    eprintln!("time-limited writes: {ok} done, {failed} timed out");
    assert_eq!(ok + failed, 120);
}

#[tokio::test]
async fn a_write_whose_connection_is_killed_is_never_answered_as_failed_while_in_the_table() {
    let Some(admin) =
        postgres_only("a_write_whose_connection_is_killed_is_never_answered_as_failed_while_in_the_table")
    else {
        return;
    };
    let app = spawn_app_on(TestDb::postgres(admin).await, |c| c.db_acquire_timeout_secs = 10).await;
    let mut options = sea_orm::ConnectOptions::new(app.config.database_url.clone());
    options.max_connections(1).sqlx_logging(false);
    let killer_db = sea_orm::Database::connect(options).await.unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut kills = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Every busy session of the service: mid-insert, mid-read or mid-commit.
                let row = killer_db
                    .query_one_raw(Statement::from_string(
                        DatabaseBackend::Postgres,
                        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
                         WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'",
                    ))
                    .await;
                if let Ok(Some(row)) = row {
                    kills += row.try_get::<i64>("", "n").unwrap_or(0);
                }
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            kills
        })
    };
    let mut outcomes = Vec::new();
    for batch in 0..10 {
        let posts = (0..20).map(|i| {
            let app = &app;
            async move {
                let name = format!("Killed {batch}-{i}");
                let body = body_with(json!({ "name": name }));
                (name, send(app, "POST", "/postpassenger", Some(&body), &[]).await)
            }
        });
        outcomes.extend(futures_util::future::join_all(posts).await);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let kills = killer.await.unwrap();
    let (ok, failed) = assert_no_false_failures(&app, &outcomes).await;
    eprintln!("writes under connection kills ({kills} sessions killed): {ok} done, {failed} failed");
    assert!(kills > 0, "the killer killed nothing");
    assert_eq!(ok + failed, 200);
}
