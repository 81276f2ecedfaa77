//! The service's own row decoders (by position; PostgreSQL's binary format read in place, from
//! sqlx's rows or from a binary `COPY`; a SQLite page read as one JSON value) return exactly
//! what sea-orm's generic decoding by column name returns, value for value, NULLs and extremes
//! included.

use entity::passenger::{Column, Entity, Model};
use passenger_api::service::PassengerData;
use passenger_api::service::page::Columns;
use passenger_api::service::passenger::{fetch, insert_all};
use passenger_api::service::pg_copy::BulkReader;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, Iterable, QueryFilter, QueryOrder, QuerySelect, QueryTrait};

use crate::helpers::{TestDb, postgres_only, titanic_rows};

/// Rows that put every column through its edge cases, each column with values of its own so
/// that a decoder reading the wrong column cannot agree by chance.
fn awkward_rows() -> Vec<PassengerData> {
    let everything = |i: i32, f: f64| PassengerData {
        survived: Some(i % 2 == 0),
        passenger_class: Some(i),
        name: Some(format!("Zoë “Ship” 🚢 {i}")),
        sex: Some(if i % 2 == 0 { "female".into() } else { "male".into() }),
        age: Some(f),
        siblings_or_spouses_aboard: Some(i.wrapping_add(1)),
        parents_or_children_aboard: Some(i.wrapping_sub(7)),
        fare: Some(-f / 3.0),
    };
    vec![
        // NULL in every nullable column.
        PassengerData::default(),
        everything(i32::MIN, f64::MAX),
        everything(i32::MAX, f64::MIN_POSITIVE),
        everything(0, 0.0),
        everything(-1, 5e-324),
        everything(3, 0.42),
        PassengerData { name: Some(String::new()), sex: Some(String::new()), ..Default::default() },
        PassengerData { name: Some("n".repeat(150)), fare: Some(512.3292), ..Default::default() },
        PassengerData { survived: Some(false), age: Some(71.2833), ..Default::default() },
    ]
}

#[tokio::test]
async fn the_services_page_decoder_reads_what_sea_orm_reads_for_every_column() {
    let test_db = TestDb::new().await;
    let db = test_db.migrated().await;
    let rows = awkward_rows();
    insert_all(&db, rows.clone(), |_| ()).await.unwrap();
    // A version other than the first, so that the column is read rather than assumed.
    let bump = r#"UPDATE "passengers" SET "version" = 41 WHERE "seq" = (SELECT min("seq") + 1 FROM "passengers")"#;
    assert_eq!(db.execute_unprepared(bump).await.unwrap().rows_affected(), 1);

    let query = Entity::find().order_by_asc(Column::Seq);
    let expected: Vec<Model> = query.clone().all(&db).await.unwrap();
    let read = fetch(&db, query.into_query(), Columns::All).await.unwrap();

    assert_eq!(read.len(), rows.len());
    assert_eq!(expected.len(), rows.len());
    for (ours, theirs) in read.iter().zip(&expected) {
        assert_eq!(ours, theirs);
        // Bit for bit (`==` takes 0.0 and -0.0 for the same value).
        assert_eq!(ours.age.map(f64::to_bits), theirs.age.map(f64::to_bits));
        assert_eq!(ours.fare.map(f64::to_bits), theirs.fare.map(f64::to_bits));
    }
    // And the values are the ones written, not just two decoders agreeing on something else
    // (zero's sign aside: SQLite stores an integral float as an integer).
    let same = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => a.to_bits() == b.to_bits() || (a == 0.0 && b == 0.0),
        (a, b) => a.is_none() && b.is_none(),
    };
    for (row, data) in read.iter().zip(&rows) {
        assert_eq!(row.survived, data.survived);
        assert_eq!(row.passenger_class, data.passenger_class);
        assert_eq!(row.name, data.name);
        assert_eq!(row.sex, data.sex);
        assert!(same(row.age, data.age), "age {:?} read as {:?}", data.age, row.age);
        assert_eq!(row.siblings_or_spouses_aboard, data.siblings_or_spouses_aboard);
        assert_eq!(row.parents_or_children_aboard, data.parents_or_children_aboard);
        assert!(same(row.fare, data.fare), "fare {:?} read as {:?}", data.fare, row.fare);
    }
    let versions: Vec<i64> = read.iter().map(|r| r.version).collect();
    assert_eq!(versions, [1, 41, 1, 1, 1, 1, 1, 1, 1]);
    let seqs: Vec<i64> = read.iter().map(|r| r.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in insertion order: {seqs:?}");
}

/// The page of at most `limit` rows after insertion number `after`, `columns` wide.
fn page_query(columns: Columns, after: i64, limit: u64) -> sea_orm::sea_query::SelectStatement {
    let width = match columns {
        Columns::Fields => 9,
        Columns::Insertion => 10,
        Columns::All => 11,
    };
    Entity::find()
        .select_only()
        .columns(Column::iter().take(width))
        .filter(Column::Seq.gt(after))
        .order_by_asc(Column::Seq)
        .limit(limit)
        .into_query()
}

/// On PostgreSQL a large page is read with `COPY` (`service::pg_copy`): for the historical
/// passengers and the awkward rows, with every width of row a page reads, from the start and
/// from a cursor, it holds exactly the rows sqlx reads; a small page, or one that binds text,
/// is not read that way.
#[tokio::test]
async fn a_page_read_with_copy_holds_exactly_what_sqlx_reads() {
    let Some(admin) = postgres_only("a_page_read_with_copy_holds_exactly_what_sqlx_reads") else { return };
    let test_db = TestDb::postgres(admin).await;
    let db = test_db.migrated().await;
    let bulk = BulkReader::new(&db).expect("a PostgreSQL pool");
    let mut rows = titanic_rows();
    rows.extend(awkward_rows());
    let total = rows.len();
    insert_all(&db, rows, |_| ()).await.unwrap();
    let bump = r#"UPDATE "passengers" SET "version" = 41 WHERE "seq" % 3 = 0"#;
    assert!(db.execute_unprepared(bump).await.unwrap().rows_affected() > 100);
    for columns in [Columns::Fields, Columns::Insertion, Columns::All] {
        for after in [0, 400] {
            let query = page_query(columns, after, 1001);
            let copied = bulk.fetch(&query, columns, 1001).await.unwrap().expect("read with COPY");
            let read = fetch(&db, query, columns).await.unwrap();
            assert_eq!(copied.len(), total - after as usize);
            assert_eq!(copied, read, "{columns:?} after {after}");
            let bits = |rows: &[Model]| -> Vec<_> {
                rows.iter().map(|r| (r.age.map(f64::to_bits), r.fare.map(f64::to_bits))).collect()
            };
            assert_eq!(bits(&copied), bits(&read), "floats bit for bit");
        }
    }
    let small = page_query(Columns::All, 0, 10);
    assert_eq!(bulk.fetch(&small, Columns::All, 10).await.unwrap(), None, "a small page is read by sqlx");
    let named = Entity::find().filter(Column::Name.eq("Zoë")).limit(1001).into_query();
    assert_eq!(bulk.fetch(&named, Columns::All, 1001).await.unwrap(), None, "a page binding text is read by sqlx");
}

/// A `COPY` whose reader is dropped part-way (a client gone, a request out of time) still runs
/// to its end: with a pool of one connection, every statement after each cut-short read finds
/// that connection ready, not in the middle of the `COPY`.
#[tokio::test]
async fn a_copy_cut_short_leaves_its_connection_ready() {
    let Some(admin) = postgres_only("a_copy_cut_short_leaves_its_connection_ready") else { return };
    let test_db = TestDb::postgres(admin).await;
    test_db.migrated().await.close().await.unwrap();
    let mut config = passenger_api::config::Config::with_database_url(&test_db.url);
    config.db_max_connections = 1;
    let db = passenger_api::db::connect(&config).await.unwrap();
    insert_all(&db, titanic_rows(), |_| ()).await.unwrap();
    let bulk = BulkReader::new(&db).unwrap();
    let query = page_query(Columns::All, 0, 1001);
    for turns in 0..120 {
        // Cut the read short after `turns` turns of the runtime: before, during or after it.
        let cut = async {
            for _ in 0..turns {
                tokio::task::yield_now().await;
            }
        };
        tokio::select! {
            biased;
            read = bulk.fetch(&query, Columns::All, 1001) => assert_eq!(read.unwrap().unwrap().len(), 887),
            () = cut => {}
        }
        let count = passenger_api::service::passenger::count(&db).await;
        assert_eq!(count.unwrap(), 887, "after a read cut short at turn {turns}");
    }
}

/// On SQLite a page copies each row's text from the stored column `page_row` (written by
/// SQLite when the row is written) and writes it itself only where that is null: for the
/// historical passengers and the awkward rows, the stored text is exactly what the page would
/// write, and it is null exactly for the rows with a float outside its range (the extremes),
/// and it follows an update.
#[tokio::test]
async fn sqlite_stores_the_text_a_page_would_write_for_each_row() {
    let test_db = TestDb::sqlite();
    let db = test_db.migrated().await;
    let mut rows = titanic_rows();
    rows.extend(awkward_rows());
    insert_all(&db, rows, |_| ()).await.unwrap();
    let update = r#"UPDATE "passengers" SET "fare" = 1e300 WHERE "seq" = 5"#;
    assert_eq!(db.execute_unprepared(update).await.unwrap().rows_affected(), 1);
    let update = r#"UPDATE "passengers" SET "name" = 'Renamed "quoted"', "age" = 0.5 WHERE "seq" = 6"#;
    assert_eq!(db.execute_unprepared(update).await.unwrap().rows_affected(), 1);
    let sql = format!(
        r#"SELECT p."seq" AS seq, p."page_row" AS stored, {} AS written, p."age" AS age, p."fare" AS fare FROM "passengers" p ORDER BY p."seq""#,
        passenger_api::service::passenger::SQLITE_ROW_TEXT
    );
    let read = db.query_all_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
    assert_eq!(read.len(), 887 + awkward_rows().len());
    let in_range = |v: Option<f64>| v.is_none_or(|v| v == 0.0 || (v.abs() >= 1.0 / 1024.0 && v.abs() < 4.6e18));
    let mut stored_rows = 0;
    for row in &read {
        let seq: i64 = row.try_get("", "seq").unwrap();
        let stored: Option<String> = row.try_get("", "stored").unwrap();
        let written: String = row.try_get("", "written").unwrap();
        let (age, fare): (Option<f64>, Option<f64>) =
            (row.try_get("", "age").unwrap(), row.try_get("", "fare").unwrap());
        assert!(written.starts_with('[') && !written.ends_with(']'), "row {seq}: {written}");
        if in_range(age) && in_range(fare) {
            assert_eq!(stored.as_deref(), Some(written.as_str()), "row {seq}");
            stored_rows += 1;
        } else {
            assert_eq!(stored, None, "row {seq} (age {age:?}, fare {fare:?}) is written at read time");
        }
        if seq == 6 {
            assert!(written.contains(r#""Renamed \"quoted\"""#), "{written}");
        }
    }
    // Every historical passenger but the one updated to an extreme fare, and the awkward rows
    // with ordinary floats (nulls, zero, 0.42, 512.3292, 71.2833).
    assert_eq!(stored_rows, 886 + 6);
}
