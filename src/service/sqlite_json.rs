//! Reading back the JSON text an SQLite page is read as (see `passenger::fetch`).
//!
//! The text has one fixed shape, written by SQLite's JSON functions: an array of rows, each an
//! array of the hex id, the survival flag, the class, the name, the sex, the age in two values,
//! the two counts, the fare in two values, and then the insertion number and the version when
//! the page reads them; every value an integer, a string or null. It is read here by a reader
//! made for that shape: serde_json's generic one, with a visitor call per value, took about a
//! tenth of the server's time for the full list on SQLite (`perf`). Anything else in the text
//! is an error, as it was with serde.

use std::borrow::Cow;

use entity::passenger::Model;

use super::ServiceError;

/// 2⁻⁶².
const FRACTION_UNIT: f64 = 1.0 / 4_611_686_018_427_387_904.0;

/// The first value of a float: its integer part, or the whole value read from the text of a
/// scaled one.
enum Whole {
    /// The integer part; the second value holds the fraction.
    Part(i64),
    /// The whole value, read from its scaled parts.
    Exact(f64),
}

/// The float written as `whole` and `fraction`; exact, as the sum's exact value is a double.
fn float(whole: Option<Whole>, fraction: Option<i64>) -> Option<f64> {
    match whole? {
        Whole::Part(i) => Some(i as f64 + fraction.unwrap_or(0) as f64 * FRACTION_UNIT),
        Whole::Exact(f) => Some(f),
    }
}

/// `"e i f"` read as `(i + f / 2⁶²) · 2^e`, exactly: the sum is the scaled value, and the
/// scaling happens in two halves so that no factor leaves the range of normal doubles.
fn scaled(text: &str) -> Option<f64> {
    let mut parts = text.split(' ');
    let mut next = || parts.next()?.parse::<i64>().ok();
    let (e, i, f) = (next()?, next()?, next()?);
    let power = |n: i64| (-1022..=1023).contains(&n).then(|| f64::from_bits(((n + 1023) as u64) << 52));
    Some(float(Some(Whole::Part(i)), Some(f))? * power(e / 2)? * power(e - e / 2)?)
}

/// The text is not a page of the expected shape.
struct Malformed;

/// A position in the page's text.
struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    /// The next byte that is not JSON whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.at) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.at += 1;
        }
        None
    }

    /// Consumes `b`, which must come next.
    fn expect(&mut self, b: u8) -> Result<(), Malformed> {
        if self.peek() != Some(b) {
            return Err(Malformed);
        }
        self.at += 1;
        Ok(())
    }

    /// Consumes `null` if it comes next.
    fn null(&mut self) -> bool {
        let found = self.peek() == Some(b'n') && self.text.as_bytes()[self.at..].starts_with(b"null");
        if found {
            self.at += 4;
        }
        found
    }

    /// An integer (no fraction, no exponent) that fits in an `i64`.
    fn integer(&mut self) -> Result<i64, Malformed> {
        let bytes = self.text.as_bytes();
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let start = self.at;
        let mut value: i64 = 0;
        while let Some(&b) = bytes.get(self.at).filter(|b| b.is_ascii_digit()) {
            let digit = i64::from(b - b'0');
            // Accumulated as a negative number, whose range holds i64::MIN.
            value = value.checked_mul(10).and_then(|v| v.checked_sub(digit)).ok_or(Malformed)?;
            self.at += 1;
        }
        if self.at == start || matches!(bytes.get(self.at), Some(b'.' | b'e' | b'E')) {
            return Err(Malformed);
        }
        if negative { Ok(value) } else { value.checked_neg().ok_or(Malformed) }
    }

    /// An integer or null.
    fn optional_integer(&mut self) -> Result<Option<i64>, Malformed> {
        if self.null() { Ok(None) } else { self.integer().map(Some) }
    }

    /// A 32-bit integer or null.
    fn optional_i32(&mut self) -> Result<Option<i32>, Malformed> {
        self.optional_integer()?.map(|v| i32::try_from(v).map_err(|_| Malformed)).transpose()
    }

    /// A string, borrowed from the text unless it has escapes to undo.
    fn string(&mut self) -> Result<Cow<'a, str>, Malformed> {
        self.expect(b'"')?;
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut escaped = false;
        loop {
            match bytes.get(self.at) {
                None => return Err(Malformed),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    self.at += 2;
                }
                Some(_) => self.at += 1,
            }
        }
        self.at += 1;
        // Quotes and backslashes are ASCII: the slices fall on character boundaries.
        if escaped {
            let quoted = self.text.get(start - 1..self.at).ok_or(Malformed)?;
            serde_json::from_str::<String>(quoted).map(Cow::Owned).map_err(|_| Malformed)
        } else {
            self.text.get(start..self.at - 1).map(Cow::Borrowed).ok_or(Malformed)
        }
    }

    /// A string or null.
    fn optional_string(&mut self) -> Result<Option<String>, Malformed> {
        if self.null() { Ok(None) } else { self.string().map(|s| Some(s.into_owned())) }
    }

    /// The first value of a float, or null.
    fn whole(&mut self) -> Result<Option<Whole>, Malformed> {
        match self.peek() {
            Some(b'"') => Ok(Some(Whole::Exact(scaled(&self.string()?).ok_or(Malformed)?))),
            _ => Ok(self.optional_integer()?.map(Whole::Part)),
        }
    }

    /// A `,` then the next value of a row.
    fn then(&mut self) -> Result<&mut Self, Malformed> {
        self.expect(b',')?;
        Ok(self)
    }

    /// One row; the insertion number and the version are 0 when the page left them out.
    fn row(&mut self) -> Result<Model, Malformed> {
        self.expect(b'[')?;
        let id = self.string()?;
        let uuid = uuid::Uuid::try_parse(&id).map_err(|_| Malformed)?;
        let survived = self.then()?.optional_integer()?.map(|s| s != 0);
        let passenger_class = self.then()?.optional_i32()?;
        let name = self.then()?.optional_string()?;
        let sex = self.then()?.optional_string()?;
        let age = self.then()?.whole()?;
        let age = float(age, self.then()?.optional_integer()?);
        let siblings_or_spouses_aboard = self.then()?.optional_i32()?;
        let parents_or_children_aboard = self.then()?.optional_i32()?;
        let fare = self.then()?.whole()?;
        let fare = float(fare, self.then()?.optional_integer()?);
        let mut rest = [0i64; 2];
        for value in &mut rest {
            if self.peek() != Some(b',') {
                break;
            }
            *value = self.then()?.integer()?;
        }
        self.expect(b']')?;
        Ok(Model {
            uuid,
            survived,
            passenger_class,
            name,
            sex,
            age,
            siblings_or_spouses_aboard,
            parents_or_children_aboard,
            fare,
            seq: rest[0],
            version: rest[1],
        })
    }

    /// The whole page.
    fn page(&mut self) -> Result<Vec<Model>, Malformed> {
        self.expect(b'[')?;
        // About 150 bytes of text per row: room for all of them up front.
        let mut rows = Vec::with_capacity(self.text.len() / 128);
        if self.peek() == Some(b']') {
            self.at += 1;
        } else {
            loop {
                rows.push(self.row()?);
                match self.peek() {
                    Some(b',') => self.at += 1,
                    Some(b']') => {
                        self.at += 1;
                        break;
                    }
                    _ => return Err(Malformed),
                }
            }
        }
        if self.peek().is_some() {
            return Err(Malformed);
        }
        Ok(rows)
    }
}

/// The rows of a page's text.
pub fn models(text: &str) -> Result<Vec<Model>, ServiceError> {
    Reader { text, at: 0 }
        .page()
        .map_err(|Malformed| ServiceError::from(sea_orm::DbErr::Type("unreadable page from SQLite".to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "67E55044-10B1-426F-9247-BB680E5FE0C8";

    fn row(text: &str) -> Model {
        let rows = models(&format!("[{text}]")).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(rows.len(), 1);
        rows.into_iter().next().unwrap()
    }

    #[test]
    fn every_value_is_read_from_its_place() {
        let r = row(&format!(r#"["{ID}",1,3,"Mr. Owen Harris Braund","male",22,0,1,0,7,1152921504606846976,17,4]"#));
        assert_eq!(r.uuid.to_string(), ID.to_lowercase());
        assert_eq!(r.survived, Some(true));
        assert_eq!(r.passenger_class, Some(3));
        assert_eq!(r.name.as_deref(), Some("Mr. Owen Harris Braund"));
        assert_eq!(r.sex.as_deref(), Some("male"));
        assert_eq!(r.age, Some(22.0));
        assert_eq!((r.siblings_or_spouses_aboard, r.parents_or_children_aboard), (Some(1), Some(0)));
        assert_eq!(r.fare, Some(7.25));
        assert_eq!((r.seq, r.version), (17, 4));
        let short = row(&format!(r#"["{ID}",0,null,null,null,null,null,null,null,null,null]"#));
        assert_eq!(short.survived, Some(false));
        assert_eq!((short.name, short.age, short.fare, short.seq, short.version), (None, None, None, 0, 0));
        let ten = row(&format!(r#"[ "{ID}" , null,1,"","",-3,-1,-2147483648,2147483647,0,0, 9 ]"#));
        assert_eq!((ten.name.as_deref(), ten.seq, ten.version), (Some(""), 9, 0));
        assert_eq!(ten.age, Some(-3.0 - FRACTION_UNIT));
        assert_eq!(ten.siblings_or_spouses_aboard, Some(i32::MIN));
    }

    #[test]
    fn strings_are_unescaped_as_json_defines() {
        let name = r#""Zoë \"Ship\" 🚢 \\ \n\t\u0001 \ud83d\udea2 \/""#;
        let r = row(&format!(r#"["{ID}",null,null,{name},"",null,null,null,null,null,null]"#));
        assert_eq!(r.name.as_deref(), Some("Zoë \"Ship\" 🚢 \\ \n\t\u{1} 🚢 /"));
    }

    #[test]
    fn a_scaled_float_is_read_from_its_text() {
        let r = row(&format!(r#"["{ID}",null,null,null,null,"-64 1 0",0,null,null,"32 2 0",0]"#));
        assert_eq!(r.age, Some(2f64.powi(-64)));
        assert_eq!(r.fare, Some(2f64.powi(33)));
    }

    #[test]
    fn anything_but_a_page_is_an_error() {
        let good = format!(r#"["{ID}",1,3,"a","b",22,0,1,0,7,0]"#);
        assert!(models(&format!("[{good}]")).is_ok());
        assert_eq!(models("[]").unwrap(), []);
        let bad = [
            "null".to_owned(),
            "[".into(),
            format!("[{good}"),
            format!("[{good},]"),
            format!("[{good}] x"),
            good.replace(",3,", ",3.5,"),
            good.replace(",3,", ",1e3,"),
            good.replace(",3,", ",2147483648,"),
            good.replace(",22,", ",9223372036854775808,"),
            good.replace(",22,", ",-,"),
            good.replace(",22,", ",true,"),
            good.replace(",22,", r#","not a float","#),
            good.replace(r#""a""#, r#""unterminated"#),
            good.replace(r#""a""#, r#""bad \x escape""#),
            good.replace(ID, "not-an-id"),
            good.replace(",7,0]", ",7]"),
            good.replace(",7,0]", ",7,0,1,2,3]"),
        ];
        for text in bad {
            assert!(models(&format!("[{text}]")).is_err(), "{text}");
        }
        assert_eq!(row(&good.replace(",22,", ",-9223372036854775808,")).age, Some(i64::MIN as f64));
    }
}
