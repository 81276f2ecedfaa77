//! PostgreSQL's binary format of this table's column types, decoded in place from each value's
//! raw bytes: what sqlx's decoding does, without its type check per value.
//!
//! Both ways the service reads many rows from PostgreSQL hand their values over in this format:
//! sqlx's rows ([`row`]) and the fields of a binary `COPY` ([`super::pg_copy`]). Every step
//! answers a zero-sized [`NotBinary`] on failure, so that no intermediate result carries an
//! error value through memory: the decoders run for every value of a page.

use entity::passenger::Model;
use sea_orm::sqlx::postgres::{PgRow, PgValueFormat};
use sea_orm::sqlx::{Row as _, ValueRef as _};

/// The values are not in the binary format of this table's columns (the caller reads them
/// another way, which names what is wrong).
#[derive(Debug)]
pub struct NotBinary;

/// The most columns a row of the table has.
pub const MAX_COLUMNS: usize = 11;

/// The raw bytes of column `i` (`None` for NULL), unless the row is not in binary format.
#[inline(always)]
fn bytes(row: &PgRow, i: usize) -> Result<Option<&[u8]>, NotBinary> {
    match row.try_get_raw(i) {
        Ok(value) if value.format() == PgValueFormat::Binary => {
            if value.is_null() {
                return Ok(None);
            }
            value.as_bytes().map(Some).map_err(|_| NotBinary)
        }
        _ => Err(NotBinary),
    }
}

#[inline(always)]
fn fixed<const N: usize>(b: &[u8]) -> Result<[u8; N], NotBinary> {
    b.try_into().map_err(|_| NotBinary)
}

#[inline(always)]
fn int4(b: Option<&[u8]>) -> Result<Option<i32>, NotBinary> {
    b.map(|b| fixed(b).map(i32::from_be_bytes)).transpose()
}

#[inline(always)]
fn int8(b: Option<&[u8]>) -> Result<i64, NotBinary> {
    fixed(b.ok_or(NotBinary)?).map(i64::from_be_bytes)
}

#[inline(always)]
fn float8(b: Option<&[u8]>) -> Result<Option<f64>, NotBinary> {
    b.map(|b| fixed(b).map(f64::from_be_bytes)).transpose()
}

#[inline(always)]
fn boolean(b: Option<&[u8]>) -> Result<Option<bool>, NotBinary> {
    b.map(|b| fixed::<1>(b).map(|[v]| v != 0)).transpose()
}

#[inline(always)]
fn text(b: Option<&[u8]>) -> Result<Option<String>, NotBinary> {
    b.map(|b| std::str::from_utf8(b).map(str::to_owned).map_err(|_| NotBinary)).transpose()
}

#[inline(always)]
fn uuid(b: Option<&[u8]>) -> Result<uuid::Uuid, NotBinary> {
    fixed(b.ok_or(NotBinary)?).map(uuid::Uuid::from_bytes)
}

/// The model whose columns, in declaration order, are `fields` (`None` for NULL): the first
/// nine, ten or eleven of them; the insertion number and the version left out are 0.
#[inline(always)]
pub fn model(fields: &[Option<&[u8]>]) -> Result<Model, NotBinary> {
    if !(9..=MAX_COLUMNS).contains(&fields.len()) {
        return Err(NotBinary);
    }
    Ok(Model {
        uuid: uuid(fields[0])?,
        survived: boolean(fields[1])?,
        passenger_class: int4(fields[2])?,
        name: text(fields[3])?,
        sex: text(fields[4])?,
        age: float8(fields[5])?,
        siblings_or_spouses_aboard: int4(fields[6])?,
        parents_or_children_aboard: int4(fields[7])?,
        fare: float8(fields[8])?,
        seq: if fields.len() > 9 { int8(fields[9])? } else { 0 },
        version: if fields.len() > 10 { int8(fields[10])? } else { 0 },
    })
}

/// The sqlx row as a model; [`NotBinary`] when it is not in the binary format these decoders read.
pub fn row(row: &PgRow) -> Result<Model, NotBinary> {
    let width = row.len();
    if width > MAX_COLUMNS {
        return Err(NotBinary);
    }
    let mut fields = [None; MAX_COLUMNS];
    for (i, field) in fields.iter_mut().enumerate().take(width) {
        *field = bytes(row, i)?;
    }
    model(&fields[..width])
}
