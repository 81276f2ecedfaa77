//! Depth, complexity, field-count and introspection limits.

use serde_json::json;

use super::{Gql, code};

#[tokio::test]
async fn a_too_deep_query_is_refused_and_the_schema_keeps_answering() {
    let gql = Gql::with(|c| c.graphql_max_depth = 3).await;
    let deep = "{ passengers { nodes { namesakes { id } } } }";
    let error = gql.error(deep, json!({})).await;
    assert_eq!(code(&error), "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(error["message"], "the query is nested 4 levels deep; the limit is 3");
    assert!(error.get("locations").is_none(), "{error}");
    assert!(gql.run("{ passengers { totalCount } }", json!({})).await.get("errors").is_none());
    // Introspection has its own bound: this nests 6 levels and passes.
    let introspection = "{ __schema { types { fields { type { ofType { name } } } } } }";
    assert!(gql.run(introspection, json!({})).await.get("errors").is_none());
}

#[tokio::test]
async fn a_too_complex_query_is_refused() {
    let gql = Gql::with(|c| c.graphql_max_complexity = 500).await;
    let error = gql.error("{ passengers(first: 1000) { nodes { name age fare } } }", json!({})).await;
    assert_eq!(code(&error), "GRAPHQL_VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().contains("too complex"), "{error}");
    assert!(gql.run("{ passengers(first: 10) { nodes { name } } }", json!({})).await.get("errors").is_none());
}

#[tokio::test]
async fn a_document_with_too_many_fields_or_aliases_is_refused() {
    let gql = Gql::with(|c| c.graphql_max_fields = 50).await;
    let aliases: String = (0..51).map(|i| format!("a{i}: __typename ")).collect();
    let error = gql.error(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(code(&error), "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(error["message"], "the document selects 51 fields (aliases included); the limit is 50");
    let aliases: String = (0..50).map(|i| format!("a{i}: __typename ")).collect();
    assert!(gql.run(&format!("{{ {aliases} }}"), json!({})).await.get("errors").is_none());
}

#[tokio::test]
async fn introspection_can_be_switched_off() {
    let open = Gql::new().await;
    assert!(open.run("{ __schema { queryType { name } } }", json!({})).await.get("errors").is_none());
    let closed = Gql::with(|c| c.disable_introspection = true).await;
    let response = closed.run("{ __schema { queryType { name } } }", json!({})).await;
    assert!(response.get("errors").is_some() || response["data"]["__schema"].is_null(), "{response}");
}
