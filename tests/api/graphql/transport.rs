//! GraphQL over HTTP on a real server: methods, media types, status codes, CSRF, limits.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post(
    app: &TestApp,
    content_type: &str,
    accept: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = app.client.post(format!("{}/graphql", app.address)).header(CONTENT_TYPE, content_type).body(body);
    if let Some(accept) = accept {
        request = request.header(ACCEPT, accept);
    }
    request.send().await.unwrap()
}

fn content_type(response: &reqwest::Response) -> String {
    response.headers()[CONTENT_TYPE].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn post_with_json_executes_and_answers_application_json_by_default() {
    let app = spawn_app().await;
    let response = post(&app, "application/json", None, r#"{"query":"{ passengers { totalCount } }"}"#).await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), "application/json; charset=utf-8");
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "data": { "passengers": { "totalCount": 0 } } }));
}

#[tokio::test]
async fn post_answers_graphql_response_json_when_accepted() {
    let app = spawn_app().await;
    let accept = "application/graphql-response+json, application/json;q=0.9";
    let response = post(&app, "application/json; charset=utf-8", Some(accept), r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), "application/graphql-response+json; charset=utf-8");
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "data": { "__typename": "Query" } }));
}

#[tokio::test]
async fn documents_that_fail_to_parse_or_validate_are_400_with_graphql_response_json_and_200_with_json() {
    let app = spawn_app().await;
    for (body, code) in [
        (r#"{"query":"{ passengers { "}"#, "GRAPHQL_PARSE_FAILED"),
        (r#"{"query":"{ noSuchField }"}"#, "GRAPHQL_VALIDATION_FAILED"),
    ] {
        let strict = post(&app, "application/json", Some(GRAPHQL_RESPONSE), body).await;
        assert_eq!(strict.status(), 400, "{body}");
        let strict: Value = strict.json().await.unwrap();
        assert_eq!(strict["errors"][0]["extensions"]["code"], code);
        assert!(strict.get("data").is_none() || strict["data"].is_null());
        let legacy = post(&app, "application/json", Some("application/json"), body).await;
        assert_eq!(legacy.status(), 200, "{body}");
    }
}

#[tokio::test]
async fn malformed_requests_are_400_whatever_the_accept_header() {
    let app = spawn_app().await;
    for body in
        ["{not json", r#"{"variables":{}}"#, r#"{"query": 42}"#, r#"{"query":"{ __typename }","variables":[1]}"#]
    {
        for accept in [None, Some(GRAPHQL_RESPONSE)] {
            let response = post(&app, "application/json", accept, body).await;
            assert_eq!(response.status(), 400, "{body} with {accept:?}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
        }
    }
}

#[tokio::test]
async fn simple_content_types_are_refused_so_cross_site_forms_cannot_write() {
    let app = spawn_app().await;
    let mutation = r#"{"query":"mutation { createPassenger(input: {name: \"csrf\"}) { id } }"}"#;
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
        let response = post(&app, content_type, None, mutation).await;
        assert_eq!(response.status(), 415, "{content_type}");
    }
    let response = app.client.post(format!("{}/graphql", app.address)).body(mutation).send().await.unwrap();
    assert_eq!(response.status(), 415, "no content type");
    assert_eq!(passenger_api::service::passenger::count(&app.db).await.unwrap(), 0);
}

#[tokio::test]
async fn get_runs_queries_from_the_url() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[
            ("query", "query Q($n: Int) { passengers(first: $n) { totalCount } }"),
            ("variables", r#"{"n": 1}"#),
            ("operationName", "Q"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "data": { "passengers": { "totalCount": 0 } } }));
}

#[tokio::test]
async fn mutations_over_get_are_405_and_write_nothing() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", r#"mutation { createPassenger(input: {name: "via GET"}) { id } }"#)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "METHOD_NOT_ALLOWED");
    assert_eq!(passenger_api::service::passenger::count(&app.db).await.unwrap(), 0);
}

#[tokio::test]
async fn get_without_a_query_serves_the_playground_to_browsers_and_400_to_others() {
    let app = spawn_app().await;
    let page = app
        .client
        .get(format!("{}/graphql", app.address))
        .header(ACCEPT, "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(content_type(&page).starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("graphiql") || html.contains("GraphiQL"), "{html}");
    let api =
        app.client.get(format!("{}/graphql", app.address)).header(ACCEPT, "application/json").send().await.unwrap();
    assert_eq!(api.status(), 400);
}

#[tokio::test]
async fn an_unacceptable_accept_header_is_406() {
    let app = spawn_app().await;
    let response = post(&app, "application/json", Some("application/xml"), r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(response.status(), 406);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = spawn_app_with(|c| c.body_limit_bytes = 1024).await;
    let big = format!(r#"{{"query":"{{ __typename }}","variables":{{"pad":"{}"}}}}"#, "x".repeat(2000));
    let response = post(&app, "application/json", None, big).await;
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn batches_run_every_operation_up_to_the_limit() {
    let app = spawn_app_with(|c| c.graphql_max_batch = 2).await;
    let response = post(
        &app,
        "application/json",
        None,
        r#"[{"query":"{ __typename }"},{"query":"{ passengers { totalCount } }"}]"#,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!([{ "data": { "__typename": "Query" } }, { "data": { "passengers": { "totalCount": 0 } } }])
    );
    let three = r#"[{"query":"{ __typename }"},{"query":"{ __typename }"},{"query":"{ __typename }"}]"#;
    assert_eq!(post(&app, "application/json", None, three).await.status(), 400);
}

#[tokio::test]
async fn a_request_over_the_time_limit_is_cancelled_with_503_and_the_server_stays_responsive() {
    let app = spawn_app_with(|c| c.request_timeout_ms = 1).await;
    passenger_api::seed::insert(&app.db, passenger_api::seed::synthetic(20_000, 3).collect(), false).await.unwrap();
    let slow = r#"{"query":"{ a: passengerStats(groupBy: [SEX, PASSENGER_CLASS, SURVIVED]) { count } b: passengers(filter: {name: {containsInsensitive: \"zzz\"}}) { totalCount } }"}"#;
    let response = post(&app, "application/json", None, slow).await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "TIMEOUT");
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn the_standard_graphql_js_introspection_query_answers_under_the_default_limits() {
    let app = spawn_app().await;
    let query = passenger_api::graphql::limits::STANDARD_INTROSPECTION;
    let response = post(&app, "application/json", Some(GRAPHQL_RESPONSE), json!({ "query": query }).to_string()).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    let schema = &body["data"]["__schema"];
    assert_eq!(schema["queryType"]["name"], "Query");
    let types = schema["types"].as_array().unwrap();
    let query_type = types.iter().find(|t| t["name"] == "Query").unwrap();
    let fields: Vec<&str> =
        query_type["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(fields.contains(&"passengers") && fields.contains(&"passengerStats"), "{fields:?}");
    assert!(query_type["description"].is_string());
    assert!(schema["directives"].as_array().unwrap().iter().all(|d| d["isRepeatable"].is_boolean()));
}

#[tokio::test]
async fn a_document_that_cannot_run_has_no_data_entry_with_graphql_response_json() {
    let app = spawn_app().await;
    for body in [r#"{"query":"{ passengers { "}"#, r#"{"query":"{ noSuchField }"}"#] {
        let response = post(&app, "application/json", Some(GRAPHQL_RESPONSE), body).await;
        assert_eq!(response.status(), 400);
        let json: Value = response.json().await.unwrap();
        assert!(json.get("data").is_none(), "{json}");
        for error in json["errors"].as_array().unwrap() {
            for location in error["locations"].as_array().into_iter().flatten() {
                assert!(location["line"].as_u64() >= Some(1) && location["column"].as_u64() >= Some(1), "{json}");
            }
        }
    }
}

#[tokio::test]
async fn a_list_selected_twice_under_one_key_is_merged_over_http() {
    let app = spawn_app().await;
    app.seed_titanic().await;
    let query = r#"{"query":"{ passengers(first: 2) { nodes { id } nodes { name } ... on PassengerConnection { nodes { age } } } }"}"#;
    let response = post(&app, "application/json", None, query).await;
    let body: Value = response.json().await.unwrap();
    let first = &body["data"]["passengers"]["nodes"][0];
    assert_eq!(first["name"], "Mr. Owen Harris Braund", "{body}");
    assert_eq!(first["age"], 22.0, "{body}");
    assert!(first["id"].is_string(), "{body}");
}
