//! The committed `schema.graphql` is the public contract of the GraphQL API.

#[test]
fn committed_schema_graphql_matches_the_running_schema() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql at the repository root");
    let current = passenger_api::graphql::sdl();
    assert!(
        committed == current,
        "schema.graphql is out of date: run `cargo run -- schema > schema.graphql` and commit it"
    );
}

#[test]
fn every_type_field_argument_and_enum_value_has_a_description() {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let sdl = passenger_api::graphql::sdl();
    let doc = async_graphql::parser::parse_schema(&sdl).unwrap();
    let mut missing = Vec::new();
    let mut described = 0;
    let mut check = |what: String, description: &Option<async_graphql::Positioned<String>>| {
        if description.as_ref().is_none_or(|d| d.node.trim().is_empty()) {
            missing.push(what);
        } else {
            described += 1;
        }
    };
    for definition in &doc.definitions {
        let TypeSystemDefinition::Type(t) = definition else { continue };
        let name = t.node.name.node.as_str();
        check(format!("type {name}"), &t.node.description);
        match &t.node.kind {
            TypeKind::Object(o) => {
                for f in &o.fields {
                    check(format!("{name}.{}", f.node.name.node), &f.node.description);
                    for a in &f.node.arguments {
                        check(format!("{name}.{}({})", f.node.name.node, a.node.name.node), &a.node.description);
                    }
                }
            }
            TypeKind::Interface(i) => {
                for f in &i.fields {
                    check(format!("{name}.{}", f.node.name.node), &f.node.description);
                }
            }
            TypeKind::InputObject(o) => {
                for f in &o.fields {
                    check(format!("{name}.{}", f.node.name.node), &f.node.description);
                }
            }
            TypeKind::Enum(e) => {
                for v in &e.values {
                    check(format!("{name}.{}", v.node.value.node), &v.node.description);
                }
            }
            _ => {}
        }
    }
    assert!(missing.is_empty(), "without a description: {missing:?}");
    assert!(described > 100, "only {described} descriptions found");
}
