//! Automatic persisted queries and the strict allow-list mode, over HTTP.

use passenger_api::graphql::documents::sha256_hex;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const QUERY: &str = "{ passengers { totalCount } }";

async fn post(app: &TestApp, body: Value) -> Value {
    app.client.post(format!("{}/graphql", app.address)).json(&body).send().await.unwrap().json().await.unwrap()
}

async fn get(app: &TestApp, params: &[(&str, String)]) -> Value {
    app.client.get(format!("{}/graphql", app.address)).query(params).send().await.unwrap().json().await.unwrap()
}

fn apq(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

#[tokio::test]
async fn an_unknown_hash_is_not_found_until_the_query_is_sent_once() {
    let app = spawn_app().await;
    let hash = sha256_hex(QUERY);
    let miss = post(&app, json!({ "extensions": apq(&hash) })).await;
    assert_eq!(miss["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(miss["errors"][0]["message"], "PersistedQueryNotFound");

    let register = post(&app, json!({ "query": QUERY, "extensions": apq(&hash) })).await;
    assert_eq!(register, json!({ "data": { "passengers": { "totalCount": 0 } } }));

    let hit = post(&app, json!({ "extensions": apq(&hash) })).await;
    assert_eq!(hit, json!({ "data": { "passengers": { "totalCount": 0 } } }));
    let over_get = get(&app, &[("extensions", apq(&hash).to_string())]).await;
    assert_eq!(over_get, json!({ "data": { "passengers": { "totalCount": 0 } } }));
}

#[tokio::test]
async fn a_query_that_does_not_match_its_hash_is_refused() {
    let app = spawn_app().await;
    let wrong = sha256_hex("{ __typename }");
    let response = post(&app, json!({ "query": QUERY, "extensions": apq(&wrong) })).await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_HASH_MISMATCH");
}

/// An allow-list of `QUERY` (and, with `legacy`, the REST shim's operations), written by the
/// `persisted-queries` command as an operator would.
fn allowlist(dir: &std::path::Path, legacy: bool) -> std::path::PathBuf {
    let file = dir.join("allow.graphql");
    std::fs::write(&file, QUERY).unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_passenger-api"));
    command.arg("persisted-queries").arg(&file);
    if legacy {
        command.arg("--include-legacy-routes");
    }
    let out = command.output().unwrap();
    assert!(out.status.success());
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = manifest["operations"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&sha256_hex(QUERY).as_str()));
    assert_eq!(ids.len(), if legacy { 6 } else { 1 });
    let list = dir.join(if legacy { "with-legacy.json" } else { "allowlist.json" });
    std::fs::write(&list, &out.stdout).unwrap();
    list
}

#[tokio::test]
async fn strict_mode_runs_only_allow_listed_operations_on_every_interface() {
    let dir = tempfile::tempdir().unwrap();
    let list = allowlist(dir.path(), false);
    let app = spawn_app_with(|c| c.persisted_queries_allowlist = Some(list.clone())).await;
    assert_eq!(post(&app, json!({ "query": QUERY })).await, json!({ "data": { "passengers": { "totalCount": 0 } } }));
    let by_hash = post(&app, json!({ "extensions": apq(&sha256_hex(QUERY)) })).await;
    assert_eq!(by_hash, json!({ "data": { "passengers": { "totalCount": 0 } } }));
    let other = post(&app, json!({ "query": "mutation { createPassenger(input: {name: \"x\"}) { id } }" })).await;
    assert_eq!(other["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_ALLOWED");
    assert_eq!(passenger_api::service::passenger::count(&app.db).await.unwrap(), 0);

    let shim = crate::rest::post_json(&app, crate::rest::README_BODY).await;
    assert_eq!(shim.status, 403, "the shim's operation is not on this list");
    assert_eq!(shim.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(crate::rest::get(&app, "/passengerlist").await.status, 403);
    assert_eq!(passenger_api::service::passenger::count(&app.db).await.unwrap(), 0);
}

#[tokio::test]
async fn strict_mode_with_the_legacy_operations_listed_keeps_the_legacy_routes_working() {
    let dir = tempfile::tempdir().unwrap();
    let list = allowlist(dir.path(), true);
    let app = spawn_app_with(|c| c.persisted_queries_allowlist = Some(list.clone())).await;
    let shim = crate::rest::post_json(&app, crate::rest::README_BODY).await;
    assert_eq!(shim.status, 200, "{}", shim.text());
    assert_eq!(crate::rest::list(&app).await.len(), 1);
    let other = post(&app, json!({ "query": "{ passengers { nodes { id } } }" })).await;
    assert_eq!(other["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_ALLOWED");
}

#[test]
fn allow_lists_must_match_their_hashes() {
    let bad = json!({ "0000": QUERY }).to_string();
    assert!(passenger_api::graphql::documents::read_allowlist(&bad).is_err());
    let good = json!({ sha256_hex(QUERY): QUERY }).to_string();
    assert_eq!(passenger_api::graphql::documents::read_allowlist(&good).unwrap().len(), 1);
}
