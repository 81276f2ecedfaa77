//! Lenient parsing of legacy POST/PUT bodies into GraphQL variables.
//!
//! The legacy service handed JSON values to PostgreSQL as query parameters, so PostgreSQL's
//! casts decided what was accepted: numeric strings for numbers (`"27"`), boolean literals for
//! `survived` (`"yes"`, `"t"`, …), floats for integer columns (rounded half away from zero).
//! This module reproduces those coercions and turns everything the legacy service answered
//! with a 500 into a clear error naming the field. It checks types only; the data rules
//! (lengths, 32-bit range, finiteness) are the schema's.
//!
//! What a string may hold for each kind of field is a grammar written once, here, as a regular
//! expression ([`BOOLEAN_TEXT`], [`INTEGER_TEXT`], [`DECIMAL_TEXT`]); the parser follows it and
//! `GET /openapi.json` publishes it, and a test checks the two agree on random input, so the
//! published description is exactly what the route accepts.

use axum::http::{HeaderMap, header};
use serde_json::{Map, Value, json};

/// The eight fields a legacy body must carry, as (legacy key, GraphQL input field).
pub const FIELDS: [&str; 8] =
    ["survived", "passengerClass", "name", "sex", "age", "siblingsOrSpousesAboard", "parentsOrChildrenAboard", "fare"];

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// No JSON content type (415).
    UnsupportedMediaType,
    /// Not UTF-8, or not JSON at all (400 with the legacy generic page).
    Malformed,
    /// JSON of the wrong shape or type (400 naming the field).
    Invalid(String),
}

/// The whitespace PostgreSQL's input functions skip around a value (C `isspace`).
pub const SPACE: &[char] = &[' ', '\t', '\n', '\u{0b}', '\u{0c}', '\r'];

/// A boolean as text: PostgreSQL's `boolin` literals (any case, surrounding whitespace).
pub const BOOLEAN_TEXT: &str = r"^[ \t\n\x0B\f\r]*(1|0|[tT]([rR]([uU][eE]?)?)?|[yY]([eE][sS]?)?|[oO][nN]|[fF]([aA]([lL]([sS][eE]?)?)?)?|[nN][oO]?|[oO][fF][fF]?)[ \t\n\x0B\f\r]*$";

/// A 32-bit integer as text: optional sign, decimal digits (leading zeros allowed), within
/// -2147483648..=2147483647, surrounding whitespace allowed.
pub const INTEGER_TEXT: &str = concat!(
    r"^[ \t\n\x0B\f\r]*(\+?0*(",
    r"[0-9]{1,9}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}",
    r"|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7])",
    r"|-0*([0-9]{1,9}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}",
    r"|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-8]))[ \t\n\x0B\f\r]*$"
);

/// A finite decimal number as text: optional sign, up to 200 integer digits, an optional
/// fraction and an optional exponent of at most two digits, surrounding whitespace allowed.
pub const DECIMAL_TEXT: &str =
    r"^[ \t\n\x0B\f\r]*[+-]?([0-9]{1,200}(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,2})?[ \t\n\x0B\f\r]*$";

/// The open interval a JSON number for an integer field must lie in: it is rounded half away
/// from zero, as PostgreSQL's numeric-to-integer cast does, and must then fit 32 bits.
pub const INTEGER_NUMBER_BOUNDS: (f64, f64) = (-2_147_483_648.5, 2_147_483_647.5);

/// Prefix marking a bare `NaN`/`Infinity` token that was turned into a string so that it can
/// be reported by field instead of failing the whole document.
const NON_FINITE: char = '\u{0}';

/// Whether the request declares a JSON body (`application/json`, `application/*+json`, any
/// case, with parameters).
pub fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a legacy body into a `PassengerInput` JSON object.
pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Value, BodyError> {
    if !is_json(headers) {
        return Err(BodyError::UnsupportedMediaType);
    }
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let text = std::str::from_utf8(body).map_err(|_| BodyError::Malformed)?;
    let value: Value = serde_json::from_str(&mark_non_finite(text)).map_err(|_| BodyError::Malformed)?;
    let Value::Object(object) = value else {
        return Err(BodyError::Invalid(format!(
            "expected a JSON object with the passenger's fields, got {}",
            kind(&value)
        )));
    };
    passenger_input(&object)
}

fn passenger_input(object: &Map<String, Value>) -> Result<Value, BodyError> {
    let mut input = Map::new();
    for field in FIELDS {
        let value = object.get(field).ok_or_else(|| BodyError::Invalid(format!("{field}: missing")))?;
        let coerced = match field {
            "survived" => boolean(value),
            "name" | "sex" => text(value),
            "age" | "fare" => float(value),
            _ => integer(value),
        };
        input.insert(field.to_owned(), coerced.map_err(|problem| BodyError::Invalid(format!("{field}: {problem}")))?);
    }
    Ok(Value::Object(input))
}

/// `value` for an error message: JSON, with marked tokens shown bare, and long values cut.
fn shown(value: &Value) -> String {
    if let Value::String(s) = value
        && let Some(token) = s.strip_prefix(NON_FINITE)
    {
        return token.to_owned();
    }
    let mut text = value.to_string();
    if text.chars().count() > 60 {
        text = text.chars().take(57).collect::<String>() + "...";
    }
    text
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn text(value: &Value) -> Result<Value, String> {
    match value {
        Value::Null => Ok(Value::Null),
        Value::String(s) if !s.starts_with(NON_FINITE) => Ok(value.clone()),
        other => Err(format!("expected a string or null, got {}", shown(other))),
    }
}

fn float(value: &Value) -> Result<Value, String> {
    let parsed = match value {
        Value::Null => return Ok(Value::Null),
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s.starts_with(NON_FINITE) => {
            return Err(format!("must be a finite number, got {}", shown(value)));
        }
        Value::String(s) => decimal_text(s),
        _ => None,
    };
    match parsed {
        Some(f) if f.is_finite() => Ok(json!(f)),
        Some(_) => Err(format!("must be a finite number, got {}", shown(value))),
        None => Err(format!("expected a number, got {}", shown(value))),
    }
}

/// The value of a string that follows [`DECIMAL_TEXT`].
fn decimal_text(s: &str) -> Option<f64> {
    let t = s.trim_matches(SPACE);
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(whole)
        && whole.len() <= 200
        && fraction.is_none_or(digits)
        && (!whole.is_empty() || fraction.is_some_and(|f| !f.is_empty()));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        (1..=2).contains(&e.len()) && digits(e)
    });
    if mantissa_ok && exponent_ok { t.parse::<f64>().ok() } else { None }
}

/// The value of a string that follows [`INTEGER_TEXT`] (the range is checked by the schema's
/// input rules, which name the field).
fn integer_text(s: &str) -> Option<i64> {
    let t = s.trim_matches(SPACE);
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    (!unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse::<i64>().ok()).flatten()
}

fn integer(value: &Value) -> Result<Value, String> {
    let parsed = match value {
        Value::Null => return Ok(Value::Null),
        Value::Number(n) => n.as_i64().or_else(|| {
            // PostgreSQL's numeric-to-integer cast rounds half away from zero, like `round`.
            n.as_f64().map(f64::round).filter(|f| f.is_finite() && f.abs() < 9.2e18).map(|f| f as i64)
        }),
        Value::String(s) if !s.starts_with(NON_FINITE) => integer_text(s),
        _ => None,
    };
    parsed.map(Value::from).ok_or_else(|| format!("expected an integer, got {}", shown(value)))
}

fn boolean(value: &Value) -> Result<Value, String> {
    match value {
        Value::Null => Ok(Value::Null),
        Value::Bool(_) => Ok(value.clone()),
        Value::String(s) => {
            pg_bool(s).map(Value::Bool).ok_or_else(|| format!("expected a boolean, got {}", shown(value)))
        }
        other => Err(format!("expected a boolean, got {}", shown(other))),
    }
}

/// PostgreSQL's `boolin`: surrounding whitespace ignored, case-insensitive, `1`/`0`, and any
/// unambiguous prefix of `true`, `false`, `yes`, `no`, `on`, `off` (`on`/`off` need two letters).
pub fn pg_bool(s: &str) -> Option<bool> {
    let s = s.trim_matches(SPACE).to_ascii_lowercase();
    let prefix_of = |word: &str, min: usize| s.len() >= min && word.starts_with(s.as_str());
    if s == "1" || prefix_of("true", 1) || prefix_of("yes", 1) || prefix_of("on", 2) {
        Some(true)
    } else if s == "0" || prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) {
        Some(false)
    } else {
        None
    }
}

/// Replaces the bare tokens `NaN`, `Infinity` and `-Infinity` (which Python's JSON parser
/// accepts) outside strings with marked strings, so that they can be refused by field.
fn mark_non_finite(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if let Some(token) = ["NaN", "Infinity", "-Infinity"].into_iter().find(|t| rest.starts_with(t)) {
            out.push_str("\"\\u0000");
            out.push_str(token);
            out.push('"');
            rest = &rest[token.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        h
    }

    fn parse_json(body: &str) -> Result<Value, BodyError> {
        parse(&headers("application/json"), body.as_bytes())
    }

    fn body_with(field: &str, value: &str) -> String {
        let mut fields: Vec<String> = FIELDS.iter().filter(|f| **f != field).map(|f| format!("\"{f}\":null")).collect();
        fields.push(format!("\"{field}\":{value}"));
        format!("{{{}}}", fields.join(","))
    }

    fn coerced(field: &str, value: &str) -> Result<Value, BodyError> {
        parse_json(&body_with(field, value)).map(|v| v[field].clone())
    }

    fn invalid(field: &str, value: &str) -> String {
        match coerced(field, value) {
            Err(BodyError::Invalid(message)) => message,
            other => panic!("{field}={value} should be invalid, got {other:?}"),
        }
    }

    #[test]
    fn content_types() {
        assert!(is_json(&headers("application/json; charset=utf-8")));
        assert!(is_json(&headers("APPLICATION/JSON")));
        assert!(is_json(&headers("application/vnd.api+json")));
        assert!(!is_json(&headers("text/plain")));
        assert!(!is_json(&headers("application/x-www-form-urlencoded")));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn lenient_coercions_follow_postgresql() {
        assert_eq!(coerced("age", "\"27\"").unwrap(), json!(27.0));
        assert_eq!(coerced("age", "27").unwrap(), json!(27.0));
        assert_eq!(coerced("passengerClass", "\"2\"").unwrap(), json!(2));
        assert_eq!(coerced("passengerClass", "2.0").unwrap(), json!(2));
        assert_eq!(coerced("passengerClass", "2.5").unwrap(), json!(3));
        assert_eq!(coerced("passengerClass", "-2.5").unwrap(), json!(-3));
        assert_eq!(coerced("passengerClass", "2147483648").unwrap(), json!(2_147_483_648_i64));
        for yes in ["\"yes\"", "\"1\"", "\"t\"", "\"TRUE\"", "\" on \"", "\"y\""] {
            assert_eq!(coerced("survived", yes).unwrap(), json!(true), "{yes}");
        }
        for no in ["\"no\"", "\"0\"", "\"f\"", "\"off\"", "\"FALSE\""] {
            assert_eq!(coerced("survived", no).unwrap(), json!(false), "{no}");
        }
    }

    #[test]
    fn wrong_types_name_the_field() {
        assert_eq!(invalid("age", "\"abc\""), "age: expected a number, got \"abc\"");
        assert_eq!(invalid("age", "\"\""), "age: expected a number, got \"\"");
        assert_eq!(invalid("age", "true"), "age: expected a number, got true");
        assert_eq!(invalid("age", "{\"v\":1}"), "age: expected a number, got {\"v\":1}");
        assert_eq!(invalid("age", "NaN"), "age: must be a finite number, got NaN");
        assert_eq!(invalid("fare", "Infinity"), "fare: must be a finite number, got Infinity");
        assert_eq!(invalid("fare", "-Infinity"), "fare: must be a finite number, got -Infinity");
        assert_eq!(invalid("survived", "1"), "survived: expected a boolean, got 1");
        assert_eq!(invalid("survived", "\"o\""), "survived: expected a boolean, got \"o\"");
        assert_eq!(invalid("name", "123"), "name: expected a string or null, got 123");
        assert_eq!(invalid("name", "[\"List-Name\"]"), "name: expected a string or null, got [\"List-Name\"]");
        assert_eq!(invalid("passengerClass", "\"2.5\""), "passengerClass: expected an integer, got \"2.5\"");
    }

    /// What the parser accepts as text for a field kind, and what the published grammar says.
    fn agree(grammar: &str, accepts: impl Fn(&str) -> bool, text: &str) {
        let re = regex::Regex::new(grammar).unwrap();
        assert_eq!(accepts(text), re.is_match(text), "{text:?} against {grammar}");
    }

    fn grammar(pattern: &str) -> proptest::string::RegexGeneratorStrategy<String> {
        proptest::string::string_regex(pattern.trim_start_matches('^').trim_end_matches('$')).unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn the_published_grammars_are_exactly_what_the_parser_accepts(
            noise in grammar(r"[ \t\n\x0B\x0C\r\u{a0}+.0-9eEtTrRuUyYsSoOnNfFaAlL x-]{0,14}"),
            integer in grammar(INTEGER_TEXT),
            decimal in grammar(DECIMAL_TEXT),
            boolean in grammar(BOOLEAN_TEXT),
            digits in grammar(r"[+-]?0{0,3}[0-9]{9,11}"),
        ) {
            let int32 = |s: &str| integer_text(s).is_some_and(|v| i32::try_from(v).is_ok());
            let decimal_ok = |s: &str| decimal_text(s).is_some_and(f64::is_finite);
            let boolean_ok = |s: &str| pg_bool(s).is_some();
            for text in [&noise, &integer, &decimal, &boolean, &digits] {
                agree(INTEGER_TEXT, int32, text);
                agree(DECIMAL_TEXT, decimal_ok, text);
                agree(BOOLEAN_TEXT, boolean_ok, text);
            }
        }
    }

    #[test]
    fn integer_bounds_are_the_32_bit_range_after_rounding() {
        assert_eq!(coerced("passengerClass", "2147483647.4").unwrap(), json!(2_147_483_647));
        assert_eq!(coerced("passengerClass", "2147483647.5").unwrap(), json!(2_147_483_648_i64));
        assert!(integer_text("2147483647").is_some() && integer_text(" -2147483648 ").is_some());
        assert!(regex::Regex::new(INTEGER_TEXT).unwrap().is_match("-2147483648"));
        assert!(!regex::Regex::new(INTEGER_TEXT).unwrap().is_match("2147483648"));
    }

    #[test]
    fn shapes() {
        assert_eq!(
            parse_json("[]"),
            Err(BodyError::Invalid("expected a JSON object with the passenger's fields, got an array".into()))
        );
        assert_eq!(parse_json("{}"), Err(BodyError::Invalid("survived: missing".into())));
        assert_eq!(parse_json("{\"name\""), Err(BodyError::Malformed));
        assert_eq!(parse_json(""), Err(BodyError::Malformed));
        assert_eq!(parse(&headers("application/json"), b"\xff\xfe"), Err(BodyError::Malformed));
        assert_eq!(parse(&HeaderMap::new(), b"{}"), Err(BodyError::UnsupportedMediaType));
        let with_bom = format!("\u{feff}{}", body_with("name", "\"Bom\""));
        assert_eq!(parse_json(&with_bom).unwrap()["name"], json!("Bom"));
        let dup = body_with("name", "\"First\"").replace('}', ",\"name\":\"Second\"}");
        assert_eq!(parse_json(&dup).unwrap()["name"], json!("Second"));
        assert_eq!(coerced("name", "\"NaN Infinity\"").unwrap(), json!("NaN Infinity"));
    }
}
