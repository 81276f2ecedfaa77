//! `Int` is a 32-bit type: every `Int` argument value of an operation is checked before
//! anything runs.
//!
//! async-graphql validates an `Int` literal as any 64-bit integer and leaves the 32-bit range
//! to the resolver that reads the argument, so `passenger(id: …) { namesakes(first:
//! 99999999999) { id } }` passes silently when the passenger does not exist. Here every
//! argument — literal or variable, inside lists and input objects — is checked against the
//! types of the schema (read from its SDL once), and a value out of range is a
//! `BAD_USER_INPUT` error naming the argument, as the resolvers name it.

use std::collections::HashMap;

use async_graphql::parser::types::{
    BaseType, ExecutableDocument, OperationType, Selection, SelectionSet, Type, TypeKind, TypeSystemDefinition,
};
use async_graphql::{Name, ServerError, Value, Variables};

use super::error::bad_input;

/// A field's arguments and the named type it returns.
#[derive(Debug, Default)]
struct FieldTypes {
    arguments: HashMap<String, Type>,
    returns: String,
}

/// The argument and input types of a schema.
#[derive(Debug, Default)]
pub struct InputTypes {
    fields: HashMap<(String, String), FieldTypes>,
    inputs: HashMap<String, HashMap<String, Type>>,
}

fn base_name(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => base_name(inner),
    }
}

impl InputTypes {
    /// Reads the types from the schema's SDL.
    pub fn from_sdl(sdl: &str) -> Self {
        let mut types = Self::default();
        let Ok(doc) = async_graphql::parser::parse_schema(sdl) else {
            return types;
        };
        for definition in doc.definitions {
            let TypeSystemDefinition::Type(t) = definition else { continue };
            let owner = t.node.name.node.to_string();
            match t.node.kind {
                TypeKind::Object(o) => {
                    for f in o.fields {
                        let f = f.node;
                        let arguments =
                            f.arguments.into_iter().map(|a| (a.node.name.node.to_string(), a.node.ty.node)).collect();
                        let returns = base_name(&f.ty.node).to_owned();
                        types
                            .fields
                            .insert((owner.clone(), f.name.node.to_string()), FieldTypes { arguments, returns });
                    }
                }
                TypeKind::Interface(i) => {
                    for f in i.fields {
                        let f = f.node;
                        let arguments =
                            f.arguments.into_iter().map(|a| (a.node.name.node.to_string(), a.node.ty.node)).collect();
                        let returns = base_name(&f.ty.node).to_owned();
                        types
                            .fields
                            .insert((owner.clone(), f.name.node.to_string()), FieldTypes { arguments, returns });
                    }
                }
                TypeKind::InputObject(o) => {
                    let fields = o.fields.into_iter().map(|f| (f.node.name.node.to_string(), f.node.ty.node)).collect();
                    types.inputs.insert(owner, fields);
                }
                _ => {}
            }
        }
        types
    }

    /// Checks every `Int` argument value of the operation `name` (the only one when `None`).
    pub fn check(
        &self,
        doc: &ExecutableDocument,
        name: Option<&str>,
        variables: &Variables,
    ) -> Result<(), ServerError> {
        let mut operations = doc.operations.iter();
        let found = match name {
            Some(name) => operations.find(|(n, _)| n.is_some_and(|n| n.as_str() == name)),
            None => operations.next(),
        };
        let Some((_, operation)) = found else { return Ok(()) };
        let root = match operation.node.ty {
            OperationType::Query => "Query",
            OperationType::Mutation => "Mutation",
            OperationType::Subscription => "Subscription",
        };
        // Variables as the operation sees them: the value sent, else the declared default.
        let mut values: HashMap<Name, Value> = HashMap::new();
        for definition in &operation.node.variable_definitions {
            let name = &definition.node.name.node;
            let value =
                variables.get(name).cloned().or_else(|| definition.node.default_value.as_ref().map(|d| d.node.clone()));
            if let Some(value) = value {
                values.insert(name.clone(), value);
            }
        }
        let mut walk = Walk { types: self, doc, variables: &values, stack: Vec::new() };
        walk.selection(&operation.node.selection_set.node, root)
    }
}

struct Walk<'a> {
    types: &'a InputTypes,
    doc: &'a ExecutableDocument,
    variables: &'a HashMap<Name, Value>,
    stack: Vec<&'a str>,
}

impl<'a> Walk<'a> {
    fn selection(&mut self, set: &'a SelectionSet, parent: &str) -> Result<(), ServerError> {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    if name.starts_with("__") {
                        continue;
                    }
                    let Some(types) = self.types.fields.get(&(parent.to_owned(), name.to_owned())) else {
                        continue; // not a field of this type: validation refuses it
                    };
                    for (argument, value) in &field.node.arguments {
                        let Some(ty) = types.arguments.get(argument.node.as_str()) else { continue };
                        let Ok(value) =
                            value.node.clone().into_const_with(|v| self.variables.get(&v).cloned().ok_or(()))
                        else {
                            continue; // an undefined variable: validation refuses it
                        };
                        let is_object =
                            matches!(&ty.base, BaseType::Named(n) if self.types.inputs.contains_key(n.as_str()));
                        let path = if is_object { String::new() } else { argument.node.to_string() };
                        self.value(&value, ty, path).map_err(|e| e.into_server_error(field.pos))?;
                    }
                    let returns = types.returns.clone();
                    self.selection(&field.node.selection_set.node, &returns)?;
                }
                Selection::InlineFragment(fragment) => {
                    let on = fragment.node.type_condition.as_ref().map_or(parent, |c| c.node.on.node.as_str());
                    let on = on.to_owned();
                    self.selection(&fragment.node.selection_set.node, &on)?;
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if self.stack.contains(&name) {
                        continue;
                    }
                    if let Some(fragment) = self.doc.fragments.get(name) {
                        self.stack.push(name);
                        let on = fragment.node.type_condition.node.on.node.to_string();
                        self.selection(&fragment.node.selection_set.node, &on)?;
                        self.stack.pop();
                    }
                }
            }
        }
        Ok(())
    }

    fn value(&self, value: &Value, ty: &Type, path: String) -> Result<(), async_graphql::Error> {
        match (&ty.base, value) {
            (_, Value::Null) => Ok(()),
            (BaseType::List(inner), Value::List(items)) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(item, inner, format!("{path}[{i}]"))?;
                }
                Ok(())
            }
            (BaseType::List(inner), single) => self.value(single, inner, path),
            (BaseType::Named(name), Value::Number(n)) if name.as_str() == "Int" => match n.as_i64() {
                Some(v) if i32::try_from(v).is_ok() => Ok(()),
                Some(v) => Err(out_of_range(&path, &v.to_string())),
                None if n.is_u64() => Err(out_of_range(&path, &n.to_string())),
                None => Ok(()), // not an integer: validation refuses it
            },
            (BaseType::Named(name), Value::Object(fields)) => {
                let Some(declared) = self.types.inputs.get(name.as_str()) else { return Ok(()) };
                for (key, item) in fields {
                    if let Some(ty) = declared.get(key.as_str()) {
                        let path = if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
                        self.value(item, ty, path)?;
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

fn out_of_range(path: &str, value: &str) -> async_graphql::Error {
    bad_input(path, format!("must be a 32-bit integer (-2147483648 to 2147483647), got {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(query: &str, variables: serde_json::Value) -> Result<(), String> {
        let types = InputTypes::from_sdl(&crate::graphql::sdl());
        let doc = async_graphql::parser::parse_query(query).unwrap();
        types.check(&doc, None, &Variables::from_json(variables)).map_err(|e| e.message)
    }

    #[test]
    fn an_out_of_range_int_is_refused_even_where_no_resolver_would_read_it() {
        let null_parent =
            r#"{ passenger(id: "00000000-0000-0000-0000-000000000000") { namesakes(first: -31930491254) { id } } }"#;
        assert_eq!(
            check(null_parent, serde_json::json!({})),
            Err("first: must be a 32-bit integer (-2147483648 to 2147483647), got -31930491254".into())
        );
        let by_variable = "query($n: Int) { passengers(first: $n) { totalCount } }";
        assert!(check(by_variable, serde_json::json!({ "n": 4_000_000_000_i64 })).is_err());
        assert!(check(by_variable, serde_json::json!({ "n": 40 })).is_ok());
        let nested = "{ passengers(filter: { or: [{ passengerClass: { in: [1, 3000000000] } }] }) { totalCount } }";
        assert_eq!(
            check(nested, serde_json::json!({})),
            Err("or[0].passengerClass.in[1]: must be a 32-bit integer (-2147483648 to 2147483647), got 3000000000"
                .into())
        );
        let input = "mutation { createPassenger(input: { passengerClass: 2147483648 }) { id } }";
        assert_eq!(
            check(input, serde_json::json!({})),
            Err("passengerClass: must be a 32-bit integer (-2147483648 to 2147483647), got 2147483648".into())
        );
        let many = "mutation($i: [PassengerInput!]!) { createPassengers(inputs: $i) { id } }";
        assert_eq!(
            check(many, serde_json::json!({ "i": [{}, { "siblingsOrSpousesAboard": -2147483649_i64 }] })),
            Err("inputs[1].siblingsOrSpousesAboard: must be a 32-bit integer (-2147483648 to 2147483647), got -2147483649"
                .into())
        );
    }

    #[test]
    fn floats_may_be_large() {
        assert!(
            check("{ passengers(filter: { fare: { gt: 100000000000 } }) { totalCount } }", serde_json::json!({}))
                .is_ok()
        );
    }
}
