//! Aggregates computed by the database (`GROUP BY`), never by loading rows. Every column they
//! read is in one index (`passengers_stats_idx`): unless a filter names another column, the
//! database reads that index alone, never the table.

use entity::passenger::{Column, Entity};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, NullOrdering, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseBackend, QueryResult, Statement};

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

/// 2⁻¹⁰⁰⁰: on SQLite, ages and fares are scaled by it when their plain average overflows.
const SCALE: f64 = 9.332_636_185_032_189e-302;

/// How means are computed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mean {
    /// The database's `avg` over the doubles.
    Plain,
    /// PostgreSQL: `avg` over exact `numeric` values, read as text and parsed here (a numeric
    /// mean below the smallest double would make PostgreSQL's own conversion fail).
    Numeric,
    /// SQLite: `avg` over the values scaled by [`SCALE`] (exact: a power of two), scaled back.
    Scaled,
}

/// One row per group of the rows matching `filter` (one row overall without grouping), groups
/// in ascending key order with NULL last.
///
/// Every stored value is finite, and so is their mean, but the sum a database averages with can
/// overflow (PostgreSQL raises an error, SQLite returns infinity). Then the means are computed
/// again without overflow: over `numeric` on PostgreSQL, over values scaled by a power of two
/// on SQLite.
pub async fn stats(
    db: &impl ConnectionTrait,
    filter: Option<&Filter>,
    group_by: &[GroupKey],
) -> Result<Vec<GroupStats>, ServiceError> {
    let fallback = match db.get_database_backend() {
        DatabaseBackend::Postgres => Mean::Numeric,
        _ => Mean::Scaled,
    };
    match stats_with(db, filter, group_by, Mean::Plain).await {
        Ok(groups) if groups.iter().all(GroupStats::finite) => Ok(groups),
        Ok(_) => stats_with(db, filter, group_by, fallback).await,
        Err(e) if is_overflow(&e) => stats_with(db, filter, group_by, fallback).await,
        Err(e) => Err(e),
    }
}

/// Whether `err` is a numeric overflow in the database (SQLSTATE 22003).
fn is_overflow(err: &ServiceError) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        ServiceError::Database(DbErr::Query(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e))) => {
            e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "22003")
        }
        _ => false,
    }
}

impl GroupStats {
    fn finite(&self) -> bool {
        [self.age.avg, self.fare.avg].into_iter().flatten().all(f64::is_finite)
    }
}

async fn stats_with(
    db: &impl ConnectionTrait,
    filter: Option<&Filter>,
    group_by: &[GroupKey],
    mean: Mean,
) -> Result<Vec<GroupStats>, ServiceError> {
    let (statement, seen) = statement(db.get_database_backend(), filter, group_by, mean);
    let rows = db.query_all_raw(statement).await?;
    let mut groups = rows.iter().map(|row| read_row(row, &seen, mean)).collect::<Result<Vec<_>, _>>()?;
    if mean == Mean::Scaled {
        for group in &mut groups {
            for summary in [&mut group.age, &mut group.fare] {
                summary.avg = summary.avg.map(|a| a / SCALE);
            }
        }
    }
    Ok(groups)
}

/// The `GROUP BY` statement, and the distinct keys it groups by, in order.
fn statement(
    backend: DatabaseBackend,
    filter: Option<&Filter>,
    group_by: &[GroupKey],
    mean: Mean,
) -> (Statement, Vec<GroupKey>) {
    let mut query = Query::select();
    query
        .from(Entity)
        .expr_as(Expr::col(Asterisk).count(), Alias::new("n"))
        .expr_as(Expr::case(Expr::col(Column::Survived).eq(true), 1).finally(0).sum(), Alias::new("n_survived"))
        .expr_as(Expr::col(Column::Survived).count(), Alias::new("n_known"));
    for (column, name) in [(Column::Age, "age"), (Column::Fare, "fare")] {
        query
            .expr_as(Expr::col(column).min(), Alias::new(format!("{name}_min")))
            .expr_as(Expr::col(column).max(), Alias::new(format!("{name}_max")))
            .expr_as(
                match mean {
                    Mean::Plain => Expr::col(column).avg(),
                    Mean::Numeric => Expr::col(column).cast_as(Alias::new("numeric")).avg().cast_as(Alias::new("text")),
                    Mean::Scaled => Expr::col(column).mul(SCALE).avg(),
                },
                Alias::new(format!("{name}_avg")),
            );
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
    (backend.build(&query), seen)
}

fn read_row(row: &QueryResult, grouped: &[GroupKey], mean: Mean) -> Result<GroupStats, ServiceError> {
    let summary = |name: &str| -> Result<Summary, ServiceError> {
        let avg_column = format!("{name}_avg");
        let avg = match mean {
            Mean::Numeric => row
                .try_get::<Option<String>>("", &avg_column)?
                .map(|text| text.parse::<f64>().map_err(|e| sea_orm::DbErr::Custom(format!("{avg_column}: {e}"))))
                .transpose()?,
            _ => row.try_get::<Option<f64>>("", &avg_column)?,
        };
        Ok(Summary {
            min: row.try_get::<Option<f64>>("", &format!("{name}_min"))?,
            max: row.try_get::<Option<f64>>("", &format!("{name}_max"))?,
            avg,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::filter::{Field, Predicate};

    /// SQLite's plan for every grouping, and for a filter on a grouping column, reads the
    /// statistics index alone: the table would cost a random row lookup per passenger.
    #[tokio::test]
    async fn sqlite_reads_grouped_statistics_from_the_covering_index_alone() {
        let db = crate::service::memory_db().await;
        let male = Filter::Leaf(Field::Sex, Predicate::Eq("male".into()));
        let groupings: [(&[GroupKey], Option<&Filter>); 4] = [
            (&[], None),
            (&[GroupKey::PassengerClass, GroupKey::Sex], None),
            (&[GroupKey::Survived], Some(&male)),
            (&[GroupKey::Sex, GroupKey::Survived, GroupKey::PassengerClass], None),
        ];
        for (group_by, filter) in groupings {
            for mean in [Mean::Plain, Mean::Scaled] {
                let (mut explain, _) = statement(DatabaseBackend::Sqlite, filter, group_by, mean);
                explain.sql = format!("EXPLAIN QUERY PLAN {}", explain.sql);
                let plan: Vec<String> =
                    db.query_all_raw(explain).await.unwrap().iter().map(|r| r.try_get("", "detail").unwrap()).collect();
                assert!(
                    plan.iter().any(|step| step.contains("SCAN passengers USING COVERING INDEX passengers_stats_idx")),
                    "{group_by:?} {mean:?}: {plan:?}"
                );
            }
        }
    }
}
