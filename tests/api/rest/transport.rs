//! Contract sections 1, 2 and 6: transport, JSON encoding, error pages.

use super::*;

#[tokio::test]
async fn paths_are_exact_and_case_sensitive_and_unknown_paths_get_the_legacy_404_page() {
    let app = spawn_app().await;
    for path in ["/HELLO", "/", "/nope", "/hello/", "/passengerlist/", "/getpassenger/", "/postpassenger/"] {
        let answer = get(&app, path).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.header("content-type"), "text/html; charset=utf-8");
        assert_eq!(answer.text(), passenger_api::rest::pages::NOT_FOUND, "{path}");
        assert_eq!(answer.body.len(), 207);
    }
    let answer = get(&app, &format!("/getpassenger/{ROW0_UUID}/")).await;
    assert_eq!(answer.status, 404);
}

#[tokio::test]
async fn query_strings_are_ignored() {
    let app = seeded_app().await;
    assert_eq!(get(&app, "/hello?x=1").await.status, 201);
    assert_eq!(get(&app, "/passengerlist?limit=1&offset=5").await.json().as_array().unwrap().len(), 887);
}

#[tokio::test]
async fn chunked_request_bodies_are_accepted() {
    let app = spawn_app().await;
    let addr = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = README_BODY.as_bytes();
    let request = format!(
        "POST /postpassenger HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n",
        body.len()
    );
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    stream.write_all(b"\r\n0\r\n\r\n").await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"name\":\"Post-Test-Name\""), "{response}");
    assert_eq!(count(&app).await, 1);
}

#[tokio::test]
async fn json_bodies_are_compact_with_a_trailing_newline_and_no_charset() {
    let app = spawn_app().await;
    let answer = get(&app, "/hello").await;
    assert_eq!(answer.body, b"{\"message\":\"ok\"}\n");
    assert_eq!(answer.body.len(), 17);
    assert_eq!(answer.header("content-type"), "application/json");
}

#[tokio::test]
async fn seed_row_0_has_the_exact_legacy_bytes() {
    let app = seeded_app().await;
    let answer = get(&app, &format!("/getpassenger/{ROW0_UUID}")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), "application/json");
    assert_eq!(answer.text(), ROW0_BYTES);
    assert_eq!(answer.body.len(), 208);
}

#[tokio::test]
async fn non_ascii_is_escaped_with_surrogate_pairs_and_backslash_quote_are_escaped() {
    let app = spawn_app().await;
    let answer = post_json(&app, &body_with(json!({ "name": "Zoë Ångström-Łukasz 李雷 🚢" }))).await;
    assert!(
        answer.text().contains(r#""name":"Zo\u00eb \u00c5ngstr\u00f6m-\u0141ukasz \u674e\u96f7 \ud83d\udea2""#),
        "{}",
        answer.text()
    );
    let answer = post_json(&app, &body_with(json!({ "name": "a\\b \"q\" 100% a/b" }))).await;
    assert!(answer.text().contains(r#""name":"a\\b \"q\" 100% a/b""#), "{}", answer.text());
}

#[tokio::test]
async fn floats_use_python_repr() {
    let app = spawn_app().await;
    for (sent, shown) in [
        ("27", "27.0"),
        ("0.42", "0.42"),
        ("-1", "-1.0"),
        ("1e16", "1e+16"),
        ("0.00001", "1e-05"),
        ("0.30000000000000004", "0.30000000000000004"),
    ] {
        let answer = post_json(
            &app,
            &body_with(json!({ "name": format!("Float {sent}"), "age": serde_json::from_str::<Value>(sent).unwrap() })),
        )
        .await;
        assert!(answer.text().starts_with(&format!("[{{\"age\":{shown},")), "{sent}: {}", answer.text());
    }
}

#[tokio::test]
async fn the_pristine_list_is_887_objects_and_188657_bytes() {
    let app = seeded_app().await;
    let answer = get(&app, "/passengerlist").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), "application/json");
    assert_eq!(answer.body.len(), 188_657);
    assert!(answer.text().starts_with(&format!("[{}", ROW0_BYTES.trim_end())));
    assert!(answer.text().ends_with("}]\n"));
    assert_eq!(answer.json().as_array().unwrap().len(), 887);
}

#[tokio::test]
async fn error_pages_have_the_legacy_bytes_and_content_type() {
    let app = spawn_app().await;
    let pages = [
        (
            call(&app, "POST", "/postpassenger", Some("application/json"), Some(b"{\"name\"")).await,
            400,
            passenger_api::rest::pages::BAD_REQUEST,
        ),
        (get(&app, "/nope").await, 404, passenger_api::rest::pages::NOT_FOUND),
        (call(&app, "POST", "/hello", None, None).await, 405, passenger_api::rest::pages::METHOD_NOT_ALLOWED),
        (
            call(&app, "POST", "/postpassenger", Some("text/plain"), Some(README_BODY.as_bytes())).await,
            415,
            passenger_api::rest::pages::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for (answer, status, page) in pages {
        assert_eq!(answer.status, status);
        assert_eq!(answer.header("content-type"), "text/html; charset=utf-8");
        assert_eq!(answer.text(), page);
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_seven_routes() {
    let app = spawn_app().await;
    let answer = get(&app, "/openapi.json").await;
    assert_eq!(answer.status, 200);
    let doc = answer.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let expected = [
        ("/hello", "get", "201"),
        ("/zero", "get", "201"),
        ("/passengerlist", "get", "200"),
        ("/getpassenger/{uuid}", "get", "200"),
        ("/postpassenger", "post", "200"),
        ("/putpassenger/{uuid}", "put", "200"),
        ("/deletepassenger/{uuid}", "delete", "200"),
    ];
    assert_eq!(doc["paths"].as_object().unwrap().len(), 7);
    for (path, method, status) in expected {
        assert!(doc["paths"][path][method]["responses"][status].is_object(), "{method} {path} {status}");
    }
    for path in ["/postpassenger", "/putpassenger/{uuid}"] {
        let method = if path.starts_with("/post") { "post" } else { "put" };
        for status in ["400", "415"] {
            assert!(doc["paths"][path][method]["responses"][status].is_object(), "{path} {status}");
        }
    }
    assert_eq!(doc["components"]["schemas"]["PassengerBody"]["required"].as_array().unwrap().len(), 8);
}
