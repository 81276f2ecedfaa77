//! Aggregates computed by the database (`GROUP BY`), never by loading rows.

use entity::passenger::{Column, Entity};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, NullOrdering, Order, Query};
use sea_orm::{ConnectionTrait, QueryResult};

use super::ServiceError;
use super::filter::Filter;

/// A column statistics can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupKey {
    /// Ticket class.
    PassengerClass,
    /// Sex.
    Sex,
    /// Survival.
    Survived,
}

impl GroupKey {
    fn column(self) -> Column {
        match self {
            Self::PassengerClass => Column::PassengerClass,
            Self::Sex => Column::Sex,
            Self::Survived => Column::Survived,
        }
    }

    fn alias(self) -> &'static str {
        match self {
            Self::PassengerClass => "g_class",
            Self::Sex => "g_sex",
            Self::Survived => "g_survived",
        }
    }
}

/// Minimum, maximum and mean of a numeric column over a group (NULLs ignored).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// Arithmetic mean.
    pub avg: Option<f64>,
}

/// Aggregates of one group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupStats {
    /// Group's class, when grouped by class.
    pub passenger_class: Option<i32>,
    /// Group's sex, when grouped by sex.
    pub sex: Option<String>,
    /// Group's survival, when grouped by survival.
    pub survived: Option<bool>,
    /// Rows in the group.
    pub count: i64,
    /// Rows with `survived = true`.
    pub survived_count: i64,
    /// Rows whose `survived` is known (not NULL).
    pub known_survival_count: i64,
    /// Ages.
    pub age: Summary,
    /// Fares.
    pub fare: Summary,
}

/// One row per group of the rows matching `filter` (one row overall without grouping), groups
/// in ascending key order with NULL last.
pub async fn stats(
    db: &impl ConnectionTrait,
    filter: Option<&Filter>,
    group_by: &[GroupKey],
) -> Result<Vec<GroupStats>, ServiceError> {
    let backend = db.get_database_backend();
    let mut query = Query::select();
    query
        .from(Entity)
        .expr_as(Expr::col(Column::Seq).count(), Alias::new("n"))
        .expr_as(Expr::case(Expr::col(Column::Survived).eq(true), 1).finally(0).sum(), Alias::new("n_survived"))
        .expr_as(Expr::col(Column::Survived).count(), Alias::new("n_known"));
    for (column, name) in [(Column::Age, "age"), (Column::Fare, "fare")] {
        query
            .expr_as(Expr::col(column).min(), Alias::new(format!("{name}_min")))
            .expr_as(Expr::col(column).max(), Alias::new(format!("{name}_max")))
            .expr_as(Expr::col(column).avg(), Alias::new(format!("{name}_avg")));
    }
    let mut seen = Vec::new();
    for key in group_by.iter().copied() {
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        query.expr_as(Expr::col(key.column()), Alias::new(key.alias())).group_by_col(key.column()).order_by_with_nulls(
            key.column(),
            Order::Asc,
            NullOrdering::Last,
        );
    }
    if let Some(f) = filter {
        query.cond_where(f.condition(backend));
    }
    let rows = db.query_all_raw(backend.build(&query)).await?;
    rows.iter().map(|row| read_row(row, &seen)).collect()
}

fn read_row(row: &QueryResult, grouped: &[GroupKey]) -> Result<GroupStats, ServiceError> {
    let summary = |name: &str| -> Result<Summary, ServiceError> {
        Ok(Summary {
            min: row.try_get::<Option<f64>>("", &format!("{name}_min"))?,
            max: row.try_get::<Option<f64>>("", &format!("{name}_max"))?,
            avg: row.try_get::<Option<f64>>("", &format!("{name}_avg"))?,
        })
    };
    let mut stats = GroupStats {
        count: row.try_get::<i64>("", "n")?,
        survived_count: row.try_get::<Option<i64>>("", "n_survived")?.unwrap_or(0),
        known_survival_count: row.try_get::<i64>("", "n_known")?,
        age: summary("age")?,
        fare: summary("fare")?,
        ..GroupStats::default()
    };
    for key in grouped {
        match key {
            GroupKey::PassengerClass => stats.passenger_class = row.try_get("", key.alias())?,
            GroupKey::Sex => stats.sex = row.try_get("", key.alias())?,
            GroupKey::Survived => stats.survived = row.try_get("", key.alias())?,
        }
    }
    Ok(stats)
}
