//! JSON text in the two forms the service writes, straight from GraphQL values.
//!
//! - [`Standard`]: GraphQL responses — compact, keys in selection order, UTF-8 as is, floats in
//!   their shortest round-trip form (`22.0`, `1e+16`): byte for byte what serde_json writes.
//! - [`Legacy`]: what the legacy Flask service's `jsonify` produced — keys sorted, compact,
//!   non-ASCII escaped as `\uXXXX` (UTF-16 surrogate pairs beyond the BMP), floats in Python's
//!   `repr` form (`22.0`, `1e+16`, `1e-05`). serde_json differs on all of these.
//!
//! A `Value::Binary` inside a value holds text already written in the form being written (a
//! list the fast path encoded directly, see `graphql::fast`) and is copied verbatim.

use std::fmt::Write;

use async_graphql::Value;

/// One of the two text forms.
pub trait Form {
    /// Writes a JSON string.
    fn string(out: &mut String, s: &str);
    /// Writes a finite float (a non-finite one as `null`).
    fn float(out: &mut String, f: f64);
    /// Whether object keys are written in sorted order.
    const SORTED_KEYS: bool;
}

/// The standard form of GraphQL responses.
pub struct Standard;

/// The legacy Flask form.
pub struct Legacy;

impl Form for Standard {
    fn string(out: &mut String, s: &str) {
        write_standard_string(out, s);
    }

    fn float(out: &mut String, f: f64) {
        if write_integral(out, f) || write_short_decimal(out, f) {
            return;
        }
        if f.is_finite() {
            // The formatter serde_json uses, so both write the same bytes.
            out.push_str(zmij::Buffer::new().format_finite(f));
        } else {
            out.push_str("null");
        }
    }

    const SORTED_KEYS: bool = false;
}

impl Form for Legacy {
    fn string(out: &mut String, s: &str) {
        write_string(out, s);
    }

    fn float(out: &mut String, f: f64) {
        write_float(out, f);
    }

    const SORTED_KEYS: bool = true;
}

/// `value` as the legacy service would have sent it, trailing newline included.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = String::with_capacity(size_hint(value) + 1);
    write_value(&mut out, value);
    out.push('\n');
    out.into_bytes()
}

/// Appends `value` to `out` in the legacy form (no trailing newline).
pub fn write_value(out: &mut String, value: &Value) {
    write::<Legacy>(out, value);
}

/// About how many bytes [`write`] appends for `value`: exact for lists that arrived already
/// written, a guess for the rest. Reserving it first spares a large answer (a page of a
/// thousand passengers is some 200 kB) being copied over again on every doubling.
pub fn size_hint(value: &Value) -> usize {
    match value {
        Value::Binary(text) => text.len(),
        Value::String(s) => s.len() + 2,
        Value::List(items) => 2 + items.iter().map(|v| size_hint(v) + 1).sum::<usize>(),
        Value::Object(map) => 2 + map.iter().map(|(k, v)| k.len() + 4 + size_hint(v)).sum::<usize>(),
        _ => 8,
    }
}

/// Appends `value` to `out` in the form `F`.
pub fn write<F: Form>(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) if !n.is_f64() => out.push_str(itoa::Buffer::new().format(i)),
            (_, Some(u), _) if !n.is_f64() => out.push_str(itoa::Buffer::new().format(u)),
            (_, _, Some(f)) => F::float(out, f),
            _ => out.push_str("null"),
        },
        Value::String(s) => F::string(out, s),
        Value::Enum(e) => F::string(out, e.as_str()),
        Value::Binary(text) => out.push_str(std::str::from_utf8(text).unwrap_or("null")),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write::<F>(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // The shim's operations select keys in alphabetical order already; sort only when
            // the form wants it and they are not.
            let sorted = !F::SORTED_KEYS || map.keys().zip(map.keys().skip(1)).all(|(a, b)| a.as_str() <= b.as_str());
            out.push('{');
            let mut write_entry = |i: usize, key: &str, item: &Value| {
                if i > 0 {
                    out.push(',');
                }
                F::string(out, key);
                out.push(':');
                write::<F>(out, item);
            };
            if sorted {
                for (i, (key, item)) in map.iter().enumerate() {
                    write_entry(i, key.as_str(), item);
                }
            } else {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
                for (i, (key, item)) in entries.into_iter().enumerate() {
                    write_entry(i, key.as_str(), item);
                }
            }
            out.push('}');
        }
    }
}

/// A JSON string as serde_json writes it: `"` and `\\` escaped, control characters as
/// `\n`-style escapes or `\u00XX`, everything else (non-ASCII included) as is.
pub fn write_standard_string(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.push_str(&s[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A JSON string with Python's `ensure_ascii` escaping. Runs of printable ASCII are copied
/// whole; only the characters that need it are escaped one by one.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\' {
            continue;
        }
        if b & 0xC0 == 0x80 {
            continue; // a continuation byte of a character escaped at its first byte
        }
        out.push_str(&s[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                let c = s[i..].chars().next().unwrap_or('\u{fffd}');
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
        start = i + s[i..].chars().next().map_or(1, char::len_utf8);
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A float with an integral value below 10¹⁵ in magnitude, written as `22.0` (what Python's
/// repr, serde_json and Ryu all write for it) without running a float formatter; `false` for
/// any other value.
fn write_integral(out: &mut String, f: f64) -> bool {
    if f.abs() >= 1e15 || (f as i64) as f64 != f {
        return false; // too large, NaN, or with a fraction
    }
    if f == 0.0 && f.is_sign_negative() {
        out.push_str("-0.0");
    } else {
        out.push_str(itoa::Buffer::new().format(f as i64));
        out.push_str(".0");
    }
    true
}

/// A float of magnitude in [0.001, 10⁹) that a decimal of one to four places reads back as
/// (`7.25`, `71.2833`, `0.42`: most fares and ages), written as that decimal without running a
/// float formatter; `false` for any other value. Python's repr, Ryu and serde_json all write
/// the shortest digits that read back, in fixed notation in this range: the decimal with the
/// fewest places that reads back is those digits (the integer part is the float's own, and at
/// this magnitude no two decimals of four places read back as one float, so the four-place one
/// is found by rounding and its trailing zeros are the places to drop). A decimal reads back
/// when dividing its scaled integer (exact below 2⁵³) by the scale gives the float: division
/// is correctly rounded, as parsing is.
fn write_short_decimal(out: &mut String, f: f64) -> bool {
    let magnitude = f.abs();
    if !(1e-3..1e9).contains(&magnitude) {
        return false;
    }
    // Rounded to the nearest integer (the product is below 10¹³; the cast truncates).
    let scaled = (magnitude * 10_000.0 + 0.5) as u64;
    if scaled as f64 / 10_000.0 != magnitude {
        return false;
    }
    if f < 0.0 {
        out.push('-');
    }
    out.push_str(itoa::Buffer::new().format(scaled / 10_000));
    let mut digits = *b".0000";
    let mut fraction = scaled % 10_000;
    for digit in digits[1..].iter_mut().rev() {
        *digit = b'0' + (fraction % 10) as u8;
        fraction /= 10;
    }
    // At least one place: an integral value is not written here.
    let places = 4 - digits[2..].iter().rev().take_while(|&&d| d == b'0').count();
    out.push_str(std::str::from_utf8(&digits[..=places]).unwrap_or("."));
    true
}

/// A finite float as Python's `repr` writes it: the shortest digits that round-trip, in fixed
/// notation with at least one decimal when the decimal exponent is in [-4, 16), otherwise in
/// exponent notation with a signed exponent of at least two digits. No heap allocation.
pub fn write_float(out: &mut String, f: f64) {
    if !f.is_finite() {
        // Never stored (validation refuses them); keep the output valid JSON regardless.
        out.push_str("null");
        return;
    }
    if write_integral(out, f) || write_short_decimal(out, f) {
        return;
    }
    write_repr(out, f);
}

/// A finite float as [`write_float`] writes it, by way of Ryu.
fn write_repr(out: &mut String, f: f64) {
    // Ryu writes the shortest digits that round-trip, the closest to the exact value, ties to
    // even — the digits Python's repr picks — in a layout of its own ("1e16", "0.0001",
    // "1.2345e-7"), from which the digits and the decimal exponent are read back.
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(f);
    // Between 1e-4 and 1e16 Ryu's own layout is Python's ("22.0", "0.0001", "71.2833").
    let magnitude = f.abs();
    if magnitude == 0.0 || ((1e-4..1e16).contains(&magnitude) && !text.contains('e')) {
        out.push_str(text);
        return;
    }
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, shift) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // The significant digits (at most 17) and the exponent of the first one.
    let mut digits = [0u8; 40];
    let mut count = 0;
    let mut exponent = shift + whole.len() as i32 - 1;
    for b in whole.bytes().chain(fraction.bytes()) {
        if count == 0 && b == b'0' {
            exponent -= 1;
            continue;
        }
        if count < digits.len() {
            digits[count] = b;
            count += 1;
        }
    }
    while count > 1 && digits[count - 1] == b'0' {
        count -= 1;
    }
    if count == 0 {
        digits[0] = b'0';
        count = 1;
        exponent = 0;
    }
    let digits = std::str::from_utf8(&digits[..count]).unwrap_or("0");
    if negative {
        out.push('-');
    }
    if (-4..16).contains(&exponent) {
        let point = exponent + 1; // digits before the decimal point
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(digits);
        } else if point as usize >= digits.len() {
            out.push_str(digits);
            out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.abs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(f: f64) -> String {
        let mut s = String::new();
        write_float(&mut s, f);
        s
    }

    /// `f` as each form writes it, next to what its formatter alone writes (the Ryu path for
    /// the legacy form, serde_json for the standard one).
    fn written_and_formatted(f: f64) -> [(String, String); 2] {
        let (mut legacy, mut reference, mut standard) = (String::new(), String::new(), String::new());
        write_float(&mut legacy, f);
        write_repr(&mut reference, f);
        Standard::float(&mut standard, f);
        [(legacy, reference), (standard, serde_json::to_string(&f).unwrap())]
    }

    #[test]
    fn floats_look_like_python_repr() {
        for (value, repr) in [
            (22.0, "22.0"),
            (13.0, "13.0"),
            (71.2833, "71.2833"),
            (0.42, "0.42"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-1.0, "-1.0"),
            (-0.5, "-0.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e-5, "1e-05"),
            (1.234e-7, "1.234e-07"),
            (0.0001, "0.0001"),
            (123456789012345.6, "123456789012345.6"),
            (1e15, "1000000000000000.0"),
            (1e100, "1e+100"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::from_bits(0x431b_ae03_b3f4_9f71), "1947788824618972.2"),
        ] {
            assert_eq!(float(value), repr, "{value:?}");
        }
    }

    /// Every decimal of one to four places below 25,000 (a superset of the fares and ages the
    /// service holds), both signs, and the floats on either side of each: the short-decimal
    /// path writes what the formatters write.
    #[test]
    fn every_small_decimal_is_written_as_the_formatters_write_it() {
        for places in 1..=4 {
            // Every one of the first hundred thousand, a sample of the rest.
            for units in (0..100_000).chain((100_000..25_000 * 10i64.pow(places)).step_by(997)) {
                let decimal: f64 = format!("{units}e-{places}").parse().unwrap();
                for f in [
                    decimal,
                    -decimal,
                    f64::from_bits(decimal.to_bits() + 1),
                    f64::from_bits(decimal.to_bits().max(1) - 1),
                ] {
                    for (written, formatted) in written_and_formatted(f) {
                        assert_eq!(written, formatted, "{f:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn fares_and_ages_take_the_short_decimal_path() {
        for (f, text) in [(71.2833, "71.2833"), (7.25, "7.25"), (0.42, "0.42"), (-28.5, "-28.5"), (0.005, "0.005")] {
            let mut out = String::new();
            assert!(write_short_decimal(&mut out, f), "{f}");
            assert_eq!(out, text);
        }
        for f in [0.1 + 0.2, 1e9 + 0.5, 0.0005, 1.23456] {
            assert!(!write_short_decimal(&mut String::new(), f), "{f}");
        }
    }

    /// The escaping rule, one character at a time (the reference the fast writer must match).
    fn reference(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{08}' => out.push_str("\\b"),
                '\u{0c}' => out.push_str("\\f"),
                c if !(' '..='~').contains(&c) => {
                    for unit in c.encode_utf16(&mut [0u16; 2]) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    proptest::proptest! {
        #[test]
        fn standard_strings_are_what_serde_json_writes(s in "\\PC{0,40}|[\\x00-\\x7f\u{e9}\u{1F6A2}]{0,40}") {
            let mut out = String::new();
            write_standard_string(&mut out, &s);
            proptest::prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn standard_values_are_what_serde_json_writes(json in proptest::prelude::any::<(Option<f64>, i64, String, bool)>()) {
            let (f, i, s, b) = json;
            let value = serde_json::json!({ "f": f.filter(|f| f.is_finite()), "i": i, "s": s, "b": b, "l": [1, null, "x"] });
            let mut out = String::new();
            write::<Standard>(&mut out, &Value::from_json(value.clone()).unwrap());
            proptest::prop_assert_eq!(out, serde_json::to_string(&value).unwrap());
        }

        #[test]
        fn strings_are_escaped_as_the_reference_does(s in "\\PC{0,40}|[\\x00-\\x7f\u{e9}\u{1F6A2}\u{674e}]{0,40}") {
            let mut out = String::new();
            write_string(&mut out, &s);
            proptest::prop_assert_eq!(out, reference(&s));
        }

        /// The short-decimal path writes what the formatters write, for decimals of up to
        /// six places (the last two always go to the formatters) near and far from its bounds.
        #[test]
        fn short_decimals_are_what_the_formatters_write(
            mantissa in proptest::prelude::any::<u64>(),
            digits in 1u32..=13,
            places in 0u32..=6,
            negative in proptest::prelude::any::<bool>(),
            nudge in -2i64..=2,
        ) {
            let units = mantissa % 10u64.pow(digits); // of every magnitude alike
            let decimal: f64 = format!("{}{units}e-{places}", if negative { "-" } else { "" }).parse().unwrap();
            // The decimal itself, and the floats next to it (which no short decimal reads back as).
            // (Zero's neighbours below are NaN bit patterns: zero itself stands for them.)
            let nudged = f64::from_bits((decimal.to_bits() as i64).wrapping_add(nudge) as u64);
            let f = if nudged.is_finite() { nudged } else { decimal };
            for (written, formatted) in written_and_formatted(f) {
                proptest::prop_assert_eq!(written, formatted);
            }
        }

        #[test]
        fn any_float_is_written_as_the_formatters_write_it(bits in proptest::prelude::any::<u64>()) {
            let f = f64::from_bits(bits);
            proptest::prop_assume!(f.is_finite());
            for (written, formatted) in written_and_formatted(f) {
                proptest::prop_assert_eq!(written, formatted);
            }
        }

        #[test]
        fn floats_round_trip_and_match_the_reference_formatting(bits in proptest::prelude::any::<u64>()) {
            let f = f64::from_bits(bits);
            proptest::prop_assume!(f.is_finite());
            let written = float(f);
            proptest::prop_assert_eq!(written.parse::<f64>().unwrap().to_bits(), f.to_bits(), "{}", written);
            proptest::prop_assert!(written.contains('.') || written.contains('e'), "{}", written);
        }
    }

    #[test]
    fn the_size_hint_covers_an_answer_with_a_written_list() {
        let list = format!("[{}]", vec![r#"{"name":"Mr. Owen Harris Braund","age":22.0}"#; 1000].join(","));
        let value =
            Value::from_json(serde_json::json!({ "passengers": { "nodes": null, "totalCount": 887 } })).unwrap();
        let Value::Object(mut outer) = value else { unreachable!() };
        let Some(Value::Object(inner)) = outer.get_mut("passengers") else { unreachable!() };
        inner.insert(async_graphql::Name::new("nodes"), Value::Binary(list.clone().into_bytes().into()));
        let value = Value::Object(outer);
        let mut out = String::new();
        write::<Standard>(&mut out, &value);
        let hint = size_hint(&value);
        assert!(out.len() > list.len(), "{}", out.len());
        assert!(hint >= out.len() && hint <= out.len() + 32, "hint {hint} for {} bytes", out.len());
    }

    #[test]
    fn strings_escape_non_ascii_with_surrogate_pairs() {
        let mut s = String::new();
        write_string(&mut s, "Zoë Ångström-Łukasz 李雷 🚢");
        assert_eq!(s, r#""Zo\u00eb \u00c5ngstr\u00f6m-\u0141ukasz \u674e\u96f7 \ud83d\udea2""#);
        let mut s = String::new();
        write_string(&mut s, "a\"b\\c/%\n\u{1}\u{7f}");
        assert_eq!(s, r#""a\"b\\c/%\n\u0001\u007f""#);
    }

    #[test]
    fn objects_have_sorted_keys_compact_separators_and_a_trailing_newline() {
        let value =
            Value::from_json(serde_json::json!({ "uuid": "x", "age": 22.0, "name": null, "passengerClass": 3 }))
                .unwrap();
        assert_eq!(
            String::from_utf8(encode(&value)).unwrap(),
            "{\"age\":22.0,\"name\":null,\"passengerClass\":3,\"uuid\":\"x\"}\n"
        );
    }
}
