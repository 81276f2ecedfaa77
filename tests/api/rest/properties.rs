//! Property tests of the legacy JSON encoder and the lenient body parser.

use async_graphql::Value as GqlValue;
use passenger_api::rest::{body, legacy_json};
use proptest::prelude::*;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::Value;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encoded_output_parses_back_to_the_same_value(value in json_value()) {
        let encoded = legacy_json::encode(&GqlValue::from_json(value.clone()).unwrap());
        prop_assert!(encoded.is_ascii());
        prop_assert_eq!(encoded.last(), Some(&b'\n'));
        let decoded: Value = serde_json::from_slice(&encoded).unwrap();
        prop_assert_eq!(decoded, value);
    }

    #[test]
    fn the_body_parser_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "application/json".parse().unwrap());
        let _ = body::parse(&headers, &bytes);
    }

    #[test]
    fn the_body_parser_never_panics_on_arbitrary_json(value in json_value(), field in 0usize..8) {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "application/json".parse().unwrap());
        let mut object = serde_json::Map::new();
        for f in body::FIELDS {
            object.insert(f.to_owned(), Value::Null);
        }
        object.insert(body::FIELDS[field].to_owned(), value.clone());
        let _ = body::parse(&headers, Value::Object(object).to_string().as_bytes());
        let _ = body::parse(&headers, value.to_string().as_bytes());
    }
}

/// Floats match Python's `repr` for random finite doubles, with CPython itself as the oracle.
#[test]
fn floats_match_python_repr_for_random_doubles() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut values: Vec<f64> =
        (0..5000).map(|_| any::<f64>().new_tree(&mut runner).unwrap().current()).filter(|f| f.is_finite()).collect();
    values.extend([
        0.1,
        1e16,
        1e-5,
        123456.789,
        5e-324,
        1.7976931348623157e308,
        -0.0,
        9007199254740993.0,
        1e22,
        0.0001,
        0.00001,
    ]);
    let input: String = values.iter().map(|f| format!("{:016x}\n", f.to_bits())).collect();
    let script = "import sys, struct\nfor line in sys.stdin:\n    print(repr(struct.unpack('>d', bytes.fromhex(line.strip()))[0]))\n";
    let child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("NOTE: python3 is not installed; the Python repr oracle test checks nothing here");
        return;
    };
    use std::io::Write;
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let expected = String::from_utf8(output.stdout).unwrap();
    for (value, repr) in values.iter().zip(expected.lines()) {
        let mut ours = String::new();
        legacy_json::write_float(&mut ours, *value);
        assert_eq!(ours, repr, "bits {:016x}", value.to_bits());
    }
    assert_eq!(expected.lines().count(), values.len());
}
