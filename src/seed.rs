//! Seeding: the bundled historical passengers, import of the legacy `titanic.csv` format, and
//! synthetic data for load tests.
//!
//! The 887 historical passengers are the product's data: `data/titanic.csv` (the legacy file,
//! byte for byte) is compiled into the binary, so every installed binary and container image
//! carries them. A CSV import validates every row before it writes anything, then writes them
//! in one transaction (PostgreSQL: one `COPY`; SQLite: batched inserts): either the whole file
//! lands or nothing does.

use std::io::Read;

use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

use crate::service::{PassengerData, ServiceError, ValidationError, copy, passenger};

/// The header line of the legacy CSV file, column for column.
pub const CSV_HEADER: [&str; 8] =
    ["Survived", "Pclass", "Name", "Sex", "Age", "Siblings_Spouses_Aboard", "Parents_Children_Aboard", "Fare"];

/// The legacy `titanic.csv`, byte for byte, as shipped in `data/titanic.csv`.
pub const BUNDLED_CSV: &[u8] = include_bytes!("../data/titanic.csv");

/// SHA-256 of [`BUNDLED_CSV`] (lower-case hex), the fingerprint of the historical dataset.
pub const BUNDLED_CSV_SHA256: &str = "25eee9a172d5e2af5381c370da93cbe0f06fdc3866c6075681b973af99d2aecc";

/// The bundled historical passengers, in CSV order, parsed and validated by the same importer
/// as any other file.
pub fn bundled() -> Result<Vec<PassengerData>, SeedError> {
    parse_csv(BUNDLED_CSV)
}

/// Failure of a seed run. Nothing is written in any case.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The input is not a well-formed legacy CSV file (bad header, bad row, unreadable).
    #[error("line {line}: {problem}")]
    Csv {
        /// 1-based line number in the file.
        line: u64,
        /// What is wrong.
        problem: String,
    },
    /// The rows could not be written.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// What a seed run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedOutcome {
    /// This many rows were inserted.
    Inserted(u64),
    /// `--if-empty` was given and the table already had this many rows.
    SkippedNonEmpty(u64),
}

/// Parses and validates a whole legacy CSV document.
pub fn parse_csv(input: impl Read) -> Result<Vec<PassengerData>, SeedError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(input);
    let header = reader.headers().map_err(|e| csv_error(1, &e))?.clone();
    let found: Vec<&str> = header.iter().map(|h| h.trim_start_matches('\u{feff}').trim()).collect();
    if found != CSV_HEADER {
        return Err(SeedError::Csv {
            line: 1,
            problem: format!("expected header `{}`, found `{}`", CSV_HEADER.join(","), found.join(",")),
        });
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(e.position().map_or(0, |p| p.line()), &e))?;
        let line = record.position().map_or(0, |p| p.line());
        rows.push(parse_row(&record).map_err(|problem| SeedError::Csv { line, problem })?);
    }
    Ok(rows)
}

fn csv_error(line: u64, err: &csv::Error) -> SeedError {
    SeedError::Csv { line, problem: err.to_string() }
}

fn parse_row(record: &csv::StringRecord) -> Result<PassengerData, String> {
    if record.len() != CSV_HEADER.len() {
        return Err(format!("expected {} columns, found {}", CSV_HEADER.len(), record.len()));
    }
    let field = |i: usize| record.get(i).map(str::trim).filter(|v| !v.is_empty());
    let data = PassengerData {
        survived: field(0).map(parse_bool).transpose().map_err(|p| format!("Survived: {p}"))?,
        passenger_class: parse_num(field(1), "Pclass")?,
        name: record.get(2).filter(|v| !v.is_empty()).map(str::to_owned),
        sex: field(3).map(str::to_owned),
        age: parse_num(field(4), "Age")?,
        siblings_or_spouses_aboard: parse_num(field(5), "Siblings_Spouses_Aboard")?,
        parents_or_children_aboard: parse_num(field(6), "Parents_Children_Aboard")?,
        fare: parse_num(field(7), "Fare")?,
    };
    data.validate().map_err(|ValidationError { field, problem }| {
        let column = match field.as_str() {
            "name" => "Name",
            "sex" => "Sex",
            "age" => "Age",
            "fare" => "Fare",
            other => other,
        };
        format!("{column}: {problem}")
    })?;
    Ok(data)
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value {
        "1" | "true" | "True" => Ok(true),
        "0" | "false" | "False" => Ok(false),
        other => Err(format!("expected 0 or 1, got {other:?}")),
    }
}

fn parse_num<T: std::str::FromStr>(value: Option<&str>, column: &str) -> Result<Option<T>, String> {
    value.map(|v| v.parse::<T>().map_err(|_| format!("{column}: expected a number, got {v:?}"))).transpose()
}

/// Imports of at least this many rows show a progress bar and, on SQLite, get a larger page cache.
const LARGE_IMPORT: usize = 10_000;

/// SQLite page cache of a large import: 64 MiB (negative sizes are KiB; a connection's own is
/// [`crate::db::SQLITE_CACHE_SIZE`]).
const SQLITE_IMPORT_CACHE: &str = "PRAGMA cache_size = -65536";

/// Inserts `rows` in one transaction, showing a progress bar on a terminal.
///
/// With `if_empty`, does nothing when the table already holds rows.
pub async fn insert(
    db: &DatabaseConnection,
    rows: Vec<PassengerData>,
    if_empty: bool,
) -> Result<SeedOutcome, SeedError> {
    if if_empty {
        let existing = passenger::count(db).await?;
        if existing > 0 {
            return Ok(SeedOutcome::SkippedNonEmpty(existing));
        }
    }
    let large = rows.len() >= LARGE_IMPORT;
    // Only imports that take a while get a progress bar (and only on a terminal).
    let bar = if large { ProgressBar::new(rows.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let postgres = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let written = if postgres {
        copy::copy_all(db.get_postgres_connection_pool(), rows, |n| bar.inc(n)).await?
    } else {
        insert_sqlite(db, rows, large, &bar).await?
    };
    bar.finish_and_clear();
    if postgres {
        refresh_statistics(db).await;
    }
    Ok(SeedOutcome::Inserted(written))
}

/// SQLite's import: batched inserts in one transaction, with a larger page cache for a large one.
async fn insert_sqlite(
    db: &DatabaseConnection,
    rows: Vec<PassengerData>,
    large: bool,
    bar: &ProgressBar,
) -> Result<u64, SeedError> {
    let txn = db.begin().await.map_err(ServiceError::from)?;
    if large {
        // New rows land at random places in the uuid and statistics indexes; with a
        // connection's small page cache most of those inserts would read and write pages on disk.
        txn.execute_unprepared(SQLITE_IMPORT_CACHE).await.map_err(ServiceError::from)?;
    }
    let written = passenger::insert_all(&txn, rows, |n| bar.inc(n)).await;
    if large {
        // The connection goes back to the pool with its usual cache, whether the import
        // succeeded or not.
        let reset = txn
            .execute_unprepared(&format!("PRAGMA cache_size = {}", crate::db::SQLITE_CACHE_SIZE))
            .await
            .map_err(ServiceError::from);
        if written.is_ok() {
            reset?;
        }
    }
    let written = written?;
    txn.commit().await.map_err(ServiceError::from)?;
    Ok(written)
}

/// Refreshes PostgreSQL's statistics of the passengers table after a bulk load.
const POSTGRES_ANALYZE: &str = r#"ANALYZE "passengers""#;

/// Has PostgreSQL gather the table's statistics now rather than whenever autovacuum (if it is
/// on at all) gets to it: until then the planner guesses the table's size from its pages, and
/// for a freshly loaded table it guesses wrong (the 887 historical rows were read with a sort
/// instead of the `seq` index). The rows are committed by then, so a failure is only logged
/// (a role that does not own the table is not a failure: PostgreSQL skips it with a warning).
async fn refresh_statistics(db: &DatabaseConnection) {
    if let Err(error) = db.execute_unprepared(POSTGRES_ANALYZE).await {
        tracing::warn!(%error, "seeded, but could not refresh the table's statistics (ANALYZE); autovacuum will");
    }
}

const FIRST_NAMES: [&str; 16] = [
    "John",
    "William",
    "Mary",
    "Anna",
    "James",
    "Elizabeth",
    "Charles",
    "Margaret",
    "George",
    "Helen",
    "Thomas",
    "Ellen",
    "Patrick",
    "Bridget",
    "Karl",
    "Laina",
];
const LAST_NAMES: [&str; 16] = [
    "Braund",
    "Cumings",
    "Heikkinen",
    "Futrelle",
    "Allen",
    "Moran",
    "McCarthy",
    "Palsson",
    "Johnson",
    "Nasser",
    "Sandstrom",
    "Bonnell",
    "Saundercock",
    "Andersson",
    "Vestrom",
    "O'Dwyer",
];

/// `n` plausible random passengers (class-dependent fares, a few unknown ages), reproducible
/// for a given `seed`.
pub fn synthetic(n: u64, seed: u64) -> impl Iterator<Item = PassengerData> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(move |i| {
        let female = rng.random_bool(0.35);
        let class = *[1, 2, 3, 3, 3].get(rng.random_range(0..5)).unwrap_or(&3);
        let title = if female { if rng.random_bool(0.5) { "Mrs." } else { "Miss." } } else { "Mr." };
        let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
        let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
        let fare_base = match class {
            1 => 84.0,
            2 => 20.0,
            _ => 13.0,
        };
        PassengerData {
            survived: Some(rng.random_bool(if female { 0.74 } else { 0.19 })),
            passenger_class: Some(class),
            name: Some(format!("{title} {first} {last} #{i}")),
            sex: Some(if female { "female" } else { "male" }.to_owned()),
            age: (!rng.random_bool(0.05)).then(|| (rng.random_range(0.42..80.0f64) * 100.0).round() / 100.0),
            siblings_or_spouses_aboard: Some(rng.random_range(0..4)),
            parents_or_children_aboard: Some(rng.random_range(0..3)),
            fare: Some((fare_base * rng.random_range(0.5..2.0f64) * 10_000.0).round() / 10_000.0),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Survived,Pclass,Name,Sex,Age,Siblings_Spouses_Aboard,Parents_Children_Aboard,Fare\n";

    fn line_of(csv: &str) -> (u64, String) {
        match parse_csv(csv.as_bytes()) {
            Err(SeedError::Csv { line, problem }) => (line, problem),
            other => panic!("expected a CSV error, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_document_parses_with_fractional_ages_and_apostrophes() {
        let rows = parse_csv(format!("{HEADER}1,3,Miss. Ellen O'Dwyer,female,0.83,0,0,7.8792\n").as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].name.as_deref(), Some("Miss. Ellen O'Dwyer"));
        assert_eq!(rows[0].age, Some(0.83));
        assert_eq!(rows[0].survived, Some(true));
    }

    #[test]
    fn text_in_age_names_the_line_and_the_column() {
        let (line, problem) = line_of(&format!("{HEADER}0,3,A,male,22,1,0,7.25\n0,3,B,male,abc,1,0,7.25\n"));
        assert_eq!(line, 3);
        assert_eq!(problem, "Age: expected a number, got \"abc\"");
    }

    #[test]
    fn a_missing_column_names_the_line() {
        let (line, problem) = line_of(&format!("{HEADER}0,3,A,male,22,1,0\n"));
        assert_eq!(line, 2);
        assert_eq!(problem, "expected 8 columns, found 7");
    }

    #[test]
    fn a_wrong_header_is_rejected() {
        let (line, problem) = line_of("a,b,c\n1,2,3\n");
        assert_eq!(line, 1);
        assert!(problem.starts_with("expected header"), "{problem}");
    }

    #[test]
    fn the_bundled_dataset_is_the_legacy_file_and_parses_into_887_rows() {
        use sha2::{Digest, Sha256};
        assert_eq!(format!("{:x}", Sha256::digest(BUNDLED_CSV)), BUNDLED_CSV_SHA256);
        let rows = bundled().unwrap();
        assert_eq!(rows.len(), 887);
        assert_eq!(rows[0].name.as_deref(), Some("Mr. Owen Harris Braund"));
        assert_eq!(rows[886].name.as_deref(), Some("Mr. Patrick Dooley"));
    }

    #[test]
    fn synthetic_rows_are_valid_and_reproducible() {
        let a: Vec<_> = synthetic(500, 7).collect();
        assert_eq!(a, synthetic(500, 7).collect::<Vec<_>>());
        assert!(a.iter().all(|r| r.validate().is_ok()));
    }
}
