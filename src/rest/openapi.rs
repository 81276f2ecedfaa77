//! `GET /openapi.json`: the OpenAPI 3.1 description of the legacy routes, built from the code
//! that serves them — the body grammar of [`super::body`], the data rules of the entity, the
//! `Allow` sets and the status codes the handlers and middleware answer with — so it cannot
//! drift from what the routes accept.

use std::sync::OnceLock;

use entity::passenger::{NAME_MAX_CHARS, SEX_MAX_CHARS};
use serde_json::{Value, json};

use super::body::{BOOLEAN_TEXT, DECIMAL_TEXT, FIELDS, INTEGER_NUMBER_BOUNDS, INTEGER_TEXT};

/// The canonical lower-case uuid the legacy path converter accepted (anything else is a 404).
pub const UUID_PATTERN: &str = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

/// The document, built once.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| build().to_string())
}

fn html(description: &str) -> Value {
    json!({ "description": description, "content": { "text/html; charset=utf-8": { "schema": { "type": "string" } } } })
}

fn text(description: &str) -> Value {
    json!({ "description": description, "content": { "text/plain; charset=utf-8": { "schema": { "type": "string" } } } })
}

fn legacy_json(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

/// The answers every route can give besides its own.
fn common(responses: &mut serde_json::Map<String, Value>, database: bool, body: bool) {
    responses.insert("405".into(), html("Wrong method; the `Allow` header lists the right ones."));
    responses.insert("429".into(), text("Rate limit exceeded (`RATE_LIMIT_PER_SECOND`); see `Retry-After`."));
    responses.insert(
        "503".into(),
        json!({
            "description": "The database is unreachable, the request ran past its time limit (both: legacy-style page), or the server sheds load (plain text); see `Retry-After`.",
            "content": {
                "text/html; charset=utf-8": { "schema": { "type": "string" } },
                "text/plain; charset=utf-8": { "schema": { "type": "string" } }
            }
        }),
    );
    if database {
        responses.insert("401".into(), html("API tokens are configured and this request has no valid bearer token (writes; reads with `PROTECT_READS`)."));
        responses.insert("403".into(), html("Strict mode: this route's GraphQL operation is not on the allow-list."));
        responses.insert("500".into(), html("An unexpected server failure (logged)."));
    }
    if body {
        responses.insert("400".into(), html("Unparsable JSON, or a field of the wrong type or out of range (the page names the field). Nothing is written."));
        responses.insert("413".into(), text("The body exceeds `BODY_LIMIT_BYTES`."));
        responses.insert("415".into(), html("The Content-Type is not `application/json` (or `application/*+json`)."));
    }
}

fn operation(id: &str, summary: &str, own: Value, database: bool, body: Option<Value>) -> Value {
    let mut responses = own.as_object().cloned().unwrap_or_default();
    common(&mut responses, database, body.is_some());
    let mut op = json!({ "operationId": id, "summary": summary, "responses": responses });
    if let Some(schema) = body {
        op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": schema } } });
    }
    if database {
        op["security"] = json!([{}, { "bearer": [] }]);
    }
    op
}

fn uuid_parameter() -> Value {
    json!([{
        "name": "uuid",
        "in": "path",
        "required": true,
        "description": "Canonical lower-case hyphenated uuid; any other spelling is a 404, as on the legacy service.",
        "schema": { "type": "string", "pattern": UUID_PATTERN }
    }])
}

/// An optional request header parameter.
fn header(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "header", "required": false, "description": description, "schema": schema })
}

fn idempotency_key() -> Value {
    header(
        "Idempotency-Key",
        "Makes the write safe to retry: the first answer for the key is stored (24 hours by default) and every retry with the same key and the same request gets it back byte for byte, writing nothing. Scoped to the bearer token when tokens are configured.",
        json!({ "type": "string", "minLength": 1, "maxLength": crate::idempotency::MAX_KEY_LEN, "pattern": "^[\\x20-\\x7e]+$" }),
    )
}

fn if_match() -> Value {
    header(
        "If-Match",
        "Write only if the passenger is at the version this entity tag (from GET /getpassenger's ETag) names; otherwise 412 and nothing is written. `*`: only if the passenger exists.",
        json!({ "type": "string" }),
    )
}

/// `op` with the extra header `parameters` and the answers that come with them.
fn conditional(mut op: Value, parameters: Vec<Value>, extra: Value) -> Value {
    op["parameters"] = Value::Array(parameters);
    if let (Some(responses), Some(extra)) = (op["responses"].as_object_mut(), extra.as_object()) {
        responses.extend(extra.clone());
    }
    op
}

/// The answers an `Idempotency-Key` may bring.
fn idempotency_answers() -> Value {
    json!({
        "400": html("A malformed Idempotency-Key (empty, longer than 255 characters, not printable ASCII), or a malformed body. Nothing is written."),
        "409": html("A request with this Idempotency-Key is still running; retry after `Retry-After` seconds."),
        "422": html("This Idempotency-Key was used for a different request. Nothing is written.")
    })
}

/// The answers of a write with `Idempotency-Key` and `If-Match`.
fn precondition_answers() -> Value {
    let mut answers = idempotency_answers();
    answers["412"] =
        html("If-Match names another version of the passenger (or the passenger does not exist). Nothing is written.");
    answers
}

/// `response` with an `ETag` header.
fn etagged(mut response: Value) -> Value {
    response["headers"] = json!({ "ETag": { "description": "The passenger's version, as an entity tag (\"3\").", "schema": { "type": "string" } } });
    response
}

fn nullable_text(max: usize) -> Value {
    json!({ "type": ["string", "null"], "maxLength": max, "pattern": "^[^\\u0000]*$" })
}

/// What the body parser accepts for each of the eight fields.
fn body_field(field: &str) -> Value {
    match field {
        "survived" => json!({ "oneOf": [
            { "type": "boolean" },
            { "type": "string", "pattern": BOOLEAN_TEXT, "description": "a PostgreSQL boolean literal: t/true/yes/on/1, f/false/no/off/0 (any case, unambiguous prefixes)" },
            { "type": "null" }
        ] }),
        "name" => nullable_text(NAME_MAX_CHARS),
        "sex" => nullable_text(SEX_MAX_CHARS),
        "age" | "fare" => json!({
            "description": "finite only; NaN and Infinity are refused with 400; JSON integers are stored as floats (27 → 27.0)",
            "oneOf": [
                { "type": "number" },
                { "type": "string", "pattern": DECIMAL_TEXT, "description": "a decimal number, e.g. \"27\"" },
                { "type": "null" }
            ]
        }),
        _ => json!({
            "description": "a 32-bit integer; a non-integral number is rounded half away from zero (2.5 → 3), as PostgreSQL's cast did",
            "oneOf": [
                { "type": "number", "exclusiveMinimum": INTEGER_NUMBER_BOUNDS.0, "exclusiveMaximum": INTEGER_NUMBER_BOUNDS.1 },
                { "type": "string", "pattern": INTEGER_TEXT, "description": "a decimal integer, e.g. \"2\"" },
                { "type": "null" }
            ]
        }),
    }
}

fn build() -> Value {
    let body = json!({
        "type": "object",
        "description": "All eight keys are required (null allowed for each). Extra keys, including uuid, are ignored.",
        "required": FIELDS,
        "properties": FIELDS.iter().map(|f| ((*f).to_owned(), body_field(f))).collect::<serde_json::Map<_, _>>(),
    });
    let passenger = json!({
        "type": "object",
        "description": "A passenger, keys in the legacy (alphabetical) order. age and fare are always written with a decimal point or exponent (22.0, 1e-05).",
        "required": ["age", "fare", "name", "parentsOrChildrenAboard", "passengerClass", "sex", "siblingsOrSpousesAboard", "survived", "uuid"],
        "additionalProperties": false,
        "properties": {
            "age": { "type": ["number", "null"] },
            "fare": { "type": ["number", "null"] },
            "name": { "type": ["string", "null"], "maxLength": NAME_MAX_CHARS },
            "parentsOrChildrenAboard": { "type": ["integer", "null"], "format": "int32" },
            "passengerClass": { "type": ["integer", "null"], "format": "int32" },
            "sex": { "type": ["string", "null"], "maxLength": SEX_MAX_CHARS },
            "siblingsOrSpousesAboard": { "type": ["integer", "null"], "format": "int32" },
            "survived": { "type": ["boolean", "null"] },
            "uuid": { "type": "string", "format": "uuid" }
        }
    });
    let one = json!({ "oneOf": [{ "$ref": "#/components/schemas/Passenger" }, { "type": "null" }] });
    let list = json!({ "type": "array", "items": { "$ref": "#/components/schemas/Passenger" } });
    let null = json!({ "type": "null" });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "passenger-api legacy REST routes",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The seven routes of the original Flask service, served byte-for-byte by passenger-api's compatibility shim on top of its GraphQL API (POST /graphql). JSON bodies have alphabetically sorted keys, compact separators, a trailing newline, non-ASCII escaped as \\uXXXX."
        },
        "paths": {
            "/hello": { "get": operation("hello", "Health check", json!({ "201": legacy_json("Always 201.", json!({ "const": { "message": "ok" } })) }), false, None) },
            "/zero": { "get": operation("zero", "Legacy check", json!({ "201": legacy_json("Always 201.", json!({ "const": { "0": "" } })) }), false, None) },
            "/passengerlist": { "get": operation(
                "listPassengers",
                "Every passenger, unpaged, in insertion order (CSV order for the historical data). Query strings are ignored.",
                json!({ "200": legacy_json("The list.", list.clone()) }),
                true,
                None,
            ) },
            "/getpassenger/{uuid}": {
                "parameters": uuid_parameter(),
                "get": conditional(operation("getPassenger", "One passenger, or null when there is none. A passenger comes with an ETag naming its version.", json!({
                    "200": etagged(legacy_json("The passenger (with an ETag), or null.", one)),
                    "404": html("The uuid is not in canonical lower-case form.")
                }), true, None), vec![header(
                    "If-None-Match",
                    "An entity tag from an earlier answer: 304 without a body while the passenger is still at that version.",
                    json!({ "type": "string" }),
                )], json!({ "304": etagged(json!({ "description": "The passenger is still at the version the tag names; no body." })) }))
            },
            "/postpassenger": { "post": conditional(operation(
                "postPassenger",
                "Creates a passenger; answers every passenger with the same name (null-safe), oldest first.",
                json!({ "200": legacy_json("Every passenger with that name, oldest first; the new one is among them.", list) }),
                true,
                Some(json!({ "$ref": "#/components/schemas/PassengerBody" })),
            ), vec![idempotency_key()], idempotency_answers()) },
            "/putpassenger/{uuid}": {
                "parameters": uuid_parameter(),
                "put": conditional(operation("putPassenger", "Replaces all eight fields; null whether or not the passenger exists.", json!({
                    "200": etagged(legacy_json("Always null; an ETag names the new version when the passenger exists.", null.clone())),
                    "404": html("The uuid is not in canonical lower-case form.")
                }), true, Some(json!({ "$ref": "#/components/schemas/PassengerBody" }))), vec![idempotency_key(), if_match()], precondition_answers())
            },
            "/deletepassenger/{uuid}": {
                "parameters": uuid_parameter(),
                "delete": conditional(operation("deletePassenger", "Deletes a passenger; null whether or not it existed.", json!({
                    "200": legacy_json("Always null.", null),
                    "404": html("The uuid is not in canonical lower-case form.")
                }), true, None), vec![idempotency_key(), if_match()], precondition_answers())
            }
        },
        "components": {
            "schemas": { "Passenger": passenger, "PassengerBody": body },
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "Required for writes when API tokens are configured (and for reads with PROTECT_READS)." } }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_valid_json_with_every_route() {
        let doc: Value = serde_json::from_str(document()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["paths"].as_object().unwrap().len(), 7);
        assert_eq!(doc["components"]["schemas"]["PassengerBody"]["required"].as_array().unwrap().len(), 8);
    }
}
