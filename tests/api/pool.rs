//! The PostgreSQL pool keeps `DB_MIN_CONNECTIONS` open from start-up, opened in the background;
//! with none asked for it opens nothing until a request needs it.

use std::time::{Duration, Instant};

use passenger_api::config::Config;
use sea_orm::{ConnectionTrait, Database, Statement};

use crate::helpers::{TestDb, postgres_only};

/// Connections open on the database `name`, counted from the server's own view.
async fn open_connections(admin: &sea_orm::DatabaseConnection, name: &str) -> i64 {
    let row = admin
        .query_one_raw(Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
            [name.into()],
        ))
        .await
        .expect("pg_stat_activity")
        .expect("one row");
    row.try_get_by_index(0).expect("a count")
}

#[tokio::test]
async fn the_postgresql_pool_keeps_its_minimum_open_without_being_asked() {
    let Some(admin_url) = postgres_only("the_postgresql_pool_keeps_its_minimum_open_without_being_asked") else {
        return;
    };
    let admin = Database::connect(&admin_url).await.expect("admin connection");
    for (min, expected) in [(0_u32, 0_i64), (3, 3)] {
        let test_db = TestDb::postgres(admin_url.clone()).await;
        let name = url::Url::parse(&test_db.url).expect("a URL").path().trim_start_matches('/').to_owned();
        let mut config = Config::with_database_url(&test_db.url);
        config.db_max_connections = 8;
        config.db_min_connections = min;
        let pool = passenger_api::db::connect(&config).await.expect("the pool opens");
        // Opened in the background: wait for them, within reason.
        let started = Instant::now();
        let mut open = open_connections(&admin, &name).await;
        while open < expected && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            open = open_connections(&admin, &name).await;
        }
        if expected == 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            open = open_connections(&admin, &name).await;
        }
        assert_eq!(open, expected, "DB_MIN_CONNECTIONS={min}: connections open before any request");
        pool.close().await.ok();
    }
}
