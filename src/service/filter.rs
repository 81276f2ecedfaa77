//! Row filters as a small boolean algebra, compiled to a parameterised SQL condition.
//!
//! Every predicate is two-valued: a NULL column never makes a predicate "unknown". `eq`, `gt`,
//! `contains`, … are false on NULL; `ne` is true on NULL (NULL is distinct from any value); and
//! `not` is the exact complement of its operand. Negation is pushed down to the leaves, so
//! positive predicates stay index-friendly.

use entity::passenger::Column;
use sea_orm::DatabaseBackend;
use sea_orm::Value;
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, SimpleExpr};

/// A filterable data column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `survived`
    Survived,
    /// `passengerClass`
    PassengerClass,
    /// `name`
    Name,
    /// `sex`
    Sex,
    /// `age`
    Age,
    /// `siblingsOrSpousesAboard`
    SiblingsOrSpousesAboard,
    /// `parentsOrChildrenAboard`
    ParentsOrChildrenAboard,
    /// `fare`
    Fare,
}

impl Field {
    /// The table column.
    pub fn column(self) -> Column {
        match self {
            Self::Survived => Column::Survived,
            Self::PassengerClass => Column::PassengerClass,
            Self::Name => Column::Name,
            Self::Sex => Column::Sex,
            Self::Age => Column::Age,
            Self::SiblingsOrSpousesAboard => Column::SiblingsOrSpousesAboard,
            Self::ParentsOrChildrenAboard => Column::ParentsOrChildrenAboard,
            Self::Fare => Column::Fare,
        }
    }
}

/// A test on one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// Equal to the value (false on NULL).
    Eq(Value),
    /// Not equal to the value (true on NULL).
    Ne(Value),
    /// Equal to one of the values (false on NULL; an empty list matches nothing).
    In(Vec<Value>),
    /// Greater than.
    Gt(Value),
    /// Greater than or equal.
    Gte(Value),
    /// Less than.
    Lt(Value),
    /// Less than or equal.
    Lte(Value),
    /// Contains the text, case-sensitively.
    Contains(String),
    /// Contains the text, ignoring case.
    ContainsInsensitive(String),
    /// Starts with the text, case-sensitively.
    StartsWith(String),
    /// `IsNull(true)`: the column is NULL; `IsNull(false)`: it is not.
    IsNull(bool),
}

/// A boolean combination of predicates.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every operand holds (an empty list always holds).
    And(Vec<Filter>),
    /// At least one operand holds (an empty list never holds).
    Or(Vec<Filter>),
    /// The operand does not hold.
    Not(Box<Filter>),
    /// A predicate on one column.
    Leaf(Field, Predicate),
}

impl Filter {
    /// The filter as a SQL condition for `backend`.
    pub fn condition(&self, backend: DatabaseBackend) -> Condition {
        self.compile(backend, false)
    }

    fn compile(&self, backend: DatabaseBackend, negated: bool) -> Condition {
        match (self, negated) {
            (Self::And(items), false) | (Self::Or(items), true) => {
                if items.is_empty() {
                    return always(true);
                }
                items.iter().fold(Condition::all(), |c, f| c.add(f.compile(backend, negated)))
            }
            (Self::Or(items), false) | (Self::And(items), true) => {
                if items.is_empty() {
                    return always(false);
                }
                items.iter().fold(Condition::any(), |c, f| c.add(f.compile(backend, negated)))
            }
            (Self::Not(inner), _) => inner.compile(backend, !negated),
            (Self::Leaf(field, predicate), _) => leaf(backend, *field, predicate, negated),
        }
    }
}

fn always(value: bool) -> Condition {
    Condition::all().add(Expr::cust(if value { "1 = 1" } else { "1 = 0" }))
}

/// Whether `value` is a text holding a NUL character. Stored text never does (writes refuse
/// it), and PostgreSQL cannot even take one as a parameter, so predicates on such a text are
/// decided without asking the database.
fn has_nul(value: &Value) -> bool {
    matches!(value, Value::String(Some(s)) if s.contains('\0'))
}

fn leaf(backend: DatabaseBackend, field: Field, predicate: &Predicate, negated: bool) -> Condition {
    match predicate {
        Predicate::Eq(v) if has_nul(v) => return always(negated),
        Predicate::Ne(v) if has_nul(v) => return always(!negated),
        Predicate::In(values) if values.iter().any(has_nul) => {
            let kept: Vec<Value> = values.iter().filter(|v| !has_nul(v)).cloned().collect();
            return leaf(backend, field, &Predicate::In(kept), negated);
        }
        Predicate::Contains(t) | Predicate::ContainsInsensitive(t) | Predicate::StartsWith(t) if t.contains('\0') => {
            return always(negated);
        }
        _ => {}
    }
    let col = || Expr::col(field.column());
    let positive: SimpleExpr = match predicate {
        Predicate::IsNull(is_null) => {
            return Condition::all().add(if *is_null != negated { col().is_null() } else { col().is_not_null() });
        }
        Predicate::Ne(v) => {
            // Already two-valued: true on NULL.
            let ne = Condition::any().add(col().ne(v.clone())).add(col().is_null());
            return if negated { ne.not() } else { ne };
        }
        Predicate::In(values) if values.is_empty() => return always(negated),
        Predicate::Eq(v) => col().eq(v.clone()),
        Predicate::In(values) => col().is_in(values.iter().cloned()),
        Predicate::Gt(v) => col().gt(v.clone()),
        Predicate::Gte(v) => col().gte(v.clone()),
        Predicate::Lt(v) => col().lt(v.clone()),
        Predicate::Lte(v) => col().lte(v.clone()),
        Predicate::Contains(text) => position(backend, col(), Expr::val(text.clone())).gt(0),
        Predicate::ContainsInsensitive(text) => {
            position(backend, Func::lower(col()).into(), Func::lower(Expr::val(text.clone())).into()).gt(0)
        }
        Predicate::StartsWith(text) => Expr::from(
            Func::cust("substr").arg(col()).arg(1).arg(i32::try_from(text.chars().count()).unwrap_or(i32::MAX)),
        )
        .eq(text.clone()),
    };
    if negated {
        // NOT of a predicate that is NULL on a NULL column, made two-valued.
        Condition::any().add(positive.not()).add(col().is_null())
    } else {
        Condition::all().add(positive)
    }
}

/// 1-based position of `needle` in `haystack`, 0 when absent (`instr` / `strpos`).
fn position(backend: DatabaseBackend, haystack: SimpleExpr, needle: SimpleExpr) -> SimpleExpr {
    let name = match backend {
        DatabaseBackend::Postgres => "strpos",
        _ => "instr",
    };
    Func::cust(name).arg(haystack).arg(needle).into()
}

/// A column value of a row, for evaluating a filter in memory.
enum Cell<'a> {
    Bool(Option<bool>),
    Int(Option<i32>),
    Float(Option<f64>),
    Text(Option<&'a str>),
}

impl Field {
    fn cell(self, row: &entity::passenger::Model) -> Cell<'_> {
        match self {
            Self::Survived => Cell::Bool(row.survived),
            Self::PassengerClass => Cell::Int(row.passenger_class),
            Self::Name => Cell::Text(row.name.as_deref()),
            Self::Sex => Cell::Text(row.sex.as_deref()),
            Self::Age => Cell::Float(row.age),
            Self::SiblingsOrSpousesAboard => Cell::Int(row.siblings_or_spouses_aboard),
            Self::ParentsOrChildrenAboard => Cell::Int(row.parents_or_children_aboard),
            Self::Fare => Cell::Float(row.fare),
        }
    }
}

impl Cell<'_> {
    fn is_null(&self) -> bool {
        matches!(self, Self::Bool(None) | Self::Int(None) | Self::Float(None) | Self::Text(None))
    }

    /// Compares a non-NULL cell with a value of the same type; `None` otherwise.
    fn compare(&self, value: &Value) -> Option<std::cmp::Ordering> {
        match (self, value) {
            (Self::Bool(Some(a)), Value::Bool(Some(b))) => Some(a.cmp(b)),
            (Self::Int(Some(a)), Value::Int(Some(b))) => Some(a.cmp(b)),
            (Self::Int(Some(a)), Value::BigInt(Some(b))) => Some(i64::from(*a).cmp(b)),
            (Self::Float(Some(a)), Value::Double(Some(b))) => a.partial_cmp(b),
            (Self::Float(Some(a)), Value::Int(Some(b))) => a.partial_cmp(&f64::from(*b)),
            (Self::Text(Some(a)), Value::String(Some(b))) => Some((*a).cmp(b.as_str())),
            _ => None,
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => *t,
            _ => None,
        }
    }
}

impl Filter {
    /// Whether `row` satisfies the filter, with the same two-valued semantics as the SQL
    /// condition (used for subscriptions, where events are matched in memory).
    pub fn matches(&self, row: &entity::passenger::Model) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            Self::And(items) => items.iter().all(|f| f.matches(row)),
            Self::Or(items) => items.iter().any(|f| f.matches(row)),
            Self::Not(inner) => !inner.matches(row),
            Self::Leaf(field, predicate) => {
                let cell = field.cell(row);
                match predicate {
                    Predicate::IsNull(is_null) => cell.is_null() == *is_null,
                    Predicate::Eq(v) => cell.compare(v) == Some(Equal),
                    Predicate::Ne(v) => cell.compare(v) != Some(Equal),
                    Predicate::In(values) => values.iter().any(|v| cell.compare(v) == Some(Equal)),
                    Predicate::Gt(v) => cell.compare(v) == Some(Greater),
                    Predicate::Gte(v) => matches!(cell.compare(v), Some(Greater | Equal)),
                    Predicate::Lt(v) => cell.compare(v) == Some(Less),
                    Predicate::Lte(v) => matches!(cell.compare(v), Some(Less | Equal)),
                    Predicate::Contains(t) => cell.text().is_some_and(|s| s.contains(t.as_str())),
                    Predicate::ContainsInsensitive(t) => {
                        cell.text().is_some_and(|s| s.to_lowercase().contains(&t.to_lowercase()))
                    }
                    Predicate::StartsWith(t) => cell.text().is_some_and(|s| s.starts_with(t.as_str())),
                }
            }
        }
    }
}
