//! Ordering and keyset (cursor) pagination.
//!
//! A page is `WHERE filter AND (row is beyond the cursor) ORDER BY keys LIMIT n + 1`: its cost
//! depends on the page size, never on how deep the page is. The sort keys always end with a
//! unique key (the insertion number, or the id as tie-breaker), so every row has exactly one
//! position. NULL sorts after every value in ascending order (before them in descending order)
//! on both backends.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entity::passenger::{Column, Entity, Model};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, NullOrdering, Order};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, EntityTrait, Iterable, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Select, Value,
};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::filter::{Field, Filter};
pub use super::passenger::Columns;
use super::pg_copy::BulkReader;
use super::{ServiceError, ValidationError};

/// What a page can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// A data column.
    Field(Field),
    /// The id (unique).
    Id,
    /// Insertion order (unique): the legacy list order.
    Insertion,
}

impl SortKey {
    fn column(self) -> Column {
        match self {
            Self::Field(f) => f.column(),
            Self::Id => Column::Uuid,
            Self::Insertion => Column::Seq,
        }
    }

    fn is_unique(self) -> bool {
        matches!(self, Self::Id | Self::Insertion)
    }

    fn tag(self) -> &'static str {
        match self {
            Self::Field(Field::Survived) => "survived",
            Self::Field(Field::PassengerClass) => "passengerClass",
            Self::Field(Field::Name) => "name",
            Self::Field(Field::Sex) => "sex",
            Self::Field(Field::Age) => "age",
            Self::Field(Field::SiblingsOrSpousesAboard) => "siblingsOrSpousesAboard",
            Self::Field(Field::ParentsOrChildrenAboard) => "parentsOrChildrenAboard",
            Self::Field(Field::Fare) => "fare",
            Self::Id => "id",
            Self::Insertion => "insertion",
        }
    }

    /// This key's value in `row`, as stored in a cursor.
    fn json_of(self, row: &Model) -> Json {
        match self {
            Self::Field(Field::Survived) => json!(row.survived),
            Self::Field(Field::PassengerClass) => json!(row.passenger_class),
            Self::Field(Field::Name) => json!(row.name),
            Self::Field(Field::Sex) => json!(row.sex),
            Self::Field(Field::Age) => json!(row.age),
            Self::Field(Field::SiblingsOrSpousesAboard) => json!(row.siblings_or_spouses_aboard),
            Self::Field(Field::ParentsOrChildrenAboard) => json!(row.parents_or_children_aboard),
            Self::Field(Field::Fare) => json!(row.fare),
            Self::Id => json!(row.uuid),
            Self::Insertion => json!(row.seq),
        }
    }

    /// A cursor value back as a typed SQL value; `None` when it does not fit the key.
    fn value_of(self, v: &Json) -> Option<Value> {
        let value = match (self, v) {
            (Self::Id | Self::Insertion, Json::Null) => return None,
            (Self::Field(Field::Survived), Json::Null) => Value::Bool(None),
            (Self::Field(Field::Name | Field::Sex), Json::Null) => Value::String(None),
            (Self::Field(Field::Age | Field::Fare), Json::Null) => Value::Double(None),
            (Self::Field(_), Json::Null) => Value::Int(None),
            (Self::Field(Field::Survived), Json::Bool(b)) => Value::Bool(Some(*b)),
            // Stored text never holds NUL; a cursor that does was not made here.
            (Self::Field(Field::Name | Field::Sex), Json::String(s)) if s.contains('\0') => return None,
            (Self::Field(Field::Name | Field::Sex), Json::String(s)) => Value::String(Some(s.clone())),
            (Self::Field(Field::Age | Field::Fare), n @ Json::Number(_)) => Value::Double(Some(n.as_f64()?)),
            (Self::Field(_), n @ Json::Number(_)) => Value::Int(Some(i32::try_from(n.as_i64()?).ok()?)),
            (Self::Id, Json::String(s)) => Value::Uuid(Some(Uuid::parse_str(s).ok()?)),
            (Self::Insertion, n @ Json::Number(_)) => Value::BigInt(Some(n.as_i64()?)),
            _ => return None,
        };
        Some(value)
    }
}

/// One sort key and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// What to sort by.
    pub key: SortKey,
    /// Descending when true.
    pub descending: bool,
}

/// A complete, total ordering: the requested keys, then a unique tie-breaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ordering(Vec<Sort>);

impl Default for Ordering {
    fn default() -> Self {
        Self(vec![Sort { key: SortKey::Insertion, descending: false }])
    }
}

impl Ordering {
    /// The requested keys (duplicates dropped) followed by the id as tie-breaker; insertion
    /// order when nothing is requested.
    pub fn new(requested: impl IntoIterator<Item = Sort>) -> Self {
        let mut sorts: Vec<Sort> = Vec::new();
        for sort in requested {
            if !sorts.iter().any(|s| s.key == sort.key) {
                sorts.push(sort);
            }
            if sort.key.is_unique() {
                break;
            }
        }
        match sorts.last() {
            None => Self::default(),
            Some(last) if last.key.is_unique() => Self(sorts),
            Some(_) => {
                sorts.push(Sort { key: SortKey::Id, descending: false });
                Self(sorts)
            }
        }
    }

    fn signature(&self) -> String {
        self.0.iter().map(|s| format!("{}{}", if s.descending { "-" } else { "+" }, s.key.tag())).collect()
    }

    /// The opaque cursor of `row` under this ordering.
    pub fn cursor(&self, row: &Model) -> String {
        let values: Vec<Json> = self.0.iter().map(|s| s.key.json_of(row)).collect();
        URL_SAFE_NO_PAD.encode(json!({ "o": self.signature(), "v": values }).to_string())
    }

    /// Decodes a cursor made by [`Self::cursor`] under the same ordering.
    pub fn decode(&self, cursor: &str, argument: &str) -> Result<Vec<Value>, ValidationError> {
        let invalid = || ValidationError::new(argument, "is not a cursor returned by this connection");
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        let parsed: Json = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if parsed.get("o").and_then(Json::as_str) != Some(self.signature().as_str()) {
            return Err(ValidationError::new(argument, "was issued for a different orderBy; start again without it"));
        }
        let values = parsed.get("v").and_then(Json::as_array).ok_or_else(invalid)?;
        if values.len() != self.0.len() {
            return Err(invalid());
        }
        self.0.iter().zip(values).map(|(s, v)| s.key.value_of(v).ok_or_else(invalid)).collect()
    }

    /// Rows strictly beyond `cursor` in this order (`reverse`: strictly before it).
    fn beyond(&self, cursor: &[Value], reverse: bool) -> Condition {
        let mut any = Condition::any();
        for i in 0..self.0.len() {
            let mut all = Condition::all();
            for (sort, value) in self.0[..i].iter().zip(cursor) {
                all = all.add(equals(sort.key.column(), value));
            }
            let sort = self.0[i];
            all = all.add(strictly_beyond(sort.key, &cursor[i], sort.descending != reverse));
            any = any.add(all);
        }
        any
    }

    fn apply<Q: QueryOrder>(&self, mut query: Q, reverse: bool) -> Q {
        for sort in &self.0 {
            let (order, nulls) = if sort.descending != reverse {
                (Order::Desc, NullOrdering::First)
            } else {
                (Order::Asc, NullOrdering::Last)
            };
            // The unique keys are never NULL: a plain ORDER BY lets both backends walk their
            // index (SQLite's rowid, PostgreSQL's btree) instead of sorting the table.
            query = if sort.key.is_unique() {
                query.order_by(sort.key.column(), order)
            } else {
                query.order_by_with_nulls(sort.key.column(), order, nulls)
            };
        }
        query
    }
}

fn equals(column: Column, value: &Value) -> Condition {
    Condition::all().add(if is_null(value) { Expr::col(column).is_null() } else { Expr::col(column).eq(value.clone()) })
}

/// NULL is the largest value: beyond it ascending there is nothing; descending, every non-NULL.
/// The unique keys are never NULL, so their condition is a plain range the index serves.
fn strictly_beyond(key: SortKey, value: &Value, descending: bool) -> Condition {
    let col = Expr::col(key.column());
    match (is_null(value), descending) {
        (true, false) => Condition::all().add(Expr::cust("1 = 0")),
        (true, true) => Condition::all().add(col.is_not_null()),
        (false, false) if key.is_unique() => Condition::all().add(col.gt(value.clone())),
        (false, false) => Condition::any().add(col.clone().gt(value.clone())).add(col.is_null()),
        (false, true) => Condition::all().add(col.lt(value.clone())),
    }
}

fn is_null(value: &Value) -> bool {
    matches!(
        value,
        Value::Bool(None) | Value::Int(None) | Value::BigInt(None) | Value::Double(None) | Value::String(None)
    ) || matches!(value, Value::Uuid(None))
}

/// Which slice of the ordered, filtered rows to return (Relay connection arguments).
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// Rows to keep.
    pub filter: Option<Filter>,
    /// Their order.
    pub ordering: Ordering,
    /// Only rows after this cursor.
    pub after: Option<String>,
    /// Only rows before this cursor.
    pub before: Option<String>,
    /// The first N of the remaining rows…
    pub first: Option<u64>,
    /// …or the last N of them.
    pub last: Option<u64>,
    /// The columns the caller reads (it may read more: what the page itself needs is added).
    pub columns: Columns,
}

/// One page of rows.
#[derive(Debug, Clone)]
pub struct Page {
    /// The rows, in order.
    pub rows: Vec<Model>,
    /// More rows follow the last one.
    pub has_next_page: bool,
    /// More rows precede the first one.
    pub has_previous_page: bool,
}

/// Reads one page. With neither `first` nor `last`, `first` is `default_size`; with both, the
/// last `last` of the first `first` rows. `bulk`, a reader on the same pool as `db` (when `db`
/// is a pool, not a transaction), reads the large ones with `COPY` ([`super::pg_copy`]).
pub async fn page(
    db: &impl ConnectionTrait,
    bulk: Option<&BulkReader>,
    request: &PageRequest,
    default_size: u64,
) -> Result<Page, ServiceError> {
    let backend = db.get_database_backend();
    let ordering = &request.ordering;
    let filter = request.filter.as_ref().map(|f| f.condition(backend));
    let after = request.after.as_deref().map(|c| ordering.decode(c, "after")).transpose()?;
    let before = request.before.as_deref().map(|c| ordering.decode(c, "before")).transpose()?;

    let mut window = Condition::all();
    if let Some(f) = &filter {
        window = window.add(f.clone());
    }
    if let Some(after) = &after {
        window = window.add(ordering.beyond(after, false));
    }
    if let Some(before) = &before {
        window = window.add(ordering.beyond(before, true));
    }

    let backwards = request.last.is_some() && request.first.is_none();
    let size = if backwards { request.last } else { request.first }.unwrap_or(default_size);
    let columns = needed_columns(request, ordering);
    let query = ordering.apply(select(backend, columns).filter(window), backwards).limit(size + 1);
    let query = query.into_query();
    let copied = match bulk {
        Some(bulk) => bulk.fetch(&query, columns, size + 1).await?,
        None => None,
    };
    let mut rows = match copied {
        Some(rows) => rows,
        None => super::passenger::fetch(db, query, columns).await?,
    };
    let more = rows.len() as u64 > size;
    rows.truncate(size as usize);
    if backwards {
        rows.reverse();
    }

    // Whether anything lies on the other side of where this page started.
    let edge_row = if backwards { rows.last() } else { rows.first() };
    let start_cursor = if backwards { &before } else { &after };
    let other_side = match (start_cursor, edge_row) {
        (None, _) => false,
        (Some(_), Some(row)) => {
            let values = ordering.decode(&ordering.cursor(row), "cursor")?;
            exists(db, filter.clone(), ordering.beyond(&values, !backwards)).await?
        }
        (Some(cursor), None) => exists(db, filter.clone(), ordering.beyond(cursor, !backwards)).await?,
    };
    let (has_next_page, mut has_previous_page) = if backwards { (other_side, more) } else { (more, other_side) };
    // Both `first` and `last` (Relay): the last `last` of the first `first`.
    if let (Some(_), Some(last)) = (request.first, request.last)
        && rows.len() as u64 > last
    {
        rows.drain(..rows.len() - last as usize);
        has_previous_page = true;
    }
    Ok(Page { rows, has_next_page, has_previous_page })
}

/// The columns a page reads: the caller's, with the insertion number when the page compares
/// its edge row with a cursor under insertion order, and without it when no cursor holds it.
fn needed_columns(request: &PageRequest, ordering: &Ordering) -> Columns {
    let insertion = ordering.0.iter().any(|s| s.key == SortKey::Insertion);
    let from_cursor = request.after.is_some() || request.before.is_some();
    match request.columns {
        Columns::Fields if insertion && from_cursor => Columns::Insertion,
        Columns::Insertion if !insertion => Columns::Fields,
        columns => columns,
    }
}

/// Every row of the table, with `columns` on PostgreSQL and every column elsewhere (SQLite's
/// page leaves them out of its text instead: [`super::passenger::fetch`]).
fn select(backend: DatabaseBackend, columns: Columns) -> Select<Entity> {
    if columns == Columns::All || backend != DatabaseBackend::Postgres {
        return Entity::find();
    }
    Entity::find().select_only().columns(Column::iter().take(columns.count()))
}

async fn exists(db: &impl ConnectionTrait, filter: Option<Condition>, side: Condition) -> Result<bool, ServiceError> {
    let mut cond = Condition::all().add(side);
    if let Some(f) = filter {
        cond = cond.add(f);
    }
    let query = Entity::find().select_only().column(Column::Seq).filter(cond).limit(1).into_query();
    let stmt = db.get_database_backend().build(&query);
    Ok(db.query_one_raw(stmt).await?.is_some())
}

/// Number of rows matching `filter`.
pub async fn count(db: &impl ConnectionTrait, filter: Option<&Filter>) -> Result<u64, ServiceError> {
    let mut query = Entity::find();
    if let Some(f) = filter {
        query = query.filter(f.condition(db.get_database_backend()));
    }
    Ok(query.count(db).await?)
}
