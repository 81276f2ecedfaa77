//! Seeding from the legacy CSV format.

use entity::passenger;
use passenger_api::seed::{self, SeedError, SeedOutcome};
use passenger_api::service::PassengerData;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use crate::helpers::{TestDb, postgres_only, spawn_app_on, titanic_rows};

const HEADER: &str = "Survived,Pclass,Name,Sex,Age,Siblings_Spouses_Aboard,Parents_Children_Aboard,Fare\n";

#[tokio::test]
async fn seeding_titanic_csv_stores_all_887_rows_with_exact_values_in_csv_order() {
    let test_db = TestDb::new().await;
    let db = test_db.migrated().await;
    let outcome = seed::insert(&db, titanic_rows(), false).await.unwrap();
    assert_eq!(outcome, SeedOutcome::Inserted(887));

    let rows = passenger::Entity::find().order_by_asc(passenger::Column::Seq).all(&db).await.unwrap();
    assert_eq!(rows.len(), 887);
    let first = &rows[0];
    assert_eq!(first.name.as_deref(), Some("Mr. Owen Harris Braund"));
    assert_eq!(
        (first.survived, first.passenger_class, first.sex.as_deref(), first.age, first.fare),
        (Some(false), Some(3), Some("male"), Some(22.0), Some(7.25))
    );
    assert_eq!((first.siblings_or_spouses_aboard, first.parents_or_children_aboard), (Some(1), Some(0)));
    let last = &rows[886];
    assert_eq!(last.name.as_deref(), Some("Mr. Patrick Dooley"));
    assert_eq!((last.age, last.fare, last.passenger_class), (Some(32.0), Some(7.75), Some(3)));

    let odwyer = passenger::Entity::find()
        .filter(passenger::Column::Name.eq("Miss. Ellen O'Dwyer"))
        .one(&db)
        .await
        .unwrap()
        .expect("apostrophe name stored");
    assert_eq!((odwyer.age, odwyer.fare, odwyer.survived), (Some(24.0), Some(7.8792), Some(true)));
    for age in [0.83, 28.5] {
        assert!(rows.iter().any(|r| r.age == Some(age)), "fractional age {age} missing");
    }
    let names: Vec<_> = titanic_rows().into_iter().map(|r| r.name).collect();
    assert_eq!(rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>(), names, "CSV order lost");
}

/// What CSV must quote (commas, quotes, line breaks, an empty name, a line that is only `\.`,
/// PostgreSQL's end-of-data marker) and floats at the edges of their range land exactly as
/// given; NULL stays NULL and an empty name stays empty.
#[tokio::test]
async fn awkward_text_and_extreme_floats_are_stored_exactly() {
    let test_db = TestDb::new().await;
    let db = test_db.migrated().await;
    let names = ["", "O\"Dwyer, \"Ellen\"", "line\nbreak\r\nthen\n\\.\nend", "trailing \\", "é ü 漢字 🚢", ","];
    let floats = [71.28330000000001, 5e-324, 1.7976931348623157e308, -0.1, 1e-7, 123456789.123];
    let mut rows: Vec<PassengerData> = names
        .iter()
        .zip(floats)
        .map(|(name, f)| PassengerData {
            name: Some((*name).to_owned()),
            sex: Some("x".into()),
            age: Some(f),
            fare: Some(-f),
            survived: Some(f > 0.0),
            passenger_class: Some(-1),
            siblings_or_spouses_aboard: Some(i32::MAX),
            parents_or_children_aboard: Some(i32::MIN),
        })
        .collect();
    rows.push(PassengerData::default());
    assert_eq!(seed::insert(&db, rows.clone(), false).await.unwrap(), SeedOutcome::Inserted(7));

    let stored = passenger::Entity::find().order_by_asc(passenger::Column::Seq).all(&db).await.unwrap();
    assert_eq!(stored.len(), rows.len());
    for (want, got) in rows.iter().zip(&stored) {
        assert_eq!(got.name, want.name);
        assert_eq!(got.sex, want.sex);
        assert_eq!(got.age.map(f64::to_bits), want.age.map(f64::to_bits), "age of {:?}", want.name);
        assert_eq!(got.fare.map(f64::to_bits), want.fare.map(f64::to_bits), "fare of {:?}", want.name);
        assert_eq!(
            (got.survived, got.passenger_class, got.siblings_or_spouses_aboard, got.parents_or_children_aboard),
            (want.survived, want.passenger_class, want.siblings_or_spouses_aboard, want.parents_or_children_aboard)
        );
    }
}

async fn assert_rejected(db: &sea_orm::DatabaseConnection, bad_row: &str, expected: &str) {
    let csv = format!("{HEADER}1,1,Good Row,female,30,0,0,10\n{bad_row}\n");
    match seed::parse_csv(csv.as_bytes()) {
        Err(err @ SeedError::Csv { line: 3, .. }) => assert_eq!(err.to_string(), expected),
        other => panic!("expected an error on line 3 for {bad_row:?}, got {other:?}"),
    }
    assert_eq!(passenger::Entity::find().count(db).await.unwrap(), 887, "table changed");
}

#[tokio::test]
async fn a_csv_with_a_bad_row_is_rejected_with_its_line_number_and_the_table_is_unchanged() {
    let test_db = TestDb::new().await;
    let db = test_db.migrated().await;
    seed::insert(&db, titanic_rows(), false).await.unwrap();

    assert_rejected(&db, "0,3,Text Age,male,abc,0,0,7.25", "line 3: Age: expected a number, got \"abc\"").await;
    let long = "x".repeat(151);
    assert_rejected(
        &db,
        &format!("0,3,{long},male,22,0,0,7.25"),
        "line 3: Name: must be at most 150 characters, got 151",
    )
    .await;
    assert_rejected(&db, "0,3,Long Sex,unknown,22,0,0,7.25", "line 3: Sex: must be at most 6 characters, got 7").await;
    assert_rejected(&db, "0,3,Short Row,male,22,0,0", "line 3: expected 8 columns, found 7").await;
}

#[tokio::test]
async fn if_empty_skips_a_table_that_already_has_rows() {
    let test_db = TestDb::new().await;
    let db = test_db.migrated().await;
    assert_eq!(seed::insert(&db, titanic_rows(), true).await.unwrap(), SeedOutcome::Inserted(887));
    assert_eq!(seed::insert(&db, titanic_rows(), true).await.unwrap(), SeedOutcome::SkippedNonEmpty(887));
    assert_eq!(passenger::Entity::find().count(&db).await.unwrap(), 887);
}

#[tokio::test]
async fn synthetic_seeding_inserts_the_requested_number_of_rows() {
    let test_db = TestDb::new().await;
    let db = test_db.migrated().await;
    let outcome = seed::insert(&db, seed::synthetic(2500, 1).collect(), false).await.unwrap();
    assert_eq!(outcome, SeedOutcome::Inserted(2500));
    assert_eq!(passenger::Entity::find().count(&db).await.unwrap(), 2500);
}

/// A large SQLite import runs with a larger page cache, and hands its connection back to the
/// pool with the service's own one (see `db::SQLITE_CACHE_SIZE`).
#[tokio::test]
async fn a_large_sqlite_import_leaves_its_connection_with_the_service_page_cache() {
    let test_db = TestDb::sqlite();
    let mut config = passenger_api::config::Config::with_database_url(&test_db.url);
    config.db_max_connections = 1;
    let db = passenger_api::db::connect(&config).await.unwrap();
    migration::run(&db).await.unwrap();
    let cache_size = async || {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Sqlite, "PRAGMA cache_size"))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    };
    let service_cache: i64 = passenger_api::db::SQLITE_CACHE_SIZE.parse().unwrap();
    assert_eq!(cache_size().await, service_cache);
    let outcome = seed::insert(&db, seed::synthetic(10_000, 2).collect(), false).await.unwrap();
    assert_eq!(outcome, SeedOutcome::Inserted(10_000));
    assert_eq!(passenger::Entity::find().count(&db).await.unwrap(), 10_000);
    assert_eq!(cache_size().await, service_cache);
}

/// The exact legacy bytes of a passenger object with `uuid`.
fn legacy_object(fields: &str, uuid: &str) -> String {
    format!("{{{fields},\"uuid\":\"{uuid}\"}}")
}

#[tokio::test]
async fn a_new_sqlite_database_starts_with_the_887_historical_passengers_in_csv_order() {
    let app = spawn_app_on(TestDb::sqlite(), |c| c.no_seed = false).await;
    let response = app.get("/passengerlist").await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    // The contract's figure for the pristine table: uuids are all 36 characters long.
    assert_eq!(body.len(), 188_657);
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 887);
    let first = legacy_object(
        r#""age":22.0,"fare":7.25,"name":"Mr. Owen Harris Braund","parentsOrChildrenAboard":0,"passengerClass":3,"sex":"male","siblingsOrSpousesAboard":1,"survived":false"#,
        list[0]["uuid"].as_str().unwrap(),
    );
    let last = legacy_object(
        r#""age":32.0,"fare":7.75,"name":"Mr. Patrick Dooley","parentsOrChildrenAboard":0,"passengerClass":3,"sex":"male","siblingsOrSpousesAboard":0,"survived":false"#,
        list[886]["uuid"].as_str().unwrap(),
    );
    assert!(body.starts_with(&format!("[{first},")), "{}", &body[..300]);
    assert!(body.ends_with(&format!(",{last}]\n")), "{}", &body[body.len() - 300..]);
    let names: Vec<_> = titanic_rows().into_iter().map(|r| serde_json::json!(r.name)).collect();
    assert_eq!(list.iter().map(|p| p["name"].clone()).collect::<Vec<_>>(), names, "CSV order lost");
}

#[tokio::test]
async fn an_existing_sqlite_database_is_never_seeded_again() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kept.db").display());
    let mut first = passenger_api::config::Config::with_database_url(&url);
    first.bind = "127.0.0.1:0".parse().unwrap();
    {
        let app = passenger_api::startup::Application::build(first.clone()).await.unwrap();
        drop(app);
    }
    let db = passenger_api::db::connect(&first).await.unwrap();
    assert_eq!(passenger_api::service::passenger::count(&db).await.unwrap(), 887);
    let one = passenger::Entity::find().one(&db).await.unwrap().unwrap();
    passenger::Entity::delete_by_id(one.uuid).exec(&db).await.unwrap();
    let app = passenger_api::startup::Application::build(first.clone()).await.unwrap();
    drop(app);
    assert_eq!(passenger_api::service::passenger::count(&db).await.unwrap(), 886, "seeded a second time");
}

#[tokio::test]
async fn with_no_seed_a_new_sqlite_database_starts_empty() {
    let app = spawn_app_on(TestDb::sqlite(), |c| c.no_seed = true).await;
    assert_eq!(app.get("/passengerlist").await.text().await.unwrap(), "[]\n");
}

/// A row PostgreSQL refuses partway through the stream fails the whole import: nothing lands,
/// the error names the problem, and the pool's connections work afterwards. (A NUL character in
/// text: the CSV import's validation refuses it first, so the row is handed to `insert`
/// directly, past validation, to make PostgreSQL the one that refuses it.)
#[tokio::test]
async fn a_postgresql_import_refused_partway_writes_nothing_and_leaves_the_pool_usable() {
    let Some(admin) = postgres_only("a_postgresql_import_refused_partway_writes_nothing_and_leaves_the_pool_usable")
    else {
        return;
    };
    let test_db = TestDb::postgres(admin).await;
    let db = test_db.migrated().await;
    let mut rows: Vec<PassengerData> = seed::synthetic(2500, 5).collect();
    rows[2400].name = Some("nul \0 inside".into());
    let err = seed::insert(&db, rows, false).await.unwrap_err();
    assert!(err.to_string().contains("0x00"), "{err}");
    assert_eq!(passenger::Entity::find().count(&db).await.unwrap(), 0, "a partial import landed");
    for _ in 0..3 {
        assert_eq!(passenger::Entity::find().count(&db).await.unwrap(), 0);
    }
    assert_eq!(seed::insert(&db, titanic_rows(), false).await.unwrap(), SeedOutcome::Inserted(887));
}

#[tokio::test]
async fn serve_never_seeds_a_postgresql_database() {
    let Some(admin) = postgres_only("serve_never_seeds_a_postgresql_database") else {
        return;
    };
    let app = spawn_app_on(TestDb::postgres(admin).await, |c| c.no_seed = false).await;
    assert_eq!(app.get("/passengerlist").await.text().await.unwrap(), "[]\n");
    assert_eq!(passenger_api::service::passenger::count(&app.db).await.unwrap(), 0);
}

#[tokio::test]
async fn a_postgresql_seed_leaves_statistics_so_the_list_reads_the_seq_index() {
    let Some(admin) = postgres_only("a_postgresql_seed_leaves_statistics_so_the_list_reads_the_seq_index") else {
        return;
    };
    let test_db = TestDb::postgres(admin).await;
    let db = test_db.migrated().await;
    // A new table has never been analysed (PostgreSQL 14 on: -1; earlier: 0).
    assert!(planner_row_estimate(&db).await <= 0.0, "statistics before any seed");
    seed::insert(&db, titanic_rows(), false).await.unwrap();
    assert_eq!(planner_row_estimate(&db).await, 887.0, "the seed's ANALYZE counted the rows");

    // What the legacy list and the first GraphQL page run: the index, not a sort of the table.
    let plan = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            r#"EXPLAIN SELECT * FROM "passengers" ORDER BY "seq" LIMIT 1001"#,
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(plan.contains("Index Scan") && !plan.contains("Sort"), "plan after seeding:\n{plan}");
}

/// The planner's row count of the passengers table (`pg_class.reltuples`, which `ANALYZE` sets).
async fn planner_row_estimate(db: &sea_orm::DatabaseConnection) -> f64 {
    let sql = "SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'passengers'::regclass";
    let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
    row.try_get::<f64>("", "n").unwrap()
}
