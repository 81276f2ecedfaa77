//! Passenger rows: validation, inserts, lookups.

use entity::passenger::{self, ActiveModel, Column, Entity, NAME_MAX_CHARS, SEX_MAX_CHARS};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionSession,
};
use uuid::Uuid;

use super::events::{EventKind, PassengerEvent};
use super::{ServiceError, Target, ValidationError, Writer};

/// Rows per INSERT statement when writing many (10 bound values each, far below the limits of
/// both backends).
pub const INSERT_BATCH: usize = 1000;

/// The eight data fields of a passenger, as clients write them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PassengerData {
    /// Whether the passenger survived.
    pub survived: Option<bool>,
    /// Ticket class.
    pub passenger_class: Option<i32>,
    /// Full name (at most 150 characters).
    pub name: Option<String>,
    /// Sex (at most 6 characters).
    pub sex: Option<String>,
    /// Age in years.
    pub age: Option<f64>,
    /// Siblings or spouses aboard.
    pub siblings_or_spouses_aboard: Option<i32>,
    /// Parents or children aboard.
    pub parents_or_children_aboard: Option<i32>,
    /// Ticket fare.
    pub fare: Option<f64>,
}

impl PassengerData {
    /// Checks every rule of the data model: lengths of `name` and `sex` in characters, and
    /// finite `age` and `fare`. Returns the first violation.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_len("name", self.name.as_deref(), NAME_MAX_CHARS)?;
        check_len("sex", self.sex.as_deref(), SEX_MAX_CHARS)?;
        check_finite("age", self.age)?;
        check_finite("fare", self.fare)
    }

    /// An active model inserting these values under `uuid`.
    pub fn into_active_model(self, uuid: Uuid) -> ActiveModel {
        ActiveModel { uuid: Set(uuid), ..self.into_changes() }
    }

    /// An active model setting all eight data columns and nothing else (for updates).
    fn into_changes(self) -> ActiveModel {
        ActiveModel {
            uuid: NotSet,
            survived: Set(self.survived),
            passenger_class: Set(self.passenger_class),
            name: Set(self.name),
            sex: Set(self.sex),
            age: Set(self.age),
            siblings_or_spouses_aboard: Set(self.siblings_or_spouses_aboard),
            parents_or_children_aboard: Set(self.parents_or_children_aboard),
            fare: Set(self.fare),
            seq: NotSet,
            version: NotSet,
        }
    }
}

fn check_len(field: &str, value: Option<&str>, max: usize) -> Result<(), ValidationError> {
    if value.is_some_and(|v| v.contains('\0')) {
        return Err(ValidationError::new(field, "must not contain NUL characters"));
    }
    match value.map(|v| v.chars().count()) {
        Some(len) if len > max => {
            Err(ValidationError::new(field, format!("must be at most {max} characters, got {len}")))
        }
        _ => Ok(()),
    }
}

fn check_finite(field: &str, value: Option<f64>) -> Result<(), ValidationError> {
    match value {
        Some(v) if !v.is_finite() => Err(ValidationError::new(field, format!("must be a finite number, got {v}"))),
        _ => Ok(()),
    }
}

/// A partial update: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PassengerPatch {
    /// New `survived`.
    pub survived: Option<Option<bool>>,
    /// New `passengerClass`.
    pub passenger_class: Option<Option<i32>>,
    /// New `name`.
    pub name: Option<Option<String>>,
    /// New `sex`.
    pub sex: Option<Option<String>>,
    /// New `age`.
    pub age: Option<Option<f64>>,
    /// New `siblingsOrSpousesAboard`.
    pub siblings_or_spouses_aboard: Option<Option<i32>>,
    /// New `parentsOrChildrenAboard`.
    pub parents_or_children_aboard: Option<Option<i32>>,
    /// New `fare`.
    pub fare: Option<Option<f64>>,
}

impl PassengerPatch {
    /// Checks the fields that are given, with the rules of [`PassengerData::validate`].
    pub fn validate(&self) -> Result<(), ValidationError> {
        PassengerData {
            name: self.name.clone().flatten(),
            sex: self.sex.clone().flatten(),
            age: self.age.flatten(),
            fare: self.fare.flatten(),
            ..PassengerData::default()
        }
        .validate()
    }

    fn into_changes(self) -> Option<ActiveModel> {
        fn set<T: Into<sea_orm::Value>>(v: Option<T>) -> sea_orm::ActiveValue<T> {
            v.map_or(NotSet, Set)
        }
        let changes = ActiveModel {
            uuid: NotSet,
            survived: set(self.survived),
            passenger_class: set(self.passenger_class),
            name: set(self.name),
            sex: set(self.sex),
            age: set(self.age),
            siblings_or_spouses_aboard: set(self.siblings_or_spouses_aboard),
            parents_or_children_aboard: set(self.parents_or_children_aboard),
            fare: set(self.fare),
            seq: NotSet,
            version: NotSet,
        };
        use sea_orm::ActiveModelTrait;
        changes.is_changed().then_some(changes)
    }
}

/// The stored columns a page reads beyond a passenger's fields, always a prefix of the
/// table's columns in declaration order.
///
/// Every value of every row a page reads costs: PostgreSQL sends it and the service decodes
/// it; SQLite turns it into text for the one JSON text a page is read as, and the service
/// parses it. So a page leaves out what its reader will not use: the row version, and the
/// insertion number when no cursor under insertion order is made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Columns {
    /// The passenger's fields only: the rows' `seq` and `version` are 0.
    Fields,
    /// The fields and the insertion number: the rows' `version` is 0.
    Insertion,
    /// Every column.
    #[default]
    All,
}

impl Columns {
    /// How many of the table's columns, in declaration order, these are.
    pub(super) fn count(self) -> usize {
        match self {
            Self::Fields => 9,
            Self::Insertion => 10,
            Self::All => 11,
        }
    }
}

/// A row read by column position rather than by name: `Entity::find()` selects the columns in
/// their declaration order, and reading by position spares a name lookup per column per row,
/// which shows when a page holds a thousand rows. A page on PostgreSQL may read only the first
/// nine or ten columns ([`Columns`]): the insertion number and the version it
/// leaves out are 0.
pub struct ByPosition(pub passenger::Model);

/// Decodes the columns of a sqlx row by position, skipping sqlx's per-value type check (the
/// columns are this service's own, of known types; a malformed value is still an error).
macro_rules! by_position_unchecked {
    ($row:expr) => {{
        use sea_orm::sqlx::Row as _;
        let row = $row;
        let err =
            |e: sea_orm::sqlx::Error| sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(e)));
        passenger::Model {
            uuid: row.try_get_unchecked(0).map_err(err)?,
            survived: row.try_get_unchecked(1).map_err(err)?,
            passenger_class: row.try_get_unchecked(2).map_err(err)?,
            name: row.try_get_unchecked(3).map_err(err)?,
            sex: row.try_get_unchecked(4).map_err(err)?,
            age: row.try_get_unchecked(5).map_err(err)?,
            siblings_or_spouses_aboard: row.try_get_unchecked(6).map_err(err)?,
            parents_or_children_aboard: row.try_get_unchecked(7).map_err(err)?,
            fare: row.try_get_unchecked(8).map_err(err)?,
            seq: if row.len() > 9 { row.try_get_unchecked(9).map_err(err)? } else { 0 },
            version: if row.len() > 10 { row.try_get_unchecked(10).map_err(err)? } else { 0 },
        }
    }};
}

impl sea_orm::FromQueryResult for ByPosition {
    fn from_query_result(row: &sea_orm::QueryResult, _pre: &str) -> Result<Self, sea_orm::DbErr> {
        if let Some(pg) = row.try_as_pg_row() {
            return match super::pg_binary::row(pg) {
                Ok(model) => Ok(Self(model)),
                Err(_) => Ok(Self(by_position_unchecked!(pg))),
            };
        }
        if let Some(sqlite) = row.try_as_sqlite_row() {
            return Ok(Self(by_position_unchecked!(sqlite)));
        }
        Ok(Self(passenger::Model {
            uuid: row.try_get_by_index(0)?,
            survived: row.try_get_by_index(1)?,
            passenger_class: row.try_get_by_index(2)?,
            name: row.try_get_by_index(3)?,
            sex: row.try_get_by_index(4)?,
            age: row.try_get_by_index(5)?,
            siblings_or_spouses_aboard: row.try_get_by_index(6)?,
            parents_or_children_aboard: row.try_get_by_index(7)?,
            fare: row.try_get_by_index(8)?,
            seq: row.try_get_by_index(9)?,
            version: row.try_get_by_index(10)?,
        }))
    }
}

/// The rows `query` (a `SELECT` of the table's columns in declaration order: every one, or on
/// PostgreSQL the first nine or ten) returns, in its order, with `columns` read (the insertion
/// number and the version left out are 0; on SQLite the page's text leaves them out).
///
/// On SQLite, sqlx runs each connection on a thread of its own and hands every row over a
/// channel, a thread switch per row that dominates a page of a thousand. So there the page
/// is read as one row: SQLite writes the rows as one JSON array (floats in two exact parts; the
/// id in upper-case hex), which is parsed here.
pub async fn fetch(
    db: &impl ConnectionTrait,
    query: sea_orm::sea_query::SelectStatement,
    columns: Columns,
) -> Result<Vec<passenger::Model>, ServiceError> {
    use sea_orm::{
        FromQueryResult,
        sea_query::{Alias, Expr, Query},
    };
    let backend = db.get_database_backend();
    if backend != sea_orm::DatabaseBackend::Sqlite {
        let rows = db.query_all_raw(backend.build(&query)).await?;
        // Sized up front: collecting fallible results cannot know the length, and a page of a
        // thousand rows would otherwise be copied over again on every growth.
        let mut models = Vec::with_capacity(rows.len());
        for row in &rows {
            models.push(ByPosition::from_query_result(row, "")?.0);
        }
        return Ok(models);
    }
    let mut query = query;
    query.column((passenger::Entity, Alias::new(migration::PAGE_ROW)));
    let page = Query::select()
        .expr_as(Expr::cust(sqlite_page_as_json(columns)), Alias::new("page"))
        .from_subquery(query, Alias::new("p"))
        .to_owned();
    let Some(row) = db.query_one_raw(backend.build(&page)).await? else { return Ok(Vec::new()) };
    let text: Option<String> = row.try_get("", "page")?;
    super::sqlite_json::models(text.as_deref().unwrap_or("[]"))
}

/// One JSON array of the page's rows, each an array of the columns in declaration order (a
/// fixed expression over the subquery `p`; no value of a request is part of it), each float as
/// two values (see [`sqlite_float!`]), ending with the insertion number and the version when
/// `$rest` names them. A row's array up to those is the text SQLite stored when the row was
/// written (`page_row`, see the migration that made it), or, where that is null (a float
/// outside its range), written here; the two agree (`tests/api/decoding.rs`). The ORDER BY with
/// LIMIT of the subquery makes SQLite produce its rows in that order, and the aggregate
/// consumes them as produced (the ordering tests hold this on every backend).
macro_rules! sqlite_page_as_json {
    ($rest:literal) => {
        concat!(
            r#"'[' || group_concat(coalesce(p."page_row", "#,
            sqlite_row_text!(),
            ")",
            $rest,
            r#" || ']', ',') || ']'"#
        )
    };
}

/// A row of `p`'s array in the page, without its closing `]`, written at read time: the text
/// `page_row` holds (migration 8 stores it), for every row, its extremes included.
macro_rules! sqlite_row_text {
    () => {
        concat!(
            r#"rtrim(json_array(hex(p."uuid"), p."survived", p."passengerClass", p."name", p."sex", "#,
            sqlite_float!("age"),
            r#", p."siblingsOrSpousesAboard", p."parentsOrChildrenAboard", "#,
            sqlite_float!("fare"),
            r#"), ']')"#
        )
    };
}

/// The text of a row of the passengers table aliased `p` in an SQLite page, as the page writes
/// it where the stored `page_row` is null: what a test compares `page_row` with.
pub const SQLITE_ROW_TEXT: &str = sqlite_row_text!();

/// [`sqlite_page_as_json!`] for each of [`Columns`]: turning numbers into text is much of what
/// SQLite does for a page, so the columns nobody reads are left out here too.
fn sqlite_page_as_json(columns: Columns) -> &'static str {
    match columns {
        Columns::Fields => sqlite_page_as_json!(""),
        Columns::Insertion => sqlite_page_as_json!(r#" || ',' || p."seq""#),
        Columns::All => sqlite_page_as_json!(r#" || ',' || p."seq" || ',' || p."version""#),
    }
}

/// A float column of `p` as two JSON values that read back exactly, without SQLite turning the
/// float into decimal digits (not exact: with 17, even 19, significant digits it misreads some
/// values, e.g. `5.856516605032186e289` comes back one unit off): its integer part `i`
/// and its fraction times 2⁶² `f`, both integers, so that the value is `i + f / 2⁶²`. Both
/// parts are exact: the integer part of a double below 2⁶² is a double, subtracting it is
/// exact, and so is scaling by a power of two; the fraction times 2⁶² is integral when the
/// value's lowest bit is at least 2⁻⁶², true from 2⁻¹⁰ up. Zero is `0`. Values below 2⁻¹⁰ and
/// from 2⁶² on (none among the historical passengers) come as the text `"e i f"`: scaled by
/// 2³² until inside that range (a correlated recursive query, evaluated only for them), then
/// split the same way, the value being `(i + f / 2⁶²) · 2^e`; their second value is ignored.
/// The common case's range test compares the value with the bounds on either side of zero
/// rather than calling `abs()`: SQLite runs comparisons in its bytecode but calls a function
/// per use, and the page statement ran about 7% faster so (SQLite 3.51.1, 887 rows).
macro_rules! sqlite_float {
    ($column:literal) => {
        concat!(
            r#"CASE WHEN p.""#, $column, r#"" IS NULL THEN NULL WHEN (p.""#, $column, r#"" < 4.6e18 AND p.""#,
            $column, r#"" >= 1.0 / 1024.0) OR (p.""#, $column, r#"" > -4.6e18 AND p.""#, $column,
            r#"" <= -1.0 / 1024.0) THEN CAST(p.""#, $column, r#"" AS INTEGER) WHEN p.""#, $column, r#"" = 0 THEN 0 ELSE (WITH RECURSIVE s(y, e) AS (SELECT p.""#, $column,
            r#"", 0 UNION ALL SELECT CASE WHEN abs(y) >= 4.6e18 THEN y * (1.0 / 4294967296.0) ELSE y * 4294967296.0 END, "#,
            r#"e + CASE WHEN abs(y) >= 4.6e18 THEN 32 ELSE -32 END FROM s WHERE abs(y) >= 4.6e18 OR abs(y) < 1.0 / 1024.0) "#,
            r#"SELECT printf('%d %d %d', e, CAST(y AS INTEGER), CAST((y - CAST(y AS INTEGER)) * 4611686018427387904.0 AS INTEGER)) "#,
            r#"FROM s WHERE abs(y) < 4.6e18 AND abs(y) >= 1.0 / 1024.0) END, CAST((p.""#, $column,
            r#"" - CAST(p.""#, $column, r#"" AS INTEGER)) * 4611686018427387904.0 AS INTEGER)"#
        )
    };
}
use sqlite_float;

/// A row as written, with its namesakes (oldest first, itself included) when the writer asked
/// for them: read inside the write's transaction, so they are exactly what was committed.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The row after the write.
    pub row: passenger::Model,
    /// Its namesakes, if asked for.
    pub namesakes: Option<Vec<passenger::Model>>,
}

/// `rows` with their namesakes read in `txn` if the writer asks for them.
async fn stored(
    w: &Writer<'_>,
    txn: &impl ConnectionTrait,
    rows: Vec<passenger::Model>,
) -> Result<Vec<Stored>, ServiceError> {
    let Some(first) = w.namesakes else {
        return Ok(rows.into_iter().map(|row| Stored { row, namesakes: None }).collect());
    };
    let mut names: Vec<Option<String>> = rows.iter().map(|r| r.name.clone()).collect();
    names.sort();
    names.dedup();
    let mut by_name: std::collections::HashMap<Option<String>, Vec<passenger::Model>> = Default::default();
    for row in namesakes_of(txn, &names, first).await? {
        by_name.entry(row.name.clone()).or_default().push(row);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let namesakes = by_name.get(&row.name).cloned().unwrap_or_default();
            Stored { row, namesakes: Some(namesakes) }
        })
        .collect())
}

/// Inserts one passenger and returns the stored row; announces a `Created` event.
///
/// When nothing else must share its transaction (on the pool, no namesakes to read back), the
/// insert runs as one statement in autocommit mode, atomic by itself: one round trip to the
/// database instead of three (`BEGIN`, `INSERT`, `COMMIT`). On SQLite, where every write
/// queues for the one writer connection, such creates go through the writer's
/// [`CreateQueue`](super::group::CreateQueue), which commits those that arrive together in one
/// transaction. The deadline is checked before that statement, which is its commit (in the
/// queue, again when its batch is formed); a statement that then waits for the writer is
/// bounded by the busy timeout.
pub async fn create(w: Writer<'_>, data: PassengerData) -> Result<Stored, ServiceError> {
    data.validate()?;
    if let (Target::Pool(db), None) = (w.target, w.namesakes) {
        if w.past_deadline() {
            return Err(ServiceError::TimedOut);
        }
        let uuid = Uuid::new_v4();
        let model = data.into_active_model(uuid);
        let row = match w.creates {
            // The queue announces its writes itself.
            Some(queue) => queue.insert(uuid, model, w.deadline).await?,
            None => {
                let row = insert_one(db, uuid, model).await.inspect_err(|_| {
                    // As for a broken commit (see `finish`): the insert may have happened.
                    w.events.maybe_changed();
                })?;
                w.committed(db.get_database_backend(), vec![PassengerEvent::new(EventKind::Created, row.clone())]);
                row
            }
        };
        return Ok(Stored { row, namesakes: None });
    }
    let txn = w.begin().await?;
    let row = Entity::insert(data.into_active_model(Uuid::new_v4())).exec_with_returning(&txn).await?;
    let written = stored(&w, &txn, vec![row.clone()]).await?;
    finish(w, txn, vec![PassengerEvent::new(EventKind::Created, row)]).await?;
    Ok(written.into_iter().next().expect("one row in, one row out"))
}

/// Inserts one row as one autocommit statement, atomic by itself. When the connection broke
/// on the way, the insert may or may not have happened: the row is then looked up by its id
/// (fresh, so present means inserted) before a failure is answered.
pub async fn insert_one(
    db: &sea_orm::DatabaseConnection,
    uuid: Uuid,
    model: ActiveModel,
) -> Result<passenger::Model, ServiceError> {
    let error = match Entity::insert(model).exec_with_returning(db).await {
        Ok(row) => return Ok(row),
        Err(e) => ServiceError::from(e),
    };
    if !matches!(error, ServiceError::Unavailable(_)) {
        return Err(error);
    }
    match find_by_ids(db, &[uuid]).await {
        Ok(mut found) if found.len() == 1 => {
            tracing::warn!(error = %error, "the insert's connection broke, but the row is in the table: answered as done");
            Ok(found.remove(0))
        }
        _ => Err(error),
    }
}

/// Commits `txn` unless the deadline has passed (then rolls it back), and hands the events to
/// local subscribers where the database does not announce them itself. On PostgreSQL the
/// table's triggers announce every write on commit, whoever makes it.
///
/// A commit whose connection broke may or may not have happened. Rather than answer a failure
/// for a write that is in the table, the outcome is then read back on another connection: the
/// inserted ids present, the updated rows exactly as written, the deleted ones gone.
async fn finish<T: ConnectionTrait + TransactionSession>(
    w: Writer<'_>,
    txn: T,
    staged: Vec<PassengerEvent>,
) -> Result<(), ServiceError> {
    if w.past_deadline() {
        txn.rollback().await?;
        return Err(ServiceError::TimedOut);
    }
    let backend = txn.get_database_backend();
    if let Err(e) = txn.commit().await {
        // Committed or not, what was computed before may be stale.
        w.events.maybe_changed();
        let error = ServiceError::from(e);
        let Target::Pool(db) = w.target else { return Err(error) };
        if !matches!(error, ServiceError::Unavailable(_)) || !took_effect(db, &staged).await {
            return Err(error);
        }
        tracing::warn!(error = %error, "the commit's connection broke, but the write is in the table: answered as done");
    }
    w.committed(backend, staged);
    Ok(())
}

/// Whether the writes `staged` describes are in the database (read on a fresh connection).
async fn took_effect(db: &sea_orm::DatabaseConnection, staged: &[PassengerEvent]) -> bool {
    let ids: Vec<Uuid> = staged.iter().map(|e| e.row.uuid).collect();
    let Ok(found) = find_by_ids(db, &ids).await else { return false };
    staged.iter().all(|event| {
        let now = found.iter().find(|r| r.uuid == event.row.uuid);
        match event.kind {
            // The id is ours, freshly generated: present means inserted.
            EventKind::Created => now.is_some(),
            EventKind::Updated => now == Some(&event.row),
            EventKind::Deleted => now.is_none(),
        }
    })
}

/// Inserts all passengers in one transaction, or none of them when any is invalid or a write
/// fails. Returns the stored rows in input order; announces one `Created` event per row.
pub async fn create_many(w: Writer<'_>, items: Vec<PassengerData>) -> Result<Vec<Stored>, ServiceError> {
    for (i, item) in items.iter().enumerate() {
        item.validate().map_err(|e| ValidationError::new(format!("inputs[{i}].{}", e.field), e.problem))?;
    }
    let txn = w.begin().await?;
    let mut rows = Vec::with_capacity(items.len());
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let batch: Vec<_> = items.by_ref().take(INSERT_BATCH).map(|d| d.into_active_model(Uuid::new_v4())).collect();
        let mut inserted = Entity::insert_many(batch).exec_with_returning(&txn).await?;
        inserted.sort_by_key(|r| r.seq);
        rows.extend(inserted);
    }
    let staged = rows.iter().map(|r| PassengerEvent::new(EventKind::Created, r.clone())).collect();
    let written = stored(&w, &txn, rows).await?;
    finish(w, txn, staged).await?;
    Ok(written)
}

/// Replaces all eight data fields of the row `id`; `None` when there is no such row. With
/// `expected`, writes only if the row is at that version ([`ServiceError::Conflict`] otherwise).
pub async fn replace(
    w: Writer<'_>,
    id: Uuid,
    data: PassengerData,
    expected: Option<i64>,
) -> Result<Option<Stored>, ServiceError> {
    data.validate()?;
    update(w, id, Some(data.into_changes()), expected).await
}

/// Changes the given fields of the row `id`; `None` when there is no such row. A patch that
/// changes nothing writes nothing and announces nothing (but still checks `expected`).
pub async fn patch(
    w: Writer<'_>,
    id: Uuid,
    patch: PassengerPatch,
    expected: Option<i64>,
) -> Result<Option<Stored>, ServiceError> {
    patch.validate()?;
    update(w, id, patch.into_changes(), expected).await
}

/// The current version of row `id`, if there is one.
async fn version_of(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<i64>, ServiceError> {
    use sea_orm::QuerySelect;
    Ok(Entity::find_by_id(id).select_only().column(Column::Version).into_tuple::<i64>().one(db).await?)
}

/// The conflict to report when a write conditional on `expected` matched no row: the row
/// exists at another version (`None`: there is no row `id`).
async fn conflict(
    txn: &impl ConnectionTrait,
    id: Uuid,
    expected: Option<i64>,
) -> Result<Option<ServiceError>, ServiceError> {
    let Some(expected) = expected else { return Ok(None) };
    Ok(version_of(txn, id).await?.map(|current| ServiceError::Conflict { expected, current }))
}

async fn update(
    w: Writer<'_>,
    id: Uuid,
    changes: Option<ActiveModel>,
    expected: Option<i64>,
) -> Result<Option<Stored>, ServiceError> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let txn = w.begin().await?;
    let Some(changes) = changes else {
        // Nothing to change: the row as it is, provided it is at the expected version.
        let row = Entity::find_by_id(id).one(&txn).await?;
        if let (Some(row), Some(expected)) = (&row, expected)
            && row.version != expected
        {
            return Err(ServiceError::Conflict { expected, current: row.version });
        }
        let written = stored(&w, &txn, row.into_iter().collect()).await?;
        txn.commit().await?;
        return Ok(written.into_iter().next());
    };
    let mut statement = Entity::update_many()
        .set(changes)
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .filter(Column::Uuid.eq(id));
    if let Some(expected) = expected {
        statement = statement.filter(Column::Version.eq(expected));
    }
    let Some(row) = statement.exec_with_returning(&txn).await?.into_iter().next() else {
        let conflict = conflict(&txn, id, expected).await?;
        txn.rollback().await?;
        return conflict.map_or(Ok(None), Err);
    };
    let written = stored(&w, &txn, vec![row.clone()]).await?;
    finish(w, txn, vec![PassengerEvent::new(EventKind::Updated, row)]).await?;
    Ok(written.into_iter().next())
}

/// Deletes the row `id`; whether there was one. With `expected`, deletes only if the row is at
/// that version ([`ServiceError::Conflict`] otherwise). Announces a `Deleted` event with the
/// row's last state.
pub async fn delete(w: Writer<'_>, id: Uuid, expected: Option<i64>) -> Result<bool, ServiceError> {
    let txn = w.begin().await?;
    let mut statement = Entity::delete_many().filter(Column::Uuid.eq(id));
    if let Some(expected) = expected {
        statement = statement.filter(Column::Version.eq(expected));
    }
    let rows = statement.exec_with_returning(&txn).await?;
    if rows.is_empty() {
        let conflict = conflict(&txn, id, expected).await?;
        txn.rollback().await?;
        return conflict.map_or(Ok(false), Err);
    }
    let staged = rows.into_iter().map(|r| PassengerEvent::new(EventKind::Deleted, r)).collect();
    finish(w, txn, staged).await?;
    Ok(true)
}

/// The first `first` rows (oldest first) of each name in `names` (`None` stands for the rows
/// without a name), in one statement; rows of different names come interleaved in insertion
/// order.
pub async fn namesakes_of(
    db: &impl ConnectionTrait,
    names: &[Option<String>],
    first: u64,
) -> Result<Vec<passenger::Model>, ServiceError> {
    use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Func, Order, Query, WindowStatement};
    use sea_orm::{FromQueryResult, Iterable};
    let given: Vec<&str> = names.iter().flatten().map(String::as_str).collect();
    let mut which = Condition::any();
    if !given.is_empty() {
        which = which.add(Column::Name.is_in(given));
    }
    if names.iter().any(Option::is_none) {
        which = which.add(Column::Name.is_null());
    }
    if names.is_empty() || first == 0 {
        return Ok(Vec::new());
    }
    let rank = Alias::new("namesake_rank");
    let inner = Query::select()
        .columns(Column::iter())
        .expr_window_as(
            Func::cust(Alias::new("row_number")),
            WindowStatement::partition_by(Column::Name).order_by(Column::Seq, Order::Asc).to_owned(),
            rank.clone(),
        )
        .from(Entity)
        .cond_where(which)
        .to_owned();
    let outer = Query::select()
        .columns(Column::iter().map(|c| (Alias::new("ranked"), c)))
        .from_subquery(inner, Alias::new("ranked"))
        .and_where(Expr::col(rank).lte(i64::try_from(first).unwrap_or(i64::MAX)))
        .order_by((Alias::new("ranked"), Column::Seq), Order::Asc)
        .to_owned();
    let rows = db.query_all_raw(db.get_database_backend().build(&outer)).await?;
    Ok(rows.iter().map(|r| passenger::Model::from_query_result(r, "")).collect::<Result<_, _>>()?)
}

/// Number of rows in the table.
pub async fn count(db: &impl ConnectionTrait) -> Result<u64, ServiceError> {
    Ok(Entity::find().count(db).await?)
}

/// Inserts already validated rows in batches of [`INSERT_BATCH`], calling `progress` with the
/// number of rows written after each batch. Run it inside a transaction for all-or-nothing.
pub async fn insert_all(
    db: &impl ConnectionTrait,
    rows: impl IntoIterator<Item = PassengerData>,
    mut progress: impl FnMut(u64),
) -> Result<u64, ServiceError> {
    let mut written = 0u64;
    let mut batch = Vec::with_capacity(INSERT_BATCH);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        batch.extend(rows.by_ref().take(INSERT_BATCH).map(|r| r.into_active_model(Uuid::new_v4())));
        let n = batch.len() as u64;
        Entity::insert_many(std::mem::take(&mut batch)).exec_without_returning(db).await?;
        written += n;
        progress(n);
    }
    Ok(written)
}

/// The rows with the given ids, in no particular order; unknown ids are absent.
pub async fn find_by_ids(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<passenger::Model>, ServiceError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Entity::find().filter(Column::Uuid.is_in(ids.iter().copied())).all(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> PassengerData {
        PassengerData { name: Some(name.to_owned()), ..Default::default() }
    }

    #[test]
    fn reading_by_position_follows_the_declared_column_order() {
        use sea_orm::{IdenStatic, Iterable};
        let names: Vec<String> = Column::iter().map(|c| c.as_str().to_owned()).collect();
        assert_eq!(
            names,
            [
                "uuid",
                "survived",
                "passengerClass",
                "name",
                "sex",
                "age",
                "siblingsOrSpousesAboard",
                "parentsOrChildrenAboard",
                "fare",
                "seq",
                "version"
            ]
        );
    }

    #[test]
    fn names_are_measured_in_characters_not_bytes() {
        assert!(named(&"é".repeat(150)).validate().is_ok());
        let err = named(&"é".repeat(151)).validate().unwrap_err();
        assert_eq!(err.to_string(), "name: must be at most 150 characters, got 151");
    }

    #[test]
    fn sex_longer_than_six_characters_is_rejected() {
        let data = PassengerData { sex: Some("unknown".into()), ..Default::default() };
        assert_eq!(data.validate().unwrap_err().field, "sex");
        let data = PassengerData { sex: Some(String::new()), ..Default::default() };
        assert!(data.validate().is_ok());
    }

    /// Every finite float comes back bit for bit from a SQLite page (zero's sign aside: SQLite
    /// stores an integral REAL as an integer), whichever of the two encodings it takes.
    #[tokio::test]
    async fn sqlite_pages_read_every_float_back_exactly() {
        use proptest::strategy::{Strategy, ValueTree};
        use sea_orm::{QueryOrder, QuerySelect, QueryTrait};
        let db = crate::service::memory_db().await;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut values: Vec<f64> = (0..3000)
            .map(|_| proptest::num::f64::ANY.new_tree(&mut runner).unwrap().current())
            .filter(|f| f.is_finite())
            .collect();
        let edge = 4.6e18_f64;
        values.extend([
            0.0,
            -0.0,
            0.0009765625,
            f64::from_bits(0.0009765625_f64.to_bits() - 1),
            edge,
            f64::from_bits(edge.to_bits() - 1),
            f64::from_bits(edge.to_bits() + 1),
            4_611_686_018_427_387_904.0,
            7.25,
            71.2833,
            0.42,
            512.3292,
            0.1 + 0.2,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
        ]);
        let wide = (1..2000).map(|i| (i as f64 * 0.37).exp2() * if i % 2 == 0 { 1.0 } else { -1.0 });
        values.extend(wide.chain((1..1000).map(|i| (-(i as f64) * 0.07).exp2())));
        let rows = values.iter().map(|&v| PassengerData { age: Some(v), fare: Some(-v), ..Default::default() });
        insert_all(&db, rows, |_| ()).await.unwrap();
        let query = Entity::find().order_by_asc(Column::Seq).limit(values.len() as u64).into_query();
        let page = fetch(&db, query, Columns::All).await.unwrap();
        assert_eq!(page.len(), values.len());
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a == 0.0 && b == 0.0);
        for (row, v) in page.iter().zip(&values) {
            assert!(same(row.age.unwrap(), *v), "age {v:e} ({:016x}) read as {:?}", v.to_bits(), row.age);
            assert!(same(row.fare.unwrap(), -v), "fare {:e} read as {:?}", -v, row.fare);
        }
    }

    #[test]
    fn non_finite_numbers_are_rejected() {
        let data = PassengerData { age: Some(f64::NAN), ..Default::default() };
        assert_eq!(data.validate().unwrap_err().field, "age");
        let data = PassengerData { fare: Some(f64::INFINITY), ..Default::default() };
        assert_eq!(data.validate().unwrap_err().field, "fare");
    }
}
