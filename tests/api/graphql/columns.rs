//! A page reads only the columns its answer uses,
//! and however a selection asks for a passenger's version or for a cursor — aliased, in named
//! or inline fragments, on the connection or on its nodes and edges, under `@include` — it gets
//! the stored value.

use std::collections::HashMap;

use passenger_api::graphql::access::Caller;
use passenger_api::graphql::columns::CursorsUnread;
use passenger_api::graphql::{Call, Transport};
use passenger_api::service::page::{self, Columns, PageRequest};
use passenger_api::service::pg_copy::BulkReader;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};

use super::Gql;
use crate::helpers::titanic_rows;

/// Twelve passengers whose versions all differ (and none is 1), so that a version left unread
/// (0) or taken from another row shows; with each one's stored version by id, in list order.
async fn twelve_with_versions() -> (Gql, Vec<(String, i64)>) {
    use entity::passenger::{Column, Entity};
    let gql = Gql::new().await;
    passenger_api::seed::insert(&gql.db, titanic_rows().into_iter().take(12).collect(), false).await.unwrap();
    Entity::update_many().col_expr(Column::Version, Expr::col(Column::Seq).mul(7).add(2)).exec(&gql.db).await.unwrap();
    let stored = Entity::find().order_by_asc(Column::Seq).all(&gql.db).await.unwrap();
    let versions: Vec<(String, i64)> = stored.iter().map(|r| (r.uuid.to_string(), r.version)).collect();
    let distinct: std::collections::HashSet<i64> = versions.iter().map(|(_, v)| *v).collect();
    assert_eq!(distinct.len(), 12, "{versions:?}");
    assert!(!distinct.contains(&1) && !distinct.contains(&0), "{versions:?}");
    (gql, versions)
}

/// Every object of `value` with an `id` and a version (under `version` or the alias `v`).
fn versions_in(value: &Value, out: &mut HashMap<String, i64>) {
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(id)), Some(version)) = (map.get("id"), map.get("version").or(map.get("v"))) {
                out.insert(id.clone(), version.as_i64().unwrap());
            }
            map.values().for_each(|v| versions_in(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| versions_in(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn a_version_selected_in_any_form_is_the_stored_one() {
    let (gql, stored) = twelve_with_versions().await;
    let expected: HashMap<String, i64> = stored.into_iter().collect();
    let queries = [
        "{ passengers(first: 12) { nodes { id v: version } } }",
        "{ passengers(first: 12) { nodes { ...P } } } fragment P on Passenger { id version }",
        "{ passengers(first: 12) { ...C } } \
         fragment C on PassengerConnection { edges { node { id ... on Passenger { version } } } }",
        "query($yes: Boolean!) { passengers(first: 12) { nodes { id ... @include(if: $yes) { version } } } }",
        "{ passengers(first: 12) { ...C } } fragment C on PassengerConnection { nodes { ...P } } \
         fragment P on Passenger { id ...V } fragment V on Passenger { version }",
        "{ passengers(first: 12) { nodes { id version @skip(if: false) name } } }",
    ];
    for query in queries {
        let data = gql.data(query, json!({ "yes": true })).await;
        let mut found = HashMap::new();
        versions_in(&data, &mut found);
        assert_eq!(found, expected, "{query}");
    }
}

#[tokio::test]
async fn a_cursor_selected_in_any_form_continues_where_its_row_is() {
    let (gql, stored) = twelve_with_versions().await;
    let ids: Vec<&str> = stored.iter().map(|(id, _)| id.as_str()).collect();
    let node_ids = |data: &Value| -> Vec<String> {
        data["passengers"]["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect()
    };
    // The end cursor through an inline fragment inside a named one, aliased.
    let query = "query($after: String) { passengers(first: 5, after: $after) { ...C } } \
                 fragment C on PassengerConnection { nodes { id } pageInfo { ... on PageInfo { end: endCursor } } }";
    let first = gql.data(query, json!({})).await;
    assert_eq!(node_ids(&first), ids[..5]);
    let second = gql.data(query, json!({ "after": first["passengers"]["pageInfo"]["end"] })).await;
    assert_eq!(node_ids(&second), ids[5..10]);
    // An edge's cursor through a fragment on the edge.
    let edges =
        gql.data("{ passengers(first: 5) { edges { ...E } } } fragment E on PassengerEdge { cursor }", json!({})).await;
    let third = edges["passengers"]["edges"][2]["cursor"].clone();
    let query = "query($after: String, $before: String, $first: Int, $last: Int) { \
                 passengers(first: $first, after: $after, last: $last, before: $before) { \
                 nodes { id } pageInfo { hasPreviousPage hasNextPage } } }";
    // From a cursor with no cursor selected: the page still knows what lies on both sides.
    let after = gql.data(query, json!({ "after": third, "first": 4 })).await;
    assert_eq!(node_ids(&after), ids[3..7]);
    assert_eq!(after["passengers"]["pageInfo"], json!({ "hasPreviousPage": true, "hasNextPage": true }));
    let before = gql.data(query, json!({ "before": third, "last": 2 })).await;
    assert_eq!(node_ids(&before), ids[..2]);
    assert_eq!(before["passengers"]["pageInfo"], json!({ "hasPreviousPage": false, "hasNextPage": true }));
}

#[tokio::test]
async fn a_page_reads_only_the_columns_asked_for_and_what_its_cursor_needs() {
    let (gql, stored) = twelve_with_versions().await;
    let cursor = gql.data("{ passengers(first: 2) { pageInfo { endCursor } } }", json!({})).await["passengers"]
        ["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    // (columns, starts at a cursor, reads the insertion number, reads the version)
    let cases = [
        (Columns::Fields, false, false, false),
        (Columns::Fields, true, true, false),
        (Columns::Insertion, false, true, false),
        (Columns::All, false, true, true),
    ];
    // Pages of 12 are read by sqlx; pages of 300 on PostgreSQL with `COPY`.
    let bulk = BulkReader::new(&gql.db);
    for ((columns, from_cursor, seq_read, version_read), first) in cases.into_iter().flat_map(|c| [(c, 12), (c, 300)]) {
        let request = PageRequest {
            first: Some(first),
            after: from_cursor.then(|| cursor.clone()),
            columns,
            ..PageRequest::default()
        };
        let rows = page::page(&gql.db, bulk.as_ref(), &request, 50).await.unwrap().rows;
        let skip = if from_cursor { 2 } else { 0 };
        assert_eq!(rows.len(), 12 - skip);
        for (i, row) in rows.iter().enumerate() {
            let (id, version) = &stored[i + skip];
            assert_eq!(&row.uuid.to_string(), id);
            let seq = (i + skip + 1) as i64;
            let (want_seq, want_version) = (if seq_read { seq } else { 0 }, if version_read { *version } else { 0 });
            assert_eq!((row.seq, row.version), (want_seq, want_version), "{columns:?}, from a cursor: {from_cursor}");
        }
    }
}

#[tokio::test]
async fn a_caller_that_reads_no_cursor_gets_none_and_cannot_select_edges() {
    let (gql, stored) = twelve_with_versions().await;
    let run = |query: &'static str| {
        let request = async_graphql::Request::new(query).data(CursorsUnread);
        gql.executor.execute(request, Call::new(Caller::TRUSTED, Transport::Post))
    };
    let executed =
        run("{ passengers(first: 3) { nodes { id } pageInfo { hasNextPage startCursor endCursor } } }").await;
    let response = serde_json::to_value(&executed.response).unwrap();
    assert!(response.get("errors").is_none(), "{response:#}");
    let ids: Vec<&str> = stored[..3].iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        response["data"]["passengers"],
        json!({ "nodes": ids.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>(),
                "pageInfo": { "hasNextPage": true, "startCursor": null, "endCursor": null } })
    );
    let executed = run("{ passengers(first: 3) { edges { cursor } } }").await;
    let response = serde_json::to_value(&executed.response).unwrap();
    assert_eq!(
        response["errors"][0]["message"], "this request reads no cursor, so it cannot select edges",
        "{response:#}"
    );
}
