//! Issue 16: adopting a legacy PostgreSQL database is invisible to the legacy service, its
//! writes are first-class, and the adoption can be undone.
//!
//! The legacy service is played by its own SQL (contract section 11), sent as it sends it:
//! literal statements over the simple query protocol, values in text form.

use std::time::Duration;

use sea_orm::sqlx::{
    self, Column as _, Executor as _, Row as _, SqlSafeStr as _, Statement as _, TypeInfo as _, ValueRef as _,
};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};

use crate::helpers::{TestDb, postgres_only, spawn_app_on};
use crate::migrations::create_legacy_database;
use crate::subscriptions::{Subscription, wait_for_listeners};

/// What one statement answered, as the legacy driver sees it: the columns (name and type), the
/// rows in order with every value as text, and the number of rows written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    columns: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
    affected: u64,
}

/// Runs `sql` (one statement) on `conn` like psycopg2: simple query protocol, text values.
async fn legacy(conn: &mut sqlx::PgConnection, sql: &str) -> Answer {
    let columns = if sql.starts_with("SELECT") {
        let prepared = conn
            .prepare(sqlx::AssertSqlSafe(sql.to_owned()).into_sql_str())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        prepared.columns().iter().map(|c| format!("{} {}", c.name(), c.type_info().name())).collect()
    } else {
        Vec::new()
    };
    let mut rows = Vec::new();
    let mut affected = 0;
    {
        use futures_util::TryStreamExt;
        let mut results = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()).into_sql_str()).fetch_many(&mut *conn);
        while let Some(item) = results.try_next().await.unwrap_or_else(|e| panic!("{sql}: {e}")) {
            match item {
                sqlx::Either::Left(done) => affected += done.rows_affected(),
                sqlx::Either::Right(row) => rows.push(
                    (0..row.len())
                        .map(|i| {
                            let v = row.try_get_raw(i).unwrap();
                            (!v.is_null()).then(|| v.as_str().unwrap().to_owned())
                        })
                        .collect(),
                ),
            }
        }
    }
    Answer { columns, rows, affected }
}

/// The declared type of every column of `SELECT * FROM titanic`, with lengths.
async fn legacy_column_types(conn: &mut sqlx::PgConnection) -> Vec<Option<String>> {
    let sql = "SELECT attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute \
               WHERE attrelid = 'titanic'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum";
    legacy(conn, sql).await.rows.into_iter().map(|mut r| r.remove(0)).collect()
}

async fn connection(test_db: &TestDb) -> sqlx::PgConnection {
    use sqlx::Connection as _;
    sqlx::PgConnection::connect(&test_db.url).await.unwrap()
}

/// A legacy database as the legacy image makes it, whose heap has seen the legacy service at
/// work: the second row deleted and vacuumed away, a new row in its freed slot (second in the
/// list), a row updated (a new tuple version, wherever PostgreSQL found room for it).
async fn legacy_database(admin: String) -> TestDb {
    let test_db = TestDb::postgres(admin).await;
    let db = test_db.connect().await;
    create_legacy_database(&db).await;
    let mut conn = connection(&test_db).await;
    let second = legacy(&mut conn, "SELECT uuid FROM titanic LIMIT 1 OFFSET 1").await.rows[0][0].clone().unwrap();
    legacy(&mut conn, &format!("DELETE FROM titanic WHERE uuid::text = '{second}'")).await;
    legacy(&mut conn, "VACUUM titanic").await;
    legacy(&mut conn, &insert("Slot Filler")).await;
    let middle = legacy(&mut conn, "SELECT uuid FROM titanic LIMIT 1 OFFSET 400").await.rows[0][0].clone().unwrap();
    legacy(&mut conn, &update(&middle, "Updated Before Adoption")).await;
    let list = legacy(&mut conn, "SELECT name FROM titanic").await.rows;
    assert_eq!(list[1][0].as_deref(), Some("Slot Filler"), "the insert took the freed slot");
    assert_eq!(list.iter().filter(|r| r[0].as_deref() == Some("Updated Before Adoption")).count(), 1);
    sqlx::Connection::close(conn).await.unwrap();
    db.close().await.unwrap();
    test_db
}

/// The legacy POST's insert, values spliced in as psycopg2 does.
fn insert(name: &str) -> String {
    format!(
        r#"INSERT INTO titanic(survived, "passengerClass", name, sex, age, "siblingsOrSpousesAboard", "parentsOrChildrenAboard", fare) VALUES(true, 2, '{name}', 'female', 30.5, 1, 0, 12.25)"#
    )
}

/// The legacy PUT's update.
fn update(uuid: &str, name: &str) -> String {
    format!(
        r#"UPDATE titanic SET survived = false, "passengerClass" = 3, name = '{name}', sex = 'male', age = 41.0, "siblingsOrSpousesAboard" = 0, "parentsOrChildrenAboard" = 2, fare = 8.05 WHERE uuid::text = '{uuid}'"#
    )
}

/// Every legacy statement, in the legacy service's own words, with what each answered.
async fn legacy_script(conn: &mut sqlx::PgConnection, role: &str) -> Vec<(String, Answer)> {
    legacy(conn, &format!("SET ROLE {role}")).await;
    let list = legacy(conn, "SELECT * FROM titanic").await;
    let uuid = |i: usize| list.rows[i][0].clone().unwrap();
    let (fifth, seventh) = (uuid(5), uuid(7));
    let statements = [
        "SELECT * FROM titanic".to_owned(),
        insert("Legacy Insert"),
        "SELECT * FROM titanic WHERE name = 'Legacy Insert'".to_owned(),
        format!("SELECT * FROM titanic where uuid::text = '{fifth}'"),
        update(&fifth, "Legacy Update"),
        format!("SELECT * FROM titanic where uuid::text = '{fifth}'"),
        update("00000000-0000-0000-0000-000000000000", "Nobody"),
        format!("DELETE FROM titanic WHERE uuid::text = '{seventh}'"),
        format!("DELETE FROM titanic WHERE uuid::text = '{seventh}'"),
        format!("SELECT * FROM titanic where uuid::text = '{seventh}'"),
        "SELECT * FROM titanic WHERE name = 'Mr. Owen Harris Braund'".to_owned(),
        "SELECT * FROM titanic".to_owned(),
    ];
    let mut transcript = Vec::new();
    for sql in statements {
        let answer = legacy(conn, &sql).await;
        transcript.push((sql, answer));
    }
    legacy(conn, "RESET ROLE").await;
    transcript
}

/// `transcript` with the uuids the database generated during it (the inserted row's) replaced
/// by a placeholder, so two runs can be compared.
fn masked(mut transcript: Vec<(String, Answer)>) -> Vec<(String, Answer)> {
    let known: std::collections::HashSet<Option<String>> = transcript[0].1.rows.iter().map(|r| r[0].clone()).collect();
    for (_, answer) in &mut transcript {
        for row in &mut answer.rows {
            if answer.columns.first().is_some_and(|c| c.starts_with("uuid ")) && !known.contains(&row[0]) {
                row[0] = Some("<new>".into());
            }
        }
    }
    transcript
}

/// A role with the privileges the legacy service's role has on its table.
async fn legacy_role(db: &DatabaseConnection) -> String {
    let role = format!("legacy_{}", uuid::Uuid::new_v4().simple());
    db.execute_unprepared(&format!("CREATE ROLE {role}")).await.unwrap();
    db.execute_unprepared(&format!("GRANT SELECT, INSERT, UPDATE, DELETE ON titanic TO {role}")).await.unwrap();
    role
}

async fn drop_role(dbs: &[&DatabaseConnection], role: &str) {
    for db in dbs {
        db.execute_unprepared(&format!("DROP OWNED BY {role}")).await.unwrap();
    }
    dbs[0].execute_unprepared(&format!("DROP ROLE {role}")).await.unwrap();
}

#[tokio::test]
async fn after_adoption_select_star_from_titanic_has_the_legacy_columns_types_rows_and_order() {
    let Some(admin) =
        postgres_only("after_adoption_select_star_from_titanic_has_the_legacy_columns_types_rows_and_order")
    else {
        return;
    };
    let test_db = legacy_database(admin).await;
    let mut conn = connection(&test_db).await;
    let before = legacy(&mut conn, "SELECT * FROM titanic").await;
    let types_before = legacy_column_types(&mut conn).await;
    assert_eq!(before.rows.len(), 887);
    assert_eq!(
        before.columns,
        [
            "uuid UUID",
            "survived BOOL",
            "passengerClass INT4",
            "name VARCHAR",
            "sex VARCHAR",
            "age FLOAT8",
            "siblingsOrSpousesAboard INT4",
            "parentsOrChildrenAboard INT4",
            "fare FLOAT8"
        ]
    );

    let db = test_db.connect().await;
    migration::run(&db).await.expect("adoption");

    let after = legacy(&mut conn, "SELECT * FROM titanic").await;
    assert_eq!(after.columns, before.columns, "columns or types changed");
    assert_eq!(legacy_column_types(&mut conn).await, types_before, "declared types changed");
    assert!(types_before.contains(&Some("name character varying(150)".into())), "{types_before:?}");
    assert_eq!(after.rows, before.rows, "rows, values or their order changed");
    // The service numbered the rows in that same order.
    let by_seq = legacy(&mut conn, "SELECT uuid FROM passengers ORDER BY seq").await.rows;
    let legacy_uuids: Vec<_> = before.rows.iter().map(|r| vec![r[0].clone()]).collect();
    assert_eq!(by_seq, legacy_uuids);
}

#[tokio::test]
async fn the_legacy_services_statements_answer_after_adoption_exactly_as_before() {
    let Some(admin) = postgres_only("the_legacy_services_statements_answer_after_adoption_exactly_as_before") else {
        return;
    };
    let pristine = legacy_database(admin).await;
    let adopted = pristine.copy().await;
    let (pristine_db, adopted_db) = (pristine.connect().await, adopted.connect().await);
    let role = legacy_role(&pristine_db).await;
    adopted_db.execute_unprepared(&format!("GRANT SELECT, INSERT, UPDATE, DELETE ON titanic TO {role}")).await.unwrap();
    migration::run(&adopted_db).await.expect("adoption");

    let expected = masked(legacy_script(&mut connection(&pristine).await, &role).await);
    let actual = masked(legacy_script(&mut connection(&adopted).await, &role).await);
    assert_eq!(expected.len(), actual.len());
    for ((sql, want), (_, got)) in expected.iter().zip(&actual) {
        assert_eq!(got, want, "`{sql}` answered differently after adoption");
    }
    // The script did write: an insert, an update, a delete, seen by the last list.
    assert_eq!(expected[1].1.affected, 1);
    assert_eq!(expected[7].1.affected, 1);
    assert_eq!(expected[8].1.affected, 0);
    assert_eq!(expected.last().unwrap().1.rows.len(), 887);
    drop_role(&[&pristine_db, &adopted_db], &role).await;
}

async fn list(address: &str) -> Vec<Value> {
    reqwest::get(format!("{address}/passengerlist")).await.unwrap().json().await.unwrap()
}

async fn version(address: &str, id: &str) -> Value {
    let body: Value = reqwest::Client::new()
        .post(format!("{address}/graphql"))
        .json(
            &json!({ "query": "query($id: UUID!) { passenger(id: $id) { version name } }", "variables": { "id": id } }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"]["passenger"].clone()
}

#[tokio::test]
async fn writes_of_the_legacy_service_reach_the_list_in_order_and_the_subscribers() {
    let Some(admin) = postgres_only("writes_of_the_legacy_service_reach_the_list_in_order_and_the_subscribers") else {
        return;
    };
    let test_db = legacy_database(admin).await;
    let mut conn = connection(&test_db).await;
    let app = spawn_app_on(test_db, |_| {}).await;
    wait_for_listeners(&app.db, 1).await;
    let mut sub = Subscription::open(
        &app.address,
        "graphql-transport-ws",
        "subscription { passengerEvents { kind id passenger { name version } } }",
        json!({}),
    )
    .await;

    legacy(&mut conn, &insert("Inserted By Legacy")).await;
    let created = sub.next_event().await;
    assert_eq!(created["kind"], "CREATED");
    assert_eq!(created["passenger"], json!({ "name": "Inserted By Legacy", "version": 1 }));
    let rows = list(&app.address).await;
    assert_eq!(rows.len(), 888);
    assert_eq!(rows.last().unwrap()["name"], "Inserted By Legacy", "a legacy insert goes to the end");
    assert_eq!(rows.last().unwrap()["uuid"], created["id"]);

    let third = rows[2]["uuid"].as_str().unwrap().to_owned();
    legacy(&mut conn, &update(&third, "Updated By Legacy")).await;
    let updated = sub.next_event().await;
    assert_eq!(
        updated,
        json!({ "kind": "UPDATED", "id": third, "passenger": { "name": "Updated By Legacy", "version": 2 } })
    );
    let rows = list(&app.address).await;
    assert_eq!(rows[2]["name"], "Updated By Legacy", "an updated row keeps its place in the service's list");
    assert_eq!(rows[2]["fare"], 8.05);
    assert_eq!(version(&app.address, &third).await, json!({ "version": 2, "name": "Updated By Legacy" }));

    legacy(&mut conn, &format!("DELETE FROM titanic WHERE uuid::text = '{third}'")).await;
    assert_eq!(sub.next_event().await, json!({ "kind": "DELETED", "id": third, "passenger": null }));
    assert!(list(&app.address).await.iter().all(|r| r["uuid"] != third.as_str()));
    assert_eq!(version(&app.address, &third).await, Value::Null);

    // psql writing the table itself is seen too, with its version bumped by the trigger.
    let first = rows[0]["uuid"].as_str().unwrap().to_owned();
    legacy(&mut conn, &format!("UPDATE passengers SET fare = 9.5 WHERE uuid = '{first}'")).await;
    let event = sub.next_event().await;
    assert_eq!((event["kind"].as_str(), event["passenger"]["version"].as_i64()), (Some("UPDATED"), Some(2)));
    sub.assert_quiet(Duration::from_millis(300)).await;
}

/// Everything about the `titanic` table and the schema around it that a client or an
/// operator can see: relations, columns with types, defaults and nullability, constraints,
/// indexes, triggers, grants.
async fn catalog(conn: &mut sqlx::PgConnection) -> Vec<Answer> {
    let mut out = Vec::new();
    for sql in [
        "SELECT relname, relkind, relacl::text FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1",
        "SELECT attname, format_type(atttypid, atttypmod), attnotnull, pg_get_expr(adbin, adrelid), attidentity \
         FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum \
         WHERE attrelid = 'titanic'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'titanic'::regclass ORDER BY 1",
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'titanic'::regclass ORDER BY 1",
        "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1",
    ] {
        out.push(legacy(conn, sql).await);
    }
    out
}

#[tokio::test]
async fn adoption_undone_leaves_the_pristine_legacy_table_and_can_be_adopted_again() {
    let Some(admin) = postgres_only("adoption_undone_leaves_the_pristine_legacy_table_and_can_be_adopted_again") else {
        return;
    };
    let pristine = legacy_database(admin).await;
    let adopted = pristine.copy().await;
    let (mut pristine_conn, mut conn) = (connection(&pristine).await, connection(&adopted).await);
    let role = legacy_role(&pristine.connect().await).await;
    let adopted_db = adopted.connect().await;
    adopted_db.execute_unprepared(&format!("GRANT SELECT, INSERT, UPDATE, DELETE ON titanic TO {role}")).await.unwrap();

    migration::run(&adopted_db).await.expect("adoption");
    assert_ne!(catalog(&mut conn).await, catalog(&mut pristine_conn).await, "adoption changed nothing?");
    // A write through the service while adopted.
    let stored = passenger_api::service::passenger::create(
        passenger_api::service::Writer {
            target: passenger_api::service::Target::Pool(&adopted_db),
            events: &passenger_api::service::events::Events::new(1),
            deadline: None,
            namesakes: None,
            creates: None,
        },
        passenger_api::service::PassengerData { name: Some("Written While Adopted".into()), ..Default::default() },
    )
    .await
    .unwrap();

    assert_eq!(migration::down_to_legacy(&adopted_db).await.unwrap(), migration::Undone::Reverted(7));
    assert_eq!(catalog(&mut conn).await, catalog(&mut pristine_conn).await, "the schema is not the legacy one");
    let mut expected = legacy(&mut pristine_conn, "SELECT * FROM titanic").await;
    let after = legacy(&mut conn, "SELECT * FROM titanic").await;
    assert_eq!(after.columns, expected.columns);
    // The rows written while adopted stay, at the end.
    assert_eq!(after.rows.last().unwrap()[0], Some(stored.row.uuid.to_string()));
    assert_eq!(after.rows.last().unwrap()[3].as_deref(), Some("Written While Adopted"));
    expected.rows.push(after.rows.last().unwrap().clone());
    assert_eq!(after.rows, expected.rows);
    // The legacy role keeps its privileges.
    legacy(&mut conn, &format!("SET ROLE {role}")).await;
    assert_eq!(legacy(&mut conn, &insert("Back To Legacy")).await.affected, 1);
    legacy(&mut conn, "RESET ROLE").await;
    assert_eq!(migration::down_to_legacy(&adopted_db).await.unwrap(), migration::Undone::NotAdopted);

    migration::run(&adopted_db).await.expect("adopting again");
    let newest = legacy(&mut conn, "SELECT name, seq, version FROM passengers ORDER BY seq DESC LIMIT 1").await;
    assert_eq!(newest.rows, vec![vec![Some("Back To Legacy".into()), Some("889".into()), Some("1".into())]]);
    assert_eq!(legacy(&mut conn, "SELECT * FROM titanic").await.columns, expected.columns);
    drop_role(&[&pristine.connect().await, &adopted_db], &role).await;
}

#[tokio::test]
async fn down_to_legacy_refuses_sqlite() {
    let test_db = TestDb::sqlite();
    let db = test_db.migrated().await;
    let err = migration::down_to_legacy(&db).await.unwrap_err();
    assert!(err.to_string().contains("only a PostgreSQL database"), "{err}");
}
