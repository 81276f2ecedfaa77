//! Lookups by id are batched: one SELECT per batch, however many fields ask.

use std::sync::atomic::Ordering;

use passenger_api::config::Config;
use passenger_api::graphql::access::Caller;
use passenger_api::graphql::{Call, Executor, Transport, build_schema};

use crate::helpers::{TestDb, counting_selects, titanic_rows};

#[tokio::test]
async fn a_query_with_100_aliased_passenger_lookups_issues_exactly_one_select() {
    let test_db = TestDb::new().await;
    let db = test_db.migrated().await;
    passenger_api::seed::insert(&db, titanic_rows(), false).await.unwrap();
    let ids: Vec<uuid::Uuid> = entity::passenger::Entity::find_ids(&db).await;

    let (counted, statements) = counting_selects(&test_db).await;
    let config = Config::with_database_url(&test_db.url);
    let schema = build_schema(counted, passenger_api::service::events::Events::new(8), &config);
    let executor = Executor::standalone(schema, &config);

    let fields: String = ids
        .iter()
        .take(100)
        .enumerate()
        .map(|(i, id)| format!("p{i}: passenger(id: \"{id}\") {{ id name }}\n"))
        .collect();
    let call = Call::new(Caller::TRUSTED, Transport::Post);
    let response = executor.execute(async_graphql::Request::new(format!("{{ {fields} }}")), call).await.response;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().unwrap();
    assert_eq!(data.as_object().unwrap().len(), 100);
    assert!(data.as_object().unwrap().values().all(|v| v["name"].is_string()));
    assert_eq!(statements.load(Ordering::SeqCst), 1, "expected one batched SELECT");
}

trait FindIds {
    async fn find_ids(db: &sea_orm::DatabaseConnection) -> Vec<uuid::Uuid>;
}

impl FindIds for entity::passenger::Entity {
    async fn find_ids(db: &sea_orm::DatabaseConnection) -> Vec<uuid::Uuid> {
        use sea_orm::{EntityTrait, QueryOrder};
        Self::find()
            .order_by_asc(entity::passenger::Column::Seq)
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.uuid)
            .collect()
    }
}
