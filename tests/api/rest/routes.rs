//! Contract section 3: the routes' main cases, POST's same-name answer, PUT's replacement.

use super::*;

fn without_uuid(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("uuid");
    v
}

#[tokio::test]
async fn health_checks_answer_201() {
    let app = spawn_app().await;
    let hello = get(&app, "/hello").await;
    assert_eq!((hello.status, hello.text().as_str()), (201, "{\"message\":\"ok\"}\n"));
    let zero = get(&app, "/zero").await;
    assert_eq!((zero.status, zero.text().as_str()), (201, "{\"0\":\"\"}\n"));
    assert_eq!(zero.header("content-type"), "application/json");
}

#[tokio::test]
async fn getpassenger_of_an_unknown_or_nil_uuid_is_200_null() {
    let app = seeded_app().await;
    for id in ["11111111-2222-3333-4444-555555555555", "00000000-0000-0000-0000-000000000000"] {
        let answer = get(&app, &format!("/getpassenger/{id}")).await;
        assert_eq!((answer.status, answer.text().as_str()), (200, "null\n"));
        assert_eq!(answer.header("content-type"), "application/json");
    }
}

#[tokio::test]
async fn post_with_the_readme_body_answers_an_array_with_the_new_row() {
    let app = spawn_app().await;
    let answer = post_json(&app, README_BODY).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), "application/json");
    let text = answer.text();
    let uuid = answer.json()[0]["uuid"].as_str().unwrap().to_owned();
    assert_eq!(
        text,
        format!(
            "[{{\"age\":27.0,\"fare\":13.0,\"name\":\"Post-Test-Name\",\"parentsOrChildrenAboard\":0,\"passengerClass\":2,\"sex\":\"male\",\"siblingsOrSpousesAboard\":0,\"survived\":true,\"uuid\":\"{uuid}\"}}]\n"
        )
    );
    assert_eq!(get(&app, &format!("/getpassenger/{uuid}")).await.json()["name"], "Post-Test-Name");
}

#[tokio::test]
async fn post_answers_every_row_with_that_name_oldest_first() {
    let app = seeded_app().await;
    let first = post_json(&app, &body_with(json!({ "name": "Dup-Test-Name" }))).await.json();
    assert_eq!(first.as_array().unwrap().len(), 1);
    let second = post_json(&app, &body_with(json!({ "name": "Dup-Test-Name", "age": 30 }))).await.json();
    assert_eq!(second.as_array().unwrap().len(), 2);
    assert_eq!(second[0], first[0], "the older row comes first");
    assert_eq!(second[1]["age"], 30.0);

    let seed = post_json(&app, &body_with(json!({ "name": "Mr. Owen Harris Braund" }))).await.json();
    assert_eq!(seed.as_array().unwrap().len(), 2);
    assert_eq!(seed[0]["uuid"], ROW0_UUID);

    let empty = post_json(&app, &body_with(json!({ "name": "" }))).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.json()[0]["name"], "");
}

#[tokio::test]
async fn put_replaces_all_fields_answers_null_and_keeps_the_uuid() {
    let app = spawn_app().await;
    let created = post_json(&app, README_BODY).await.json()[0].clone();
    let id = created["uuid"].as_str().unwrap();
    let answer = put_json(&app, id, &body_with(json!({ "name": "Mr. Patrick O'Brien Łukasz", "age": 3, "fare": 8, "uuid": "00000000-0000-0000-0000-000000000000", "cabin": "C85" }))).await;
    assert_eq!((answer.status, answer.text().as_str()), (200, "null\n"));
    let now = get(&app, &format!("/getpassenger/{id}")).await.json();
    assert_eq!(now["uuid"], id);
    assert_eq!(now["name"], "Mr. Patrick O'Brien Łukasz");
    assert!(get(&app, &format!("/getpassenger/{id}")).await.text().contains("\"age\":3.0,\"fare\":8.0"));

    let all_null = r#"{"survived":null,"passengerClass":null,"name":null,"sex":null,"age":null,"siblingsOrSpousesAboard":null,"parentsOrChildrenAboard":null,"fare":null}"#;
    assert_eq!(put_json(&app, id, all_null).await.status, 200);
    let now = get(&app, &format!("/getpassenger/{id}")).await.json();
    assert_eq!(
        without_uuid(now),
        json!({ "age": null, "fare": null, "name": null, "parentsOrChildrenAboard": null, "passengerClass": null, "sex": null, "siblingsOrSpousesAboard": null, "survived": null })
    );
}

#[tokio::test]
async fn put_with_a_partial_body_is_400_and_changes_nothing() {
    let app = spawn_app().await;
    let created = post_json(&app, README_BODY).await.json()[0].clone();
    let id = created["uuid"].as_str().unwrap();
    let answer = put_json(&app, id, r#"{"name":"Only-Name"}"#).await;
    assert_400(&app, &answer, "survived: missing", 1).await;
    for (field, value, message) in [
        ("age", json!("abc"), "age: expected a number, got \"abc\""),
        ("name", json!("x".repeat(151)), "name: must be at most 150 characters, got 151"),
        (
            "passengerClass",
            json!(2_147_483_648_i64),
            "passengerClass: must be a 32-bit integer (-2147483648 to 2147483647), got 2147483648",
        ),
    ] {
        let answer = put_json(&app, id, &body_with(json!({ field: value }))).await;
        assert_400(&app, &answer, message, 1).await;
    }
    assert_eq!(get(&app, &format!("/getpassenger/{id}")).await.json(), created);
}

#[tokio::test]
async fn put_and_delete_of_unknown_rows_answer_200_null_and_change_nothing() {
    let app = seeded_app().await;
    let unknown = "11111111-2222-3333-4444-555555555555";
    let answer = put_json(&app, unknown, README_BODY).await;
    assert_eq!((answer.status, answer.text().as_str()), (200, "null\n"));
    let answer = call(&app, "DELETE", &format!("/deletepassenger/{unknown}"), None, None).await;
    assert_eq!((answer.status, answer.text().as_str()), (200, "null\n"));
    assert_eq!(count(&app).await, 887);
}

#[tokio::test]
async fn delete_removes_the_row_and_answers_null_twice() {
    let app = seeded_app().await;
    for _ in 0..2 {
        let answer = call(&app, "DELETE", &format!("/deletepassenger/{ROW0_UUID}"), None, None).await;
        assert_eq!((answer.status, answer.text().as_str()), (200, "null\n"));
        assert_eq!(answer.header("content-type"), "application/json");
    }
    assert_eq!(get(&app, &format!("/getpassenger/{ROW0_UUID}")).await.text(), "null\n");
    assert_eq!(count(&app).await, 886);
}

#[tokio::test]
async fn a_scenario_create_get_update_get_delete_get_keeps_the_list_in_step() {
    let app = seeded_app().await;
    let created = post_json(&app, &body_with(json!({ "name": "Scenario" }))).await.json()[0].clone();
    let id = created["uuid"].as_str().unwrap().to_owned();
    let listed = list(&app).await;
    assert_eq!((listed.len(), listed.last().unwrap()), (888, &created));

    assert_eq!(get(&app, &format!("/getpassenger/{id}")).await.json(), created);
    assert_eq!(put_json(&app, &id, &body_with(json!({ "name": "Scenario-2", "sex": "female" }))).await.status, 200);
    let updated = get(&app, &format!("/getpassenger/{id}")).await.json();
    assert_eq!((updated["name"].as_str(), updated["sex"].as_str()), (Some("Scenario-2"), Some("female")));
    let listed = list(&app).await;
    assert_eq!(listed.len(), 888);
    assert!(listed.contains(&updated));

    assert_eq!(call(&app, "DELETE", &format!("/deletepassenger/{id}"), None, None).await.status, 200);
    assert_eq!(get(&app, &format!("/getpassenger/{id}")).await.text(), "null\n");
    let listed = list(&app).await;
    assert_eq!(listed.len(), 887);
    assert!(listed.iter().all(|p| p["uuid"] != id.as_str()));
}
