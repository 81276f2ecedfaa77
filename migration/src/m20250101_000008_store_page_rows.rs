//! On SQLite, stores each row's text in a page (see the server's `passenger::fetch`) in a
//! generated column, `page_row`, so that reading a page copies text instead of writing it.
//!
//! SQLite reads a page as one JSON text of its rows. Writing that text (an array per row, the
//! id in hex, each float as two exact integers) was most of SQLite's work for a page of a
//! thousand rows, done again on every read of rows that rarely change. SQLite now writes it
//! when a row is written, as a `STORED` generated column: no statement can leave it stale, and
//! no writer has to know about it. It is the row's array without its closing bracket, so that
//! a page can append the insertion number and the version; it is null for a row with a float
//! outside the range whose two parts are exact integers (below 2⁻¹⁰ or from 2⁶² on, in
//! magnitude), which the page then writes the slow way. SQLite adds only virtual generated
//! columns in place, so the table is rebuilt: same rows, same insertion numbers (and the same
//! next one), its indexes and triggers recreated from their own SQL; all in one transaction.
//! PostgreSQL is untouched. Older releases keep working on the rebuilt table: they name the
//! columns they read and write, and SQLite fills this one in.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DatabaseBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The generated column's name.
pub const PAGE_ROW: &str = "page_row";

/// True when the float column `$c` is null, zero, or has a magnitude in [2⁻¹⁰, 4.6·10¹⁸]:
/// there its integer part and its fraction times 2⁶² are both exact integers.
macro_rules! exact_parts {
    ($c:literal) => {
        concat!(
            r#"(""#,
            $c,
            r#"" IS NULL OR ""#,
            $c,
            r#"" = 0 OR (""#,
            $c,
            r#"" < 4.6e18 AND ""#,
            $c,
            r#"" >= 1.0 / 1024.0) OR (""#,
            $c,
            r#"" > -4.6e18 AND ""#,
            $c,
            r#"" <= -1.0 / 1024.0))"#
        )
    };
}

/// The float column `$c` as its integer part and its fraction times 2⁶², both integers (both
/// null for null).
macro_rules! parts {
    ($c:literal) => {
        concat!(
            r#"CAST(""#,
            $c,
            r#"" AS INTEGER), CAST((""#,
            $c,
            r#"" - CAST(""#,
            $c,
            r#"" AS INTEGER)) * 4611686018427387904.0 AS INTEGER)"#
        )
    };
}

/// `page_row`'s expression: the row's array, without its closing `]`, of the hex id, the
/// survival flag, the class, the name, the sex, the age in two parts, the two counts and the
/// fare in two parts — exactly what the server writes for a row at read time — or null when a
/// float is outside the range [`exact_parts!`] accepts. Fixed once released: a database keeps
/// the expression it was migrated with.
const PAGE_ROW_EXPRESSION: &str = concat!(
    "CASE WHEN ",
    exact_parts!("age"),
    " AND ",
    exact_parts!("fare"),
    r#" THEN rtrim(json_array(hex("uuid"), "survived", "passengerClass", "name", "sex", "#,
    parts!("age"),
    r#", "siblingsOrSpousesAboard", "parentsOrChildrenAboard", "#,
    parts!("fare"),
    "), ']') END"
);

/// The columns the table had before, in order.
const COLUMNS: &str = r#"seq, uuid, survived, "passengerClass", name, sex, age, "siblingsOrSpousesAboard", "parentsOrChildrenAboard", fare, version"#;

/// The rebuilt table: the columns migrations 1 and 4 made, then `page_row`. Restated here
/// rather than taken from migration 1, whose text, like every released migration's, must not
/// change; this one describes the table as it was when this migration was written.
fn rebuilt_table() -> String {
    format!(
        r#"CREATE TABLE passengers_rebuilt (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid BLOB NOT NULL UNIQUE,
    survived BOOLEAN,
    "passengerClass" INTEGER,
    name VARCHAR(150),
    sex VARCHAR(6),
    age REAL,
    "siblingsOrSpousesAboard" INTEGER,
    "parentsOrChildrenAboard" INTEGER,
    fare REAL,
    version INTEGER NOT NULL DEFAULT 1,
    {PAGE_ROW} TEXT GENERATED ALWAYS AS ({PAGE_ROW_EXPRESSION}) STORED
)"#
    )
}

/// Whether the SQLite table has `page_row` (sea-orm's `has_column` reads `table_info`, which
/// leaves generated columns out).
async fn has_page_row(manager: &SchemaManager<'_>) -> Result<bool, DbErr> {
    let sql = format!("SELECT 1 AS found FROM pragma_table_xinfo('passengers') WHERE name = '{PAGE_ROW}'");
    let found = manager.get_connection().query_one_raw(Statement::from_string(DatabaseBackend::Sqlite, sql)).await?;
    Ok(found.is_some())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction, so that a failure leaves the table as it was.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Sqlite || has_page_row(manager).await? {
            return Ok(());
        }
        let db = manager.get_connection();
        // The indexes and triggers go with the old table; their SQL (not the UNIQUE
        // constraint's automatic index, which has none) recreates them on the new one.
        let recreate: Vec<String> = db
            .query_all_raw(Statement::from_string(
                DatabaseBackend::Sqlite,
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'passengers' AND type IN ('index', 'trigger') \
                 AND sql IS NOT NULL ORDER BY type, name",
            ))
            .await?
            .iter()
            .map(|row| row.try_get::<String>("", "sql"))
            .collect::<Result<_, _>>()?;
        db.execute_unprepared(&rebuilt_table()).await?;
        db.execute_unprepared(&format!(
            "INSERT INTO passengers_rebuilt ({COLUMNS}) SELECT {COLUMNS} FROM passengers ORDER BY seq"
        ))
        .await?;
        // The next insertion number stays what it was, even after the newest rows were deleted:
        // the old table's counter becomes the new one's (renaming a table renames its counter).
        db.execute_unprepared(
            "DELETE FROM sqlite_sequence WHERE name = 'passengers_rebuilt'; \
             UPDATE sqlite_sequence SET name = 'passengers_rebuilt' WHERE name = 'passengers'; \
             DROP TABLE passengers; \
             ALTER TABLE passengers_rebuilt RENAME TO passengers",
        )
        .await?;
        for sql in recreate {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Sqlite && has_page_row(manager).await? {
            manager
                .get_connection()
                .execute_unprepared(&format!("ALTER TABLE passengers DROP COLUMN {PAGE_ROW}"))
                .await?;
        }
        Ok(())
    }
}
