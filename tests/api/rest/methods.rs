//! Contract sections 4 and 5: methods, HEAD, OPTIONS, and the uuid path segment.

use super::*;

#[tokio::test]
async fn wrong_methods_are_405_with_the_right_allow_set_and_touch_nothing() {
    let app = seeded_app().await;
    let u = ROW0_UUID;
    let cases = [
        ("POST", "/hello".to_owned(), "GET, HEAD, OPTIONS"),
        ("DELETE", format!("/getpassenger/{u}"), "GET, HEAD, OPTIONS"),
        ("GET", "/postpassenger".to_owned(), "OPTIONS, POST"),
        ("GET", format!("/putpassenger/{u}"), "OPTIONS, PUT"),
        ("PATCH", format!("/putpassenger/{u}"), "OPTIONS, PUT"),
        ("GET", format!("/deletepassenger/{u}"), "DELETE, OPTIONS"),
        ("POST", format!("/deletepassenger/{u}"), "DELETE, OPTIONS"),
        ("PUT", format!("/deletepassenger/{u}"), "DELETE, OPTIONS"),
        ("GET", "/deletepassenger/not-a-uuid".to_owned(), "DELETE, OPTIONS"),
    ];
    for (method, path, allow) in cases {
        let answer = call(&app, method, &path, Some("application/json"), Some(README_BODY.as_bytes())).await;
        assert_eq!(answer.status, 405, "{method} {path}");
        assert_eq!(answer.body.len(), 153);
        assert_eq!(answer.header("content-type"), "text/html; charset=utf-8");
        let mut expected: Vec<String> = allow.split(", ").map(str::to_owned).collect();
        expected.sort();
        assert_eq!(answer.allow(), expected, "{method} {path}");
    }
    assert_eq!(count(&app).await, 887, "GET must never delete");
    assert_eq!(get(&app, &format!("/getpassenger/{u}")).await.text(), ROW0_BYTES);
}

#[tokio::test]
async fn head_on_get_routes_mirrors_get_with_an_empty_body() {
    let app = seeded_app().await;
    for path in
        ["/hello".to_owned(), "/zero".to_owned(), "/passengerlist".to_owned(), format!("/getpassenger/{ROW0_UUID}")]
    {
        let full = get(&app, &path).await;
        let head = call(&app, "HEAD", &path, None, None).await;
        assert_eq!(head.status, full.status, "{path}");
        assert_eq!(head.header("content-type"), "application/json");
        assert_eq!(head.header("content-length"), full.body.len().to_string(), "{path}");
        assert!(head.body.is_empty());
    }
}

#[tokio::test]
async fn head_on_write_routes_is_405_with_the_page_length() {
    let app = seeded_app().await;
    for path in
        ["/postpassenger".to_owned(), format!("/putpassenger/{ROW0_UUID}"), format!("/deletepassenger/{ROW0_UUID}")]
    {
        let head = call(&app, "HEAD", &path, None, None).await;
        assert_eq!(head.status, 405, "{path}");
        assert_eq!(head.header("content-length"), "153");
        assert!(!head.header("allow").is_empty());
        assert!(head.body.is_empty());
    }
    assert_eq!(count(&app).await, 887);
}

#[tokio::test]
async fn options_answers_the_allow_set_on_valid_paths_and_404_on_malformed_uuids() {
    let app = seeded_app().await;
    for (path, allow) in [
        ("/hello".to_owned(), "GET, HEAD, OPTIONS"),
        ("/postpassenger".to_owned(), "OPTIONS, POST"),
        (format!("/putpassenger/{ROW0_UUID}"), "OPTIONS, PUT"),
        (format!("/deletepassenger/{ROW0_UUID}"), "DELETE, OPTIONS"),
    ] {
        let answer = call(&app, "OPTIONS", &path, None, None).await;
        assert_eq!(answer.status, 200, "{path}");
        assert!(answer.body.is_empty());
        assert_eq!(answer.header("content-type"), "text/html; charset=utf-8");
        let mut expected: Vec<String> = allow.split(", ").map(str::to_owned).collect();
        expected.sort();
        assert_eq!(answer.allow(), expected);
    }
    assert_eq!(call(&app, "OPTIONS", "/getpassenger/not-a-uuid", None, None).await.status, 404);
}

#[tokio::test]
async fn only_canonical_lower_case_uuids_match_and_the_database_is_not_touched_otherwise() {
    let app = seeded_app().await;
    let upper = ROW0_UUID.to_uppercase();
    let bare = ROW0_UUID.replace('-', "");
    let braced = format!("%7B{ROW0_UUID}%7D");
    let urn = format!("urn:uuid:{ROW0_UUID}");
    let extra = format!("{ROW0_UUID}/extra");
    for segment in ["not-a-uuid", "1234", upper.as_str(), bare.as_str(), braced.as_str(), urn.as_str(), extra.as_str()]
    {
        for (method, route) in [("GET", "getpassenger"), ("PUT", "putpassenger"), ("DELETE", "deletepassenger")] {
            let answer = call(
                &app,
                method,
                &format!("/{route}/{segment}"),
                Some("application/json"),
                Some(README_BODY.as_bytes()),
            )
            .await;
            assert_eq!(answer.status, 404, "{method} /{route}/{segment}");
            assert_eq!(answer.text(), passenger_api::rest::pages::NOT_FOUND);
        }
    }
    assert_eq!(count(&app).await, 887);
    assert_eq!(get(&app, &format!("/getpassenger/{ROW0_UUID}")).await.text(), ROW0_BYTES);
}
