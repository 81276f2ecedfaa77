//! Migrations: a fresh schema on both backends, idempotence, adoption of a legacy database,
//! concurrent runs, and a database a newer release migrated.

use entity::passenger;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryOrder, Statement};

use crate::helpers::{TestDb, postgres_only, spawn_app_on};

/// A textual description of the `passengers` table, its indexes and triggers, and the
/// `titanic` view.
async fn schema_fingerprint(db: &DatabaseConnection) -> Vec<String> {
    let sql = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || \
             coalesce(character_maximum_length::text, '-') AS d \
             FROM information_schema.columns WHERE table_name IN ('passengers', 'titanic') \
             UNION ALL SELECT indexdef FROM pg_indexes WHERE tablename = 'passengers' \
             UNION ALL SELECT tgname FROM pg_trigger WHERE tgrelid = 'passengers'::regclass ORDER BY 1"
        }
        _ => "SELECT coalesce(sql, name) AS d FROM sqlite_master WHERE tbl_name = 'passengers' ORDER BY 1",
    };
    let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
    rows.iter().map(|r| r.try_get::<String>("", "d").unwrap()).collect()
}

/// How many migrations the service has.
const MIGRATIONS: i64 = 8;

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
    assert_eq!(applied_migrations(&db).await, MIGRATIONS);

    migration::run(&db).await.expect("second run");
    assert_eq!(schema_fingerprint(&db).await, first);
    assert_eq!(applied_migrations(&db).await, MIGRATIONS);
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
        "passengers.uuid uuid NO -",
        "passengers.survived boolean YES -",
        "passengers.passengerClass integer YES -",
        "passengers.name character varying YES 150",
        "passengers.sex character varying YES 6",
        "passengers.age double precision YES -",
        "passengers.siblingsOrSpousesAboard integer YES -",
        "passengers.parentsOrChildrenAboard integer YES -",
        "passengers.fare double precision YES -",
        "passengers.seq bigint NO -",
        "passengers.version bigint NO -",
        // The legacy view: the nine columns, no more.
        "titanic.uuid uuid YES -",
        "titanic.name character varying YES 150",
        "titanic.fare double precision YES -",
        "passengers_next_version",
        "passengers_announce_row",
        "passengers_announce_change",
    ] {
        assert!(fingerprint.iter().any(|d| d == expected), "missing `{expected}` in {fingerprint:?}");
    }
    assert!(!fingerprint.iter().any(|d| d.starts_with("titanic.seq") || d.starts_with("titanic.version")));
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

/// Every legacy row as text, as `SELECT … FROM {from}` returns them (e.g. `titanic`, in heap
/// order as the legacy service listed them, or `passengers ORDER BY seq`).
pub async fn legacy_rows(db: &DatabaseConnection, from: &str) -> Vec<String> {
    let sql = format!(
        "SELECT (uuid, survived, \"passengerClass\", name, sex, age, \"siblingsOrSpousesAboard\", \"parentsOrChildrenAboard\", fare)::text AS r FROM {from}"
    );
    let rows = db.query_all_raw(Statement::from_string(DatabaseBackend::Postgres, sql)).await.unwrap();
    rows.iter().map(|r| r.try_get::<String>("", "r").unwrap()).collect()
}

/// The uuid of seed row 0 in the legacy database.
pub const LEGACY_ROW0_UUID: &str = "acd1111a-c9f6-4ff7-ba94-dc28bf15f36c";

/// The legacy columns the legacy image's `COPY` fills, in its order.
const LEGACY_COPY_COLUMNS: &str =
    r#"survived, "passengerClass", name, sex, age, "siblingsOrSpousesAboard", "parentsOrChildrenAboard", fare"#;

/// Creates the legacy table with the legacy DDL and loads the CSV with the legacy `COPY … CSV
/// HEADER` (uuids from the column default). Seed row 0 is copied first with the uuid the legacy
/// contract shows, so the heap holds the rows in CSV order as the legacy image's does.
pub async fn create_legacy_database(db: &DatabaseConnection) {
    db.execute_unprepared(LEGACY_DDL).await.unwrap();
    let csv = std::fs::read_to_string(crate::helpers::titanic_csv()).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    let first = lines.next().unwrap();
    let rest: String = lines.map(|l| format!("{l}\n")).collect();
    let pool = db.get_postgres_connection_pool();
    let mut conn = pool.acquire().await.unwrap();
    let mut copy = conn
        .copy_in_raw(&format!("COPY titanic(uuid, {LEGACY_COPY_COLUMNS}) FROM STDIN DELIMITER ',' CSV HEADER"))
        .await
        .unwrap();
    copy.send(format!("uuid,{header}\n{LEGACY_ROW0_UUID},{first}\n").into_bytes()).await.unwrap();
    copy.finish().await.unwrap();
    let mut copy = conn
        .copy_in_raw(&format!("COPY titanic({LEGACY_COPY_COLUMNS}) FROM STDIN DELIMITER ',' CSV HEADER"))
        .await
        .unwrap();
    copy.send(format!("{header}\n{rest}").into_bytes()).await.unwrap();
    assert_eq!(copy.finish().await.unwrap(), 886);
}

#[tokio::test]
async fn migrations_adopt_a_legacy_database_without_changing_rows_uuids_or_order() {
    let Some(admin) = postgres_only("migrations_adopt_a_legacy_database_without_changing_rows_uuids_or_order") else {
        return;
    };
    let test_db = TestDb::postgres(admin).await;
    let db = test_db.connect().await;
    create_legacy_database(&db).await;
    let before = legacy_rows(&db, "titanic").await;
    assert_eq!(before.len(), 887);

    migration::run(&db).await.expect("adoption");
    migration::run(&db).await.expect("re-run is a no-op");

    assert_eq!(legacy_rows(&db, "passengers ORDER BY seq").await, before, "rows, uuids or order changed");
    assert_eq!(legacy_rows(&db, "titanic").await, before, "the legacy select changed");
    let first = passenger::Entity::find().order_by_asc(passenger::Column::Seq).one(&db).await.unwrap().unwrap();
    assert_eq!(first.name.as_deref(), Some("Mr. Owen Harris Braund"));
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
    assert_eq!(applied_migrations(&a).await, MIGRATIONS);
}

/// A migration a newer release applied, unknown to this one.
const FUTURE: &str = "m20990101_000001_from_a_newer_release";

async fn record_future_migration(db: &DatabaseConnection) {
    db.execute_unprepared(&format!("INSERT INTO seaql_migrations (version, applied_at) VALUES ('{FUTURE}', 0)"))
        .await
        .unwrap();
}

/// Rolling passenger-api back: a release runs on a database a newer release migrated (sea-orm's
/// migrator alone refuses to start on one), applies nothing, and serves.
#[tokio::test]
async fn a_release_runs_on_a_database_a_newer_release_migrated() {
    let test_db = TestDb::new().await;
    let db = test_db.migrated().await;
    record_future_migration(&db).await;
    let before = schema_fingerprint(&db).await;
    assert_eq!(migration::run(&db).await.unwrap(), migration::Ran::Newer(vec![FUTURE.to_owned()]));
    assert_eq!(schema_fingerprint(&db).await, before);
    assert_eq!(applied_migrations(&db).await, MIGRATIONS + 1);
    let app = spawn_app_on(test_db, |_| {}).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let list = app.get("/passengerlist").await;
    assert_eq!(list.status(), 200);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&list.text().await.unwrap()).unwrap(), serde_json::json!([]));
}

/// A database holding a migration this release does not know while lacking one it does was
/// migrated by a diverging release: refused, naming both, and nothing is applied.
#[tokio::test]
async fn a_database_migrated_by_a_diverging_release_is_refused() {
    let test_db = TestDb::new().await;
    let db = test_db.migrated().await;
    record_future_migration(&db).await;
    db.execute_unprepared("DELETE FROM seaql_migrations WHERE version = 'm20250101_000007_cover_grouped_stats'")
        .await
        .unwrap();
    let error = migration::run(&db).await.unwrap_err().to_string();
    assert!(error.contains("diverging release"), "{error}");
    assert!(error.contains(FUTURE) && error.contains("m20250101_000007_cover_grouped_stats"), "{error}");
    assert_eq!(applied_migrations(&db).await, MIGRATIONS);
}

/// The SQLite rows as text, every column (the stored `page_row` too when there is one).
async fn sqlite_rows(db: &DatabaseConnection) -> Vec<String> {
    let sql = r#"SELECT seq || '|' || hex(uuid) || '|' || quote(survived) || '|' || quote("passengerClass") || '|' || quote(name) || '|' || quote(sex) || '|' || quote(age) || '|' || quote("siblingsOrSpousesAboard") || '|' || quote("parentsOrChildrenAboard") || '|' || quote(fare) || '|' || version AS d FROM passengers ORDER BY seq"#;
    let rows = db.query_all_raw(Statement::from_string(DatabaseBackend::Sqlite, sql)).await.unwrap();
    rows.iter().map(|r| r.try_get::<String>("", "d").unwrap()).collect()
}

/// The SQLite schema's indexes and triggers on `passengers` (not the table's own DDL).
fn indexes_and_triggers(fingerprint: &[String]) -> Vec<String> {
    fingerprint.iter().filter(|d| !d.starts_with("CREATE TABLE")).cloned().collect()
}

/// Migration 8 rebuilds an SQLite table that has rows: same rows and insertion numbers, the
/// counter past a deleted newest row kept, the same indexes and triggers (the version trigger
/// still counting), each row's stored page text filled in; undoing it drops the column.
#[tokio::test]
async fn sqlite_rebuild_for_stored_page_rows_keeps_rows_numbers_indexes_and_triggers() {
    use migration::MigratorTrait;
    let test_db = TestDb::sqlite();
    let db = test_db.connect().await;
    migration::Migrator::up(&db, Some(7)).await.unwrap();
    db.execute_unprepared(
        r#"INSERT INTO passengers (uuid, survived, "passengerClass", name, sex, age, "siblingsOrSpousesAboard", "parentsOrChildrenAboard", fare)
           VALUES (randomblob(16), 1, 3, 'A "quoted" name', 'female', 0.42, 1, 0, 7.2292),
                  (randomblob(16), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                  (randomblob(16), 0, 1, 'Extreme', 'male', 5e-324, 0, 0, 1e300),
                  (randomblob(16), 0, 2, 'Deleted', 'male', 30, 0, 0, 13);
           UPDATE passengers SET name = 'Updated' WHERE seq = 2;
           DELETE FROM passengers WHERE seq = 4;"#,
    )
    .await
    .unwrap();
    let rows = sqlite_rows(&db).await;
    assert_eq!(rows.len(), 3);
    assert!(rows[1].ends_with("|2"), "version trigger before: {}", rows[1]);
    let before = indexes_and_triggers(&schema_fingerprint(&db).await);
    assert!(before.iter().any(|d| d.contains("passengers_next_version")), "{before:?}");

    migration::run(&db).await.unwrap();
    assert_eq!(applied_migrations(&db).await, MIGRATIONS);
    assert_eq!(sqlite_rows(&db).await, rows, "rows or insertion numbers changed");
    let after = schema_fingerprint(&db).await;
    assert_eq!(indexes_and_triggers(&after), before);
    assert!(after.iter().any(|d| d.contains("page_row TEXT GENERATED ALWAYS")), "{after:?}");
    let stored = "SELECT count(page_row) AS n FROM passengers";
    let count = |sql: &'static str| {
        let db = &db;
        async move {
            let row = db.query_one_raw(Statement::from_string(DatabaseBackend::Sqlite, sql)).await.unwrap().unwrap();
            row.try_get::<i64>("", "n").unwrap()
        }
    };
    assert_eq!(count(stored).await, 2, "every row but the extreme one has its text");

    db.execute_unprepared("INSERT INTO passengers (uuid, name) VALUES (randomblob(16), 'New'); UPDATE passengers SET age = 1 WHERE seq = 1")
        .await
        .unwrap();
    let now = sqlite_rows(&db).await;
    assert!(now[3].starts_with("5|"), "the next insertion number is still 5: {}", now[3]);
    assert!(now[0].ends_with("|2"), "the version trigger still counts: {}", now[0]);
    assert_eq!(count(stored).await, 3);

    migration::Migrator::down(&db, Some(1)).await.unwrap();
    let undone = schema_fingerprint(&db).await;
    assert!(!undone.iter().any(|d| d.contains("page_row")), "{undone:?}");
    assert_eq!(indexes_and_triggers(&undone), before);
    assert_eq!(sqlite_rows(&db).await, now);
}
