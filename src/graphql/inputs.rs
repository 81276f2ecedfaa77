//! GraphQL input types: filters, ordering, grouping, and the write inputs, with their
//! conversions into the service layer's types.

use async_graphql::{Enum, InputObject, MaybeUndefined};

use crate::service::filter::{Field, Filter, Predicate};
use crate::service::page::{Sort, SortKey};
use crate::service::stats::GroupKey;
use crate::service::{PassengerData, PassengerPatch, ValidationError};

/// Conditions on a text field; all given conditions must hold. Use `isNull` to test for null.
#[derive(InputObject, Debug, Default, Clone)]
pub struct StringFilter {
    /// Equal to this text (exact, case-sensitive).
    pub eq: Option<String>,
    /// Not equal to this text; rows where the field is null match.
    pub ne: Option<String>,
    /// Equal to one of these texts.
    #[graphql(name = "in")]
    pub is_in: Option<Vec<String>>,
    /// Contains this text, case-sensitively.
    pub contains: Option<String>,
    /// Contains this text, ignoring case.
    pub contains_insensitive: Option<String>,
    /// Starts with this text, case-sensitively.
    pub starts_with: Option<String>,
    /// `true`: the field is null; `false`: it is not.
    pub is_null: Option<bool>,
}

/// Conditions on an integer field; all given conditions must hold.
#[derive(InputObject, Debug, Default, Clone)]
pub struct IntFilter {
    /// Equal to.
    pub eq: Option<i32>,
    /// Not equal to; rows where the field is null match.
    pub ne: Option<i32>,
    /// Equal to one of.
    #[graphql(name = "in")]
    pub is_in: Option<Vec<i32>>,
    /// Greater than.
    pub gt: Option<i32>,
    /// Greater than or equal to.
    pub gte: Option<i32>,
    /// Less than.
    pub lt: Option<i32>,
    /// Less than or equal to.
    pub lte: Option<i32>,
    /// `true`: the field is null; `false`: it is not.
    pub is_null: Option<bool>,
}

/// Conditions on a floating-point field; all given conditions must hold.
#[derive(InputObject, Debug, Default, Clone)]
pub struct FloatFilter {
    /// Equal to (exactly).
    pub eq: Option<f64>,
    /// Greater than.
    pub gt: Option<f64>,
    /// Greater than or equal to.
    pub gte: Option<f64>,
    /// Less than.
    pub lt: Option<f64>,
    /// Less than or equal to.
    pub lte: Option<f64>,
    /// `true`: the field is null; `false`: it is not.
    pub is_null: Option<bool>,
}

/// Conditions on a boolean field; all given conditions must hold.
#[derive(InputObject, Debug, Default, Clone)]
pub struct BooleanFilter {
    /// Equal to.
    pub eq: Option<bool>,
    /// `true`: the field is null; `false`: it is not.
    pub is_null: Option<bool>,
}

/// Which passengers to return. All given conditions must hold; combine with `and`, `or` and
/// `not`. Conditions are two-valued: a null field fails `eq`/`gt`/`contains`… and passes `ne`,
/// and `not` is the exact complement of its operand.
#[derive(InputObject, Debug, Default, Clone)]
pub struct PassengerFilter {
    /// Conditions on `survived`.
    pub survived: Option<BooleanFilter>,
    /// Conditions on `passengerClass`.
    pub passenger_class: Option<IntFilter>,
    /// Conditions on `name`.
    pub name: Option<StringFilter>,
    /// Conditions on `sex`.
    pub sex: Option<StringFilter>,
    /// Conditions on `age`.
    pub age: Option<FloatFilter>,
    /// Conditions on `siblingsOrSpousesAboard`.
    pub siblings_or_spouses_aboard: Option<IntFilter>,
    /// Conditions on `parentsOrChildrenAboard`.
    pub parents_or_children_aboard: Option<IntFilter>,
    /// Conditions on `fare`.
    pub fare: Option<FloatFilter>,
    /// Every one of these filters holds.
    pub and: Option<Vec<PassengerFilter>>,
    /// At least one of these filters holds.
    pub or: Option<Vec<PassengerFilter>>,
    /// This filter does not hold.
    pub not: Option<Box<PassengerFilter>>,
}

fn push<T>(out: &mut Vec<Filter>, field: Field, value: Option<T>, make: impl FnOnce(T) -> Predicate) {
    if let Some(v) = value {
        out.push(Filter::Leaf(field, make(v)));
    }
}

impl StringFilter {
    fn collect(self, field: Field, out: &mut Vec<Filter>) {
        push(out, field, self.eq, |v| Predicate::Eq(v.into()));
        push(out, field, self.ne, |v| Predicate::Ne(v.into()));
        push(out, field, self.is_in, |v| Predicate::In(v.into_iter().map(Into::into).collect()));
        push(out, field, self.contains, Predicate::Contains);
        push(out, field, self.contains_insensitive, Predicate::ContainsInsensitive);
        push(out, field, self.starts_with, Predicate::StartsWith);
        push(out, field, self.is_null, Predicate::IsNull);
    }
}

impl IntFilter {
    fn collect(self, field: Field, out: &mut Vec<Filter>) {
        push(out, field, self.eq, |v| Predicate::Eq(v.into()));
        push(out, field, self.ne, |v| Predicate::Ne(v.into()));
        push(out, field, self.is_in, |v| Predicate::In(v.into_iter().map(Into::into).collect()));
        push(out, field, self.gt, |v| Predicate::Gt(v.into()));
        push(out, field, self.gte, |v| Predicate::Gte(v.into()));
        push(out, field, self.lt, |v| Predicate::Lt(v.into()));
        push(out, field, self.lte, |v| Predicate::Lte(v.into()));
        push(out, field, self.is_null, Predicate::IsNull);
    }
}

impl FloatFilter {
    fn collect(self, field: Field, out: &mut Vec<Filter>) {
        push(out, field, self.eq, |v| Predicate::Eq(v.into()));
        push(out, field, self.gt, |v| Predicate::Gt(v.into()));
        push(out, field, self.gte, |v| Predicate::Gte(v.into()));
        push(out, field, self.lt, |v| Predicate::Lt(v.into()));
        push(out, field, self.lte, |v| Predicate::Lte(v.into()));
        push(out, field, self.is_null, Predicate::IsNull);
    }
}

impl BooleanFilter {
    fn collect(self, field: Field, out: &mut Vec<Filter>) {
        push(out, field, self.eq, |v| Predicate::Eq(v.into()));
        push(out, field, self.is_null, Predicate::IsNull);
    }
}

impl From<PassengerFilter> for Filter {
    fn from(f: PassengerFilter) -> Self {
        let mut all = Vec::new();
        if let Some(x) = f.survived {
            x.collect(Field::Survived, &mut all);
        }
        if let Some(x) = f.passenger_class {
            x.collect(Field::PassengerClass, &mut all);
        }
        if let Some(x) = f.name {
            x.collect(Field::Name, &mut all);
        }
        if let Some(x) = f.sex {
            x.collect(Field::Sex, &mut all);
        }
        if let Some(x) = f.age {
            x.collect(Field::Age, &mut all);
        }
        if let Some(x) = f.siblings_or_spouses_aboard {
            x.collect(Field::SiblingsOrSpousesAboard, &mut all);
        }
        if let Some(x) = f.parents_or_children_aboard {
            x.collect(Field::ParentsOrChildrenAboard, &mut all);
        }
        if let Some(x) = f.fare {
            x.collect(Field::Fare, &mut all);
        }
        if let Some(list) = f.and {
            all.push(Filter::And(list.into_iter().map(Into::into).collect()));
        }
        if let Some(list) = f.or {
            all.push(Filter::Or(list.into_iter().map(Into::into).collect()));
        }
        if let Some(inner) = f.not {
            all.push(Filter::Not(Box::new((*inner).into())));
        }
        if all.len() == 1 { all.remove(0) } else { Filter::And(all) }
    }
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// Smallest first; nulls last.
    #[default]
    Asc,
    /// Largest first; nulls first.
    Desc,
}

/// A field passengers can be ordered by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PassengerOrderField {
    /// `survived` (false before true).
    Survived,
    /// `passengerClass`.
    PassengerClass,
    /// `name`.
    Name,
    /// `sex`.
    Sex,
    /// `age`.
    Age,
    /// `siblingsOrSpousesAboard`.
    SiblingsOrSpousesAboard,
    /// `parentsOrChildrenAboard`.
    ParentsOrChildrenAboard,
    /// `fare`.
    Fare,
    /// `id`.
    Id,
    /// Insertion order: the order rows were created in (the default order).
    InsertionOrder,
}

/// One ordering criterion. Ties are broken by the next criterion, and finally by `id`.
#[derive(InputObject, Debug, Clone, Copy)]
pub struct PassengerOrder {
    /// The field to order by.
    pub field: PassengerOrderField,
    /// The direction.
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl From<PassengerOrder> for Sort {
    fn from(o: PassengerOrder) -> Self {
        let key = match o.field {
            PassengerOrderField::Survived => SortKey::Field(Field::Survived),
            PassengerOrderField::PassengerClass => SortKey::Field(Field::PassengerClass),
            PassengerOrderField::Name => SortKey::Field(Field::Name),
            PassengerOrderField::Sex => SortKey::Field(Field::Sex),
            PassengerOrderField::Age => SortKey::Field(Field::Age),
            PassengerOrderField::SiblingsOrSpousesAboard => SortKey::Field(Field::SiblingsOrSpousesAboard),
            PassengerOrderField::ParentsOrChildrenAboard => SortKey::Field(Field::ParentsOrChildrenAboard),
            PassengerOrderField::Fare => SortKey::Field(Field::Fare),
            PassengerOrderField::Id => SortKey::Id,
            PassengerOrderField::InsertionOrder => SortKey::Insertion,
        };
        Sort { key, descending: o.direction == OrderDirection::Desc }
    }
}

/// A field statistics can be grouped by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PassengerGroupBy {
    /// One group per ticket class.
    PassengerClass,
    /// One group per sex.
    Sex,
    /// One group per survival outcome.
    Survived,
}

impl From<PassengerGroupBy> for GroupKey {
    fn from(g: PassengerGroupBy) -> Self {
        match g {
            PassengerGroupBy::PassengerClass => Self::PassengerClass,
            PassengerGroupBy::Sex => Self::Sex,
            PassengerGroupBy::Survived => Self::Survived,
        }
    }
}

/// All eight data fields of a passenger. An omitted field is stored as null.
#[derive(InputObject, Debug, Default, Clone)]
pub struct PassengerInput {
    /// Whether the passenger survived.
    pub survived: Option<bool>,
    /// Ticket class (a 32-bit integer).
    pub passenger_class: Option<i64>,
    /// Full name, at most 150 characters.
    pub name: Option<String>,
    /// Sex, at most 6 characters.
    pub sex: Option<String>,
    /// Age in years.
    pub age: Option<f64>,
    /// Number of siblings or spouses aboard.
    pub siblings_or_spouses_aboard: Option<i64>,
    /// Number of parents or children aboard.
    pub parents_or_children_aboard: Option<i64>,
    /// Ticket fare.
    pub fare: Option<f64>,
}

/// `value` as a 32-bit integer, or an error naming `field`. Inputs take 64-bit integers so that
/// an out-of-range value is reported by field, like every other rule.
fn int32(field: &str, value: Option<i64>) -> Result<Option<i32>, ValidationError> {
    value
        .map(|v| {
            i32::try_from(v).map_err(|_| {
                ValidationError::new(field, format!("must be a 32-bit integer (-2147483648 to 2147483647), got {v}"))
            })
        })
        .transpose()
}

impl TryFrom<PassengerInput> for PassengerData {
    type Error = ValidationError;

    fn try_from(i: PassengerInput) -> Result<Self, ValidationError> {
        Ok(Self {
            survived: i.survived,
            passenger_class: int32("passengerClass", i.passenger_class)?,
            name: i.name,
            sex: i.sex,
            age: i.age,
            siblings_or_spouses_aboard: int32("siblingsOrSpousesAboard", i.siblings_or_spouses_aboard)?,
            parents_or_children_aboard: int32("parentsOrChildrenAboard", i.parents_or_children_aboard)?,
            fare: i.fare,
        })
    }
}

/// Some data fields of a passenger: an omitted field is left unchanged, an explicit null
/// clears it.
#[derive(InputObject, Debug, Default, Clone)]
#[graphql(name = "PassengerPatch")]
pub struct PassengerPatchInput {
    /// Whether the passenger survived.
    pub survived: MaybeUndefined<bool>,
    /// Ticket class.
    pub passenger_class: MaybeUndefined<i64>,
    /// Full name, at most 150 characters.
    pub name: MaybeUndefined<String>,
    /// Sex, at most 6 characters.
    pub sex: MaybeUndefined<String>,
    /// Age in years.
    pub age: MaybeUndefined<f64>,
    /// Number of siblings or spouses aboard.
    pub siblings_or_spouses_aboard: MaybeUndefined<i64>,
    /// Number of parents or children aboard.
    pub parents_or_children_aboard: MaybeUndefined<i64>,
    /// Ticket fare.
    pub fare: MaybeUndefined<f64>,
}

fn change<T>(v: MaybeUndefined<T>) -> Option<Option<T>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

fn change_int32(field: &str, v: MaybeUndefined<i64>) -> Result<Option<Option<i32>>, ValidationError> {
    change(v).map(|v| int32(field, v)).transpose()
}

impl TryFrom<PassengerPatchInput> for PassengerPatch {
    type Error = ValidationError;

    fn try_from(p: PassengerPatchInput) -> Result<Self, ValidationError> {
        Ok(Self {
            survived: change(p.survived),
            passenger_class: change_int32("passengerClass", p.passenger_class)?,
            name: change(p.name),
            sex: change(p.sex),
            age: change(p.age),
            siblings_or_spouses_aboard: change_int32("siblingsOrSpousesAboard", p.siblings_or_spouses_aboard)?,
            parents_or_children_aboard: change_int32("parentsOrChildrenAboard", p.parents_or_children_aboard)?,
            fare: change(p.fare),
        })
    }
}
