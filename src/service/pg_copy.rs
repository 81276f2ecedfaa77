//! Large PostgreSQL pages read with `COPY (SELECT …) TO STDOUT (FORMAT binary)`.
//!
//! sqlx hands every row of a query over as its own `PgRow`, through a stream of results, each
//! with its table of value offsets: for a page of a thousand rows that machinery cost more of
//! the server's time than building the rows and writing them out together (`perf`, the full
//! list on PostgreSQL). A binary `COPY` sends the same values in the same binary formats, as
//! plain chunks that are decoded here straight into rows. PostgreSQL plans a `COPY` afresh
//! each time (a prepared statement is planned once per connection), which costs it about
//! 0.02 ms more per statement but less per row; so only pages of [`MIN_ROWS`] or more are
//! read this way, and only on the pool (a snapshot's transaction is sea-orm's, with no way to
//! its connection).
//!
//! `COPY` takes no bound parameters: the statement is sea-query's `SELECT` with its values
//! written into it. Only integers are (a limit, a cursor's insertion number), which sea-query
//! writes as digits; a query binding anything else is not read this way, so no text of a
//! request ever becomes part of the SQL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use entity::passenger::Model;
use futures_util::StreamExt;
use sea_orm::sea_query::{PostgresQueryBuilder, SelectStatement, Value};
use sea_orm::sqlx::PgPool;
use sea_orm::{DatabaseConnection, DbErr};

use super::ServiceError;
use super::passenger::Columns;
use super::pg_binary::{self, MAX_COLUMNS, NotBinary};

/// Pages that may hold at least this many rows are read with `COPY`.
pub const MIN_ROWS: u64 = 256;

/// Chunks (PostgreSQL sends a row per chunk) decoded before a read starts taking turns with
/// other tasks.
const YIELD_AFTER: usize = 1024;

/// Told of every statement run outside sea-orm: its SQL, whether it failed, how long it took
/// (sea-orm's own statements reach the metrics through its callback).
pub type Observer = Arc<dyn Fn(&str, bool, Duration) + Send + Sync>;

/// Reads large pages from a PostgreSQL pool with `COPY`.
#[derive(Clone)]
pub struct BulkReader {
    pool: PgPool,
    observer: Option<Observer>,
}

impl std::fmt::Debug for BulkReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkReader").field("observed", &self.observer.is_some()).finish_non_exhaustive()
    }
}

impl BulkReader {
    /// A reader on `db`'s pool, if `db` is a PostgreSQL pool.
    pub fn new(db: &DatabaseConnection) -> Option<Self> {
        // Matched rather than asked for its backend: a disconnected placeholder panics then.
        matches!(db.inner, sea_orm::DatabaseConnectionType::SqlxPostgresPoolConnection(_))
            .then(|| Self { pool: db.get_postgres_connection_pool().clone(), observer: None })
    }

    /// This reader, telling `observer` of each statement it runs (with the SQL of the `SELECT`
    /// it wraps, so that a page counts as the select it is).
    pub fn observed(self, observer: Observer) -> Self {
        Self { observer: Some(observer), ..self }
    }

    /// The rows of `query` (as [`super::passenger::fetch`] reads them), if it is read this way:
    /// `None` when it may return fewer than [`MIN_ROWS`] rows (`limit`), binds a value other
    /// than an integer, or its rows are not in the binary formats of the table's columns (then
    /// read them the usual way, which names what is wrong).
    pub async fn fetch(
        &self,
        query: &SelectStatement,
        columns: Columns,
        limit: u64,
    ) -> Result<Option<Vec<Model>>, ServiceError> {
        if limit < MIN_ROWS {
            return Ok(None);
        }
        let Some(select) = inlined(query) else { return Ok(None) };
        let statement = format!("COPY ({select}) TO STDOUT (FORMAT binary)");
        let started = Instant::now();
        // Run to the end in a task of its own even if the request is dropped: a connection
        // left in the middle of a `COPY` would hand its rest to the next statement.
        let read = tokio::spawn(read(self.pool.clone(), statement, columns.count(), limit)).await;
        let read = read.unwrap_or_else(|e| Err(ServiceError::from(DbErr::Custom(format!("a page read failed: {e}")))));
        if let Some(observer) = &self.observer {
            observer(&select, read.is_err(), started.elapsed());
        }
        read
    }
}

/// Runs `statement` on a connection of `pool` and decodes its rows, `width` columns each; the
/// connection is closed rather than returned to the pool if anything fails, as it may be in
/// the middle of the `COPY` (sqlx does not resume one).
async fn read(pool: PgPool, statement: String, width: usize, limit: u64) -> Result<Option<Vec<Model>>, ServiceError> {
    let mut connection = pool.acquire().await?;
    let mut decoder = Decoder::new(width, usize::try_from(limit).unwrap_or(0).min(4096));
    let copied = async {
        let mut chunks = connection.copy_out_raw(&statement).await?;
        let mut received = 0usize;
        while let Some(chunk) = chunks.next().await {
            // Read on to the end even past a malformed chunk, so that the connection is ready.
            decoder.feed(&chunk?);
            // Chunks already received come without a wait. Past a page of the usual size
            // (decoded in about 0.2 ms), take turns as tokio's own I/O does, so that a long
            // page lets other tasks, and the time limit of the request waiting for it, run;
            // taking them from the start cost the 887-row list 3–7% of its rate.
            received += 1;
            if received > YIELD_AFTER {
                tokio::task::consume_budget().await;
            }
        }
        Ok::<_, sea_orm::sqlx::Error>(())
    }
    .await;
    if let Err(e) = copied {
        connection.close_on_drop();
        return Err(e.into());
    }
    let rows = decoder.finish().ok();
    if rows.is_none() {
        // Never expected: the statement selects the table's own columns. The page is read
        // again the usual way, which names what is wrong if anything is.
        tracing::warn!("a page read with COPY is not in the table's binary formats; reading it again with sqlx");
    }
    Ok(rows)
}

/// `query` with its values written into it, if every one is an integer.
fn inlined(query: &SelectStatement) -> Option<String> {
    let (_, values) = query.build(PostgresQueryBuilder);
    let integers = values.iter().all(|v| {
        matches!(
            v,
            Value::TinyInt(Some(_))
                | Value::SmallInt(Some(_))
                | Value::Int(Some(_))
                | Value::BigInt(Some(_))
                | Value::TinyUnsigned(Some(_))
                | Value::SmallUnsigned(Some(_))
                | Value::Unsigned(Some(_))
                | Value::BigUnsigned(Some(_))
        )
    });
    integers.then(|| query.to_string(PostgresQueryBuilder))
}

/// The signature a binary `COPY` starts with.
const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Reads a binary `COPY` of rows `width` columns wide, fed in chunks cut anywhere.
struct Decoder {
    width: usize,
    header_read: bool,
    ended: bool,
    /// A chunk was malformed: the rest is ignored, and [`Decoder::finish`] fails.
    failed: bool,
    /// The start of an item whose end is in a later chunk.
    pending: Vec<u8>,
    rows: Vec<Model>,
}

/// One item of the stream after its header.
enum Item {
    Row(Model),
    End,
}

impl Decoder {
    fn new(width: usize, capacity: usize) -> Self {
        Self {
            width,
            header_read: false,
            ended: false,
            failed: false,
            pending: Vec::new(),
            rows: Vec::with_capacity(capacity),
        }
    }

    /// Reads what `chunk` completes; after a malformed chunk, nothing more.
    fn feed(&mut self, chunk: &[u8]) {
        if !self.failed && self.take(chunk).is_err() {
            self.failed = true;
        }
    }

    /// [`Decoder::feed`], failing on a malformed chunk.
    fn take(&mut self, chunk: &[u8]) -> Result<(), NotBinary> {
        if self.pending.is_empty() {
            let used = self.read(chunk)?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            let mut pending = std::mem::take(&mut self.pending);
            pending.extend_from_slice(chunk);
            let used = self.read(&pending)?;
            pending.drain(..used);
            self.pending = pending;
        }
        Ok(())
    }

    /// Reads every whole item at the start of `bytes`; how many bytes they took.
    fn read(&mut self, bytes: &[u8]) -> Result<usize, NotBinary> {
        let mut at = 0;
        if !self.header_read {
            let Some(used) = header(bytes)? else { return Ok(0) };
            self.header_read = true;
            at = used;
        }
        while at < bytes.len() {
            if self.ended {
                return Err(NotBinary);
            }
            let Some((item, used)) = item(&bytes[at..], self.width)? else { break };
            match item {
                Item::Row(row) => self.rows.push(row),
                Item::End => self.ended = true,
            }
            at += used;
        }
        Ok(at)
    }

    /// The rows, if the stream ended where it should.
    fn finish(self) -> Result<Vec<Model>, NotBinary> {
        if self.ended && self.pending.is_empty() && !self.failed { Ok(self.rows) } else { Err(NotBinary) }
    }
}

/// The length of the header at the start of `bytes` (`None`: not all there yet).
fn header(bytes: &[u8]) -> Result<Option<usize>, NotBinary> {
    let fixed = SIGNATURE.len() + 8;
    if bytes.len() < fixed {
        return Ok(None);
    }
    if &bytes[..SIGNATURE.len()] != SIGNATURE {
        return Err(NotBinary);
    }
    let flags = u32::from_be_bytes(bytes[SIGNATURE.len()..][..4].try_into().map_err(|_| NotBinary)?);
    // Bit 16: each row starts with its OID, which this statement never asks for.
    if flags & (1 << 16) != 0 {
        return Err(NotBinary);
    }
    let extension = u32::from_be_bytes(bytes[SIGNATURE.len() + 4..][..4].try_into().map_err(|_| NotBinary)?);
    let length = fixed + usize::try_from(extension).map_err(|_| NotBinary)?;
    Ok((bytes.len() >= length).then_some(length))
}

/// The item at the start of `bytes` and its length (`None`: not all there yet).
fn item(bytes: &[u8], width: usize) -> Result<Option<(Item, usize)>, NotBinary> {
    let Some(count) = bytes.get(..2) else { return Ok(None) };
    let count = i16::from_be_bytes([count[0], count[1]]);
    if count == -1 {
        return Ok(Some((Item::End, 2)));
    }
    if usize::try_from(count).ok() != Some(width) || width > MAX_COLUMNS {
        return Err(NotBinary);
    }
    let mut fields: [Option<&[u8]>; MAX_COLUMNS] = [None; MAX_COLUMNS];
    let mut at = 2;
    for field in fields.iter_mut().take(width) {
        let Some(length) = bytes.get(at..at + 4) else { return Ok(None) };
        let length = i32::from_be_bytes([length[0], length[1], length[2], length[3]]);
        at += 4;
        if length == -1 {
            continue;
        }
        let length = usize::try_from(length).map_err(|_| NotBinary)?;
        let Some(value) = bytes.get(at..at + length) else { return Ok(None) };
        *field = Some(value);
        at += length;
    }
    Ok(Some((Item::Row(pg_binary::model(&fields[..width])?), at)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary `COPY` of `rows` (each a list of fields), as PostgreSQL writes it.
    fn copy_of(rows: &[Vec<Option<Vec<u8>>>]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend(0u32.to_be_bytes());
        out.extend(4u32.to_be_bytes());
        out.extend(b"skip");
        for row in rows {
            out.extend((row.len() as i16).to_be_bytes());
            for field in row {
                match field {
                    Some(v) => {
                        out.extend((v.len() as i32).to_be_bytes());
                        out.extend(v);
                    }
                    None => out.extend((-1i32).to_be_bytes()),
                }
            }
        }
        out.extend((-1i16).to_be_bytes());
        out
    }

    fn passenger(i: u8, name: Option<&str>) -> Vec<Option<Vec<u8>>> {
        vec![
            Some(vec![i; 16]),
            Some(vec![1]),
            Some(3i32.to_be_bytes().to_vec()),
            name.map(|n| n.as_bytes().to_vec()),
            None,
            Some(22.5f64.to_be_bytes().to_vec()),
            Some(1i32.to_be_bytes().to_vec()),
            None,
            Some(7.25f64.to_be_bytes().to_vec()),
        ]
    }

    fn decode(bytes: &[u8], width: usize, cut: usize) -> Result<Vec<Model>, NotBinary> {
        let mut decoder = Decoder::new(width, 0);
        for chunk in bytes.chunks(cut) {
            decoder.feed(chunk);
        }
        decoder.finish()
    }

    #[test]
    fn rows_read_the_same_wherever_the_chunks_are_cut() {
        let rows = [passenger(1, Some("Mr. Owen Harris Braund")), passenger(2, None), passenger(3, Some("é"))];
        let bytes = copy_of(&rows);
        let whole = decode(&bytes, 9, bytes.len()).unwrap();
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[0].uuid, uuid::Uuid::from_bytes([1; 16]));
        assert_eq!(whole[0].survived, Some(true));
        assert_eq!(whole[0].passenger_class, Some(3));
        assert_eq!(whole[0].name.as_deref(), Some("Mr. Owen Harris Braund"));
        assert_eq!(whole[0].sex, None);
        assert_eq!(whole[0].age, Some(22.5));
        assert_eq!(whole[0].siblings_or_spouses_aboard, Some(1));
        assert_eq!(whole[0].parents_or_children_aboard, None);
        assert_eq!(whole[0].fare, Some(7.25));
        assert_eq!((whole[0].seq, whole[0].version), (0, 0));
        assert_eq!(whole[1].name, None);
        assert_eq!(whole[2].name.as_deref(), Some("é"));
        for cut in 1..40 {
            assert_eq!(decode(&bytes, 9, cut).unwrap(), whole, "chunks of {cut} bytes");
        }
    }

    #[test]
    fn the_insertion_number_and_version_are_read_when_selected() {
        let mut row = passenger(9, Some("x"));
        row.push(Some(41i64.to_be_bytes().to_vec()));
        row.push(Some(2i64.to_be_bytes().to_vec()));
        let rows = decode(&copy_of(&[row]), 11, 7).unwrap();
        assert_eq!((rows[0].seq, rows[0].version), (41, 2));
    }

    #[test]
    fn anything_but_the_table_s_binary_rows_is_refused() {
        let good = copy_of(&[passenger(1, Some("a"))]);
        assert!(decode(&good, 10, good.len()).is_err(), "a row of another width");
        let mut cut_short = good.clone();
        cut_short.pop();
        assert!(decode(&cut_short, 9, 5).is_err(), "no end marker");
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(decode(&trailing, 9, 3).is_err(), "bytes after the end marker");
        let mut text = good.clone();
        text[0] = b'X';
        assert!(decode(&text, 9, good.len()).is_err(), "not a binary copy");
        let mut wide_int = passenger(1, None);
        wide_int[2] = Some(3i64.to_be_bytes().to_vec());
        assert!(decode(&copy_of(&[wide_int]), 9, 64).is_err(), "a bigint where an integer belongs");
        let mut bad_utf8 = passenger(1, None);
        bad_utf8[3] = Some(vec![0xff, 0xfe]);
        assert!(decode(&copy_of(&[bad_utf8]), 9, 64).is_err(), "a name that is not UTF-8");
    }

    #[test]
    fn only_statements_binding_integers_alone_are_written_out() {
        use entity::passenger::{Column, Entity};
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
        let page = Entity::find().filter(Column::Seq.gt(5)).order_by_asc(Column::Seq).limit(1001).into_query();
        let sql = inlined(&page).unwrap();
        assert!(sql.contains(r#""seq" > 5"#) && sql.ends_with("LIMIT 1001"), "{sql}");
        let named = Entity::find().filter(Column::Name.eq("x'); DROP TABLE passengers; --")).limit(1001).into_query();
        assert_eq!(inlined(&named), None);
        let fare = Entity::find().filter(Column::Fare.gt(7.25)).limit(1001).into_query();
        assert_eq!(inlined(&fare), None);
    }
}
