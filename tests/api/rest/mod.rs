//! The legacy REST contract (measured on the original Flask service), one test per row of its
//! tables, over a real HTTP server, on SQLite and on PostgreSQL.

mod bodies;
mod methods;
mod order;
mod properties;
mod routes;
mod stream;
mod transport;

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, titanic_rows};

/// Seed row 0 of the contract, with its legacy uuid.
pub const ROW0_UUID: &str = "acd1111a-c9f6-4ff7-ba94-dc28bf15f36c";
/// The exact bytes of seed row 0 (`GET /getpassenger/<uuid>`), 208 with the newline.
pub const ROW0_BYTES: &str = "{\"age\":22.0,\"fare\":7.25,\"name\":\"Mr. Owen Harris Braund\",\"parentsOrChildrenAboard\":0,\"passengerClass\":3,\"sex\":\"male\",\"siblingsOrSpousesAboard\":1,\"survived\":false,\"uuid\":\"acd1111a-c9f6-4ff7-ba94-dc28bf15f36c\"}\n";

/// The README's POST body.
pub const README_BODY: &str = r#"{"survived": true, "passengerClass": 2, "name": "Post-Test-Name", "sex": "male", "age": 27, "siblingsOrSpousesAboard": 0, "parentsOrChildrenAboard": 0, "fare": 13}"#;

/// An answer: status, headers, body bytes.
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// A header's value, or "".
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    }

    /// The `Allow` header as a sorted set.
    pub fn allow(&self) -> Vec<String> {
        let mut set: Vec<String> = self.header("allow").split(',').map(|s| s.trim().to_owned()).collect();
        set.sort();
        set
    }
}

/// A server whose table holds the 887 seed rows, row 0 under its legacy uuid.
pub async fn seeded_app() -> TestApp {
    let app = spawn_app().await;
    let mut rows = titanic_rows().into_iter();
    let row0 = rows.next().unwrap();
    use sea_orm::EntityTrait;
    entity::passenger::Entity::insert(row0.into_active_model(ROW0_UUID.parse().unwrap()))
        .exec_without_returning(&app.db)
        .await
        .unwrap();
    passenger_api::seed::insert(&app.db, rows.collect(), false).await.unwrap();
    app
}

/// Sends `method path` with an optional content type and body.
pub async fn call(app: &TestApp, method: &str, path: &str, content_type: Option<&str>, body: Option<&[u8]>) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = app.client.request(method, format!("{}{path}", app.address));
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    if let Some(body) = body {
        request = request.body(body.to_vec());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap().to_vec();
    Answer { status, headers, body }
}

/// `GET path`.
pub async fn get(app: &TestApp, path: &str) -> Answer {
    call(app, "GET", path, None, None).await
}

/// `POST /postpassenger` with a JSON body.
pub async fn post_json(app: &TestApp, body: &str) -> Answer {
    call(app, "POST", "/postpassenger", Some("application/json"), Some(body.as_bytes())).await
}

/// `PUT /putpassenger/<id>` with a JSON body.
pub async fn put_json(app: &TestApp, id: &str, body: &str) -> Answer {
    call(app, "PUT", &format!("/putpassenger/{id}"), Some("application/json"), Some(body.as_bytes())).await
}

/// The whole legacy list.
pub async fn list(app: &TestApp) -> Vec<Value> {
    get(app, "/passengerlist").await.json().as_array().unwrap().clone()
}

/// Number of rows.
pub async fn count(app: &TestApp) -> u64 {
    passenger_api::service::passenger::count(&app.db).await.unwrap()
}

/// A legacy body with every field, `overrides` applied (a JSON object of raw values).
pub fn body_with(overrides: Value) -> String {
    let mut body = json!({
        "survived": true, "passengerClass": 2, "name": "Body-Test", "sex": "male", "age": 27,
        "siblingsOrSpousesAboard": 0, "parentsOrChildrenAboard": 0, "fare": 13
    });
    for (k, v) in overrides.as_object().unwrap() {
        body[k] = v.clone();
    }
    body.to_string()
}

/// Asserts the legacy 400 page naming `message`, and that nothing was written.
pub async fn assert_400(app: &TestApp, answer: &Answer, message: &str, rows_before: u64) {
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert_eq!(answer.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(answer.text(), passenger_api::rest::pages::bad_request(message));
    assert_eq!(count(app).await, rows_before, "a refused request wrote something");
}
