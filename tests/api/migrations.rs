//! Migrations: a fresh schema on both backends, idempotence, adoption of a legacy database, and
//! concurrent runs.

use entity::passenger;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryOrder, Statement};

use crate::helpers::{TestDb, postgres_only, titanic_rows};

/// A textual description of the `titanic` table and its indexes.
async fn schema_fingerprint(db: &DatabaseConnection) -> Vec<String> {
    let sql = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            "SELECT column_name || ' ' || data_type || ' ' || is_nullable || ' ' || \
             coalesce(character_maximum_length::text, '-') AS d \
             FROM information_schema.columns WHERE table_name = 'titanic' \
             UNION ALL SELECT indexdef FROM pg_indexes WHERE tablename = 'titanic' ORDER BY 1"
        }
        _ => "SELECT coalesce(sql, name) AS d FROM sqlite_master WHERE tbl_name = 'titanic' ORDER BY 1",
    };
    let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
    rows.iter().map(|r| r.try_get::<String>("", "d").unwrap()).collect()
}

async fn applied_migrations(db: &DatabaseConnection) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT count(*) AS n FROM seaql_migrations"))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[tokio::test]
async fn migrations_create_the_table_on_an_empty_database_and_rerunning_changes_nothing() {
    let test_db = TestDb::new().await;
    let db = test_db.migrated().await;
    let first = schema_fingerprint(&db).await;
    assert!(first.iter().any(|d| d.contains("titanic_name_seq_idx")), "name index missing: {first:?}");
    assert_eq!(applied_migrations(&db).await, 3);

    migration::run(&db).await.expect("second run");
    assert_eq!(schema_fingerprint(&db).await, first);
    assert_eq!(applied_migrations(&db).await, 3);
}

#[tokio::test]
async fn every_column_but_uuid_accepts_null() {
    let test_db = TestDb::new().await;
    let db = test_db.migrated().await;
    let id = uuid::Uuid::new_v4();
    passenger::Entity::insert(passenger_api::service::PassengerData::default().into_active_model(id))
        .exec_without_returning(&db)
        .await
        .unwrap();
    let row = passenger::Entity::find_by_id(id).one(&db).await.unwrap().expect("row");
    assert_eq!((row.name, row.sex, row.age, row.fare, row.survived), (None, None, None, None, None));
    assert_eq!(
        (row.passenger_class, row.siblings_or_spouses_aboard, row.parents_or_children_aboard),
        (None, None, None)
    );
}

#[tokio::test]
async fn postgres_columns_have_the_legacy_names_types_and_lengths() {
    let Some(admin) = postgres_only("postgres_columns_have_the_legacy_names_types_and_lengths") else {
        return;
    };
    let test_db = TestDb::postgres(admin).await;
    let fingerprint = schema_fingerprint(&test_db.migrated().await).await;
    for expected in [
        "uuid uuid NO -",
        "survived boolean YES -",
        "passengerClass integer YES -",
        "name character varying YES 150",
        "sex character varying YES 6",
        "age double precision YES -",
        "siblingsOrSpousesAboard integer YES -",
        "parentsOrChildrenAboard integer YES -",
        "fare double precision YES -",
        "seq bigint NO -",
    ] {
        assert!(fingerprint.iter().any(|d| d == expected), "missing `{expected}` in {fingerprint:?}");
    }
}

const LEGACY_DDL: &str = r#"
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE TABLE titanic (
    uuid uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    survived bool,
    "passengerClass" int,
    Name varchar(150),
    sex varchar(6),
    age float8,
    "siblingsOrSpousesAboard" int,
    "parentsOrChildrenAboard" int,
    fare float8
)"#;

/// Every legacy row as text, in the order a plain `SELECT` (legacy) or `ORDER BY seq` returns.
pub async fn legacy_rows(db: &DatabaseConnection, order: &str) -> Vec<String> {
    let sql = format!(
        "SELECT (uuid, survived, \"passengerClass\", name, sex, age, \"siblingsOrSpousesAboard\", \"parentsOrChildrenAboard\", fare)::text AS r FROM titanic {order}"
    );
    let rows = db.query_all_raw(Statement::from_string(DatabaseBackend::Postgres, sql)).await.unwrap();
    rows.iter().map(|r| r.try_get::<String>("", "r").unwrap()).collect()
}

/// The uuid of seed row 0 in the legacy database.
pub const LEGACY_ROW0_UUID: &str = "acd1111a-c9f6-4ff7-ba94-dc28bf15f36c";

/// Creates the legacy table and loads the CSV into it row by row, in CSV order, over one
/// connection (as a seeding script does; interleaving connections would scatter the heap).
pub async fn create_legacy_database(db: &DatabaseConnection) {
    use sea_orm::TransactionTrait;
    db.execute_unprepared(LEGACY_DDL).await.unwrap();
    let txn = db.begin().await.unwrap();
    for (i, row) in titanic_rows().into_iter().enumerate() {
        // Seed row 0 carries the uuid the legacy contract shows; the others get the default.
        let uuid: Option<uuid::Uuid> = (i == 0).then(|| LEGACY_ROW0_UUID.parse().unwrap());
        txn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            r#"INSERT INTO titanic (uuid, survived, "passengerClass", name, sex, age, "siblingsOrSpousesAboard", "parentsOrChildrenAboard", fare) VALUES (COALESCE($1, uuid_generate_v4()), $2, $3, $4, $5, $6, $7, $8, $9)"#,
            [
                uuid.into(),
                row.survived.into(),
                row.passenger_class.into(),
                row.name.into(),
                row.sex.into(),
                row.age.into(),
                row.siblings_or_spouses_aboard.into(),
                row.parents_or_children_aboard.into(),
                row.fare.into(),
            ],
        ))
        .await
        .unwrap();
    }
    txn.commit().await.unwrap();
}

#[tokio::test]
async fn migrations_adopt_a_legacy_database_without_changing_rows_uuids_or_order() {
    let Some(admin) = postgres_only("migrations_adopt_a_legacy_database_without_changing_rows_uuids_or_order") else {
        return;
    };
    let test_db = TestDb::postgres(admin).await;
    let db = test_db.connect().await;
    create_legacy_database(&db).await;
    let before = legacy_rows(&db, "").await;
    assert_eq!(before.len(), 887);

    migration::run(&db).await.expect("adoption");
    migration::run(&db).await.expect("re-run is a no-op");

    assert_eq!(legacy_rows(&db, "ORDER BY seq").await, before, "rows, uuids or order changed");
    let first = passenger::Entity::find().order_by_asc(passenger::Column::Seq).one(&db).await.unwrap().unwrap();
    assert_eq!(first.name.as_deref(), Some("Mr. Owen Harris Braund"));
    // Heap order is what the legacy `SELECT *` listed; PostgreSQL may have placed a short row
    // into an earlier page's free space while loading, so compare with `before`, not the CSV.
    let last = passenger::Entity::find().order_by_desc(passenger::Column::Seq).one(&db).await.unwrap().unwrap();
    assert!(before.last().unwrap().contains(&last.uuid.to_string()));
    assert_eq!(last.seq, 887);

    // New rows, from the service or from a legacy-style INSERT, go to the end.
    db.execute_unprepared("INSERT INTO titanic (name) VALUES ('Legacy-Style Insert')").await.unwrap();
    let newest = passenger::Entity::find().order_by_desc(passenger::Column::Seq).one(&db).await.unwrap().unwrap();
    assert_eq!((newest.name.as_deref(), newest.seq), (Some("Legacy-Style Insert"), 888));
}

#[tokio::test]
async fn two_replicas_migrating_one_empty_postgres_database_at_once_both_succeed() {
    let Some(admin) = postgres_only("two_replicas_migrating_one_empty_postgres_database_at_once_both_succeed") else {
        return;
    };
    let test_db = TestDb::postgres(admin).await;
    let (a, b) = (test_db.connect().await, test_db.connect().await);
    let (ra, rb) = tokio::join!(migration::run(&a), migration::run(&b));
    ra.expect("replica A");
    rb.expect("replica B");
    assert_eq!(applied_migrations(&a).await, 3);
}
