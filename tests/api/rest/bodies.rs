//! Contract sections 7 and 8: request bodies, lenient coercions, the fixed defects.

use super::*;

#[tokio::test]
async fn bodies_without_a_json_content_type_are_415_and_write_nothing() {
    let app = spawn_app().await;
    for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
        let answer = call(&app, "POST", "/postpassenger", content_type, Some(README_BODY.as_bytes())).await;
        assert_eq!(answer.status, 415, "{content_type:?}");
        assert_eq!(answer.text(), passenger_api::rest::pages::UNSUPPORTED_MEDIA_TYPE);
    }
    assert_eq!(count(&app).await, 0);
}

#[tokio::test]
async fn json_content_types_with_parameters_any_case_and_plus_json_are_accepted() {
    let app = spawn_app().await;
    for content_type in ["application/json; charset=utf-8", "APPLICATION/JSON", "application/vnd.api+json"] {
        let answer = call(&app, "POST", "/postpassenger", Some(content_type), Some(README_BODY.as_bytes())).await;
        assert_eq!(answer.status, 200, "{content_type}");
    }
    assert_eq!(count(&app).await, 3);
}

#[tokio::test]
async fn truncated_empty_or_non_utf8_bodies_are_400_with_the_legacy_page() {
    let app = spawn_app().await;
    for body in [&b"{\"name\": \"x\""[..], b"", b"\xff\xfe{}"] {
        let answer = call(&app, "POST", "/postpassenger", Some("application/json"), Some(body)).await;
        assert_eq!(answer.status, 400);
        assert_eq!(answer.text(), passenger_api::rest::pages::BAD_REQUEST);
    }
    assert_eq!(count(&app).await, 0);
}

#[tokio::test]
async fn a_bom_is_skipped_and_duplicate_keys_keep_the_last_value() {
    let app = spawn_app().await;
    let with_bom = [b"\xef\xbb\xbf".as_slice(), README_BODY.as_bytes()].concat();
    assert_eq!(call(&app, "POST", "/postpassenger", Some("application/json"), Some(&with_bom)).await.status, 200);
    let dup = README_BODY.replace("\"name\": \"Post-Test-Name\"", "\"name\": \"First\", \"name\": \"Second\"");
    assert_eq!(post_json(&app, &dup).await.json()[0]["name"], "Second");
}

#[tokio::test]
async fn a_body_that_is_not_an_object_or_misses_a_key_is_400_naming_it() {
    let app = spawn_app().await;
    for (body, message) in [
        ("[]", "expected a JSON object with the passenger's fields, got an array"),
        ("null", "expected a JSON object with the passenger's fields, got null"),
        ("\"x\"", "expected a JSON object with the passenger's fields, got a string"),
        ("{}", "survived: missing"),
    ] {
        let answer = post_json(&app, body).await;
        assert_400(&app, &answer, message, 0).await;
    }
    for key in passenger_api::rest::body::FIELDS {
        let mut body: Value = serde_json::from_str(README_BODY).unwrap();
        body.as_object_mut().unwrap().remove(key);
        let answer = post_json(&app, &body.to_string()).await;
        assert_400(&app, &answer, &format!("{key}: missing"), 0).await;
    }
}

#[tokio::test]
async fn extra_keys_including_uuid_are_ignored() {
    let app = spawn_app().await;
    let answer = post_json(&app, &body_with(json!({ "uuid": ROW0_UUID, "cabin": "C85" }))).await;
    assert_eq!(answer.status, 200);
    assert_ne!(answer.json()[0]["uuid"], ROW0_UUID);
    assert!(answer.json()[0].get("cabin").is_none());
}

#[tokio::test]
async fn nulls_are_accepted_for_every_field_and_echoed() {
    let app = spawn_app().await;
    let body = r#"{"survived":null,"passengerClass":null,"name":"Nulls","sex":null,"age":null,"siblingsOrSpousesAboard":null,"parentsOrChildrenAboard":null,"fare":null}"#;
    let answer = post_json(&app, body).await;
    assert!(answer.text().starts_with("[{\"age\":null,\"fare\":null,\"name\":\"Nulls\",\"parentsOrChildrenAboard\":null,\"passengerClass\":null,\"sex\":null,\"siblingsOrSpousesAboard\":null,\"survived\":null,\"uuid\":"), "{}", answer.text());
}

#[tokio::test]
async fn a_null_name_inserts_and_answers_every_nameless_row() {
    let app = spawn_app().await;
    let first = post_json(&app, &body_with(json!({ "name": null }))).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.json().as_array().unwrap().len(), 1);
    post_json(&app, &body_with(json!({ "name": "Named" }))).await;
    let second = post_json(&app, &body_with(json!({ "name": null, "age": 5 }))).await.json();
    assert_eq!(second.as_array().unwrap().len(), 2);
    assert!(second.as_array().unwrap().iter().all(|p| p["name"].is_null()));
    assert_eq!(count(&app).await, 3);
}

#[tokio::test]
async fn names_that_are_not_strings_are_400_and_write_nothing() {
    let app = spawn_app().await;
    for (value, shown) in [
        (json!(123), "123"),
        (json!(["List-Name"]), "[\"List-Name\"]"),
        (json!(true), "true"),
        (json!({ "a": 1 }), "{\"a\":1}"),
    ] {
        let answer = post_json(&app, &body_with(json!({ "name": value }))).await;
        assert_400(&app, &answer, &format!("name: expected a string or null, got {shown}"), 0).await;
    }
}

#[tokio::test]
async fn apostrophes_and_injection_attempts_are_just_names() {
    let app = seeded_app().await;
    for name in ["Mr. Patrick O'Brien", "Inj-Test' OR '1'='1", "Inj2-Test'; --", "Stack-Test'; SELECT 1 AS one; --"] {
        let answer = post_json(&app, &body_with(json!({ "name": name }))).await;
        assert_eq!(answer.status, 200, "{name}");
        let rows = answer.json();
        assert_eq!(rows.as_array().unwrap().len(), 1, "{name}: {rows}");
        assert_eq!(rows[0]["name"], name);
    }
    assert_eq!(count(&app).await, 891);
    let again = post_json(&app, &body_with(json!({ "name": "Miss. Ellen O'Dwyer" }))).await.json();
    assert_eq!(again.as_array().unwrap().len(), 2, "re-posting a seed passenger with an apostrophe");
}

#[tokio::test]
async fn name_and_sex_lengths_are_counted_in_characters_and_enforced_without_truncation() {
    let app = spawn_app().await;
    assert_eq!(post_json(&app, &body_with(json!({ "name": "é".repeat(150) }))).await.status, 200);
    assert_eq!(post_json(&app, &body_with(json!({ "name": "n".repeat(150) }))).await.status, 200);
    for len in [151, 300] {
        let answer = post_json(&app, &body_with(json!({ "name": "n".repeat(len) }))).await;
        assert_400(&app, &answer, &format!("name: must be at most 150 characters, got {len}"), 2).await;
    }
    let answer = post_json(&app, &body_with(json!({ "sex": "unknown" }))).await;
    assert_400(&app, &answer, "sex: must be at most 6 characters, got 7", 2).await;
    assert_eq!(post_json(&app, &body_with(json!({ "sex": "" }))).await.json()[0]["sex"], "");
}

#[tokio::test]
async fn numbers_are_coerced_like_postgresql_did() {
    let app = spawn_app().await;
    let cases = [
        (json!({ "age": -1, "fare": -0.5 }), "\"age\":-1.0,\"fare\":-0.5"),
        (json!({ "age": 0.42 }), "\"age\":0.42"),
        (json!({ "age": 27, "fare": 13 }), "\"age\":27.0,\"fare\":13.0"),
        (json!({ "age": "27" }), "\"age\":27.0"),
        (json!({ "passengerClass": "2" }), "\"passengerClass\":2,"),
        (json!({ "passengerClass": 2.0 }), "\"passengerClass\":2,"),
        (json!({ "passengerClass": 2.5 }), "\"passengerClass\":3,"),
        (json!({ "passengerClass": -2.5 }), "\"passengerClass\":-3,"),
        (json!({ "survived": "yes" }), "\"survived\":true"),
        (json!({ "survived": "1" }), "\"survived\":true"),
        (json!({ "survived": "t" }), "\"survived\":true"),
        (json!({ "survived": "off" }), "\"survived\":false"),
    ];
    for (i, (overrides, expected)) in cases.into_iter().enumerate() {
        let mut overrides = overrides;
        overrides["name"] = json!(format!("Coerce-{i}"));
        let answer = post_json(&app, &body_with(overrides.clone())).await;
        assert_eq!(answer.status, 200, "{overrides}");
        assert!(answer.text().contains(expected), "{overrides}: {}", answer.text());
    }
}

#[tokio::test]
async fn wrong_types_and_out_of_range_numbers_are_400_naming_the_field_and_write_nothing() {
    let app = spawn_app().await;
    let cases = [
        (
            "passengerClass",
            "2147483648",
            "passengerClass: must be a 32-bit integer (-2147483648 to 2147483647), got 2147483648",
        ),
        ("survived", "1", "survived: expected a boolean, got 1"),
        ("age", "\"abc\"", "age: expected a number, got \"abc\""),
        ("age", "\"\"", "age: expected a number, got \"\""),
        ("age", "true", "age: expected a number, got true"),
        ("age", "{\"v\":1}", "age: expected a number, got {\"v\":1}"),
        ("age", "NaN", "age: must be a finite number, got NaN"),
        ("fare", "Infinity", "fare: must be a finite number, got Infinity"),
        ("fare", "-Infinity", "fare: must be a finite number, got -Infinity"),
    ];
    for (field, raw, message) in cases {
        let body =
            body_with(json!({})).replace(&format!("\"{field}\":"), &format!("\"{field}\":{raw},\"ignored_{field}\":"));
        let answer = post_json(&app, &body).await;
        assert_400(&app, &answer, message, 0).await;
    }
    // The list stays valid JSON for strict parsers.
    assert!(serde_json::from_slice::<Value>(&get(&app, "/passengerlist").await.body).is_ok());
}

#[tokio::test]
async fn client_errors_never_exhaust_the_pool_and_database_routes_keep_working() {
    let app = crate::helpers::spawn_app_with(|c| c.db_max_connections = 2).await;
    for _ in 0..100 {
        let answer = post_json(&app, &body_with(json!({ "age": "abc" }))).await;
        assert_eq!(answer.status, 400);
    }
    for i in 0..20 {
        assert_eq!(post_json(&app, &body_with(json!({ "name": format!("After-{i}") }))).await.status, 200);
    }
    assert_eq!(get(&app, "/passengerlist").await.json().as_array().unwrap().len(), 20);
}
