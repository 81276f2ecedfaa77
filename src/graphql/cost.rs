//! What a query costs, estimated from the document before it runs.
//!
//! Every value returned counts 1. A field that runs a statement adds what that statement
//! costs: a batched lookup by key [`LOOKUP`], a page read by index [`PAGE`], a write
//! [`WRITE`], and a scan of the whole table ([`SCAN`]: `totalCount`, `passengerStats`). Lists
//! multiply what they select by how many items they can hold: `nodes` and `edges` by the page
//! size of their `passengers` field (not `totalCount` or `pageInfo`, which run once per page),
//! `namesakes` by its `first`, `passengersByIds` by the number of ids. So 1,000 aliased
//! `passengerStats` cost 1,000 scans and `passengers(first: 1000) { nodes { namesakes {
//! namesakes { id } } } }` costs what its up to 10⁸ rows would, and both are refused under the
//! default limit, while a page of 1,000 passengers with every field is well within it.
//!
//! The model names every field of the schema; a test checks it against `schema.graphql`.

use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{Name, Positioned, Value, Variables};

/// Cost of a lookup by key (batched with the other lookups of the request).
pub const LOOKUP: u64 = 2;
/// Cost of reading one page by index.
pub const PAGE: u64 = 10;
/// Cost of a write (one transaction).
pub const WRITE: u64 = 10;
/// Cost of a statement that reads the whole table (a count, an aggregate).
pub const SCAN: u64 = 5_000;
/// Groups `passengerStats` returns at most (3 classes × 3 sexes incl. null × 3 survival values).
const STATS_GROUPS: u64 = 27;
/// Default `first` of `namesakes`.
pub const DEFAULT_NAMESAKES: u64 = 100;
/// Default page size of `passengers`.
pub const DEFAULT_PAGE: u64 = 50;

/// The object types of the schema, as far as cost is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// `Query`.
    Query,
    /// `Mutation`.
    Mutation,
    /// `Subscription`.
    Subscription,
    /// `Passenger` (and the `Node` interface it implements).
    Passenger,
    /// `PassengerConnection`.
    Connection,
    /// `PassengerEdge`.
    Edge,
    /// `PageInfo`.
    PageInfo,
    /// `PassengerStats`.
    Stats,
    /// `NumberStats`.
    NumberStats,
    /// `PassengerEvent`.
    Event,
    /// A scalar or enum.
    Leaf,
}

/// How many items a field returns.
#[derive(Debug, Clone, Copy)]
enum Size {
    /// One value.
    One,
    /// The value of an integer argument, or a default.
    Arg(&'static str, u64),
    /// The length of a list argument.
    Len(&'static str),
    /// The page size of the enclosing connection.
    Page,
    /// A fixed upper bound.
    AtMost(u64),
}

/// The cost model of one field: its own cost, the type it returns and how many.
#[derive(Debug, Clone, Copy)]
pub struct FieldCost {
    own: u64,
    ty: Ty,
    size: Size,
}

const fn leaf() -> FieldCost {
    FieldCost { own: 0, ty: Ty::Leaf, size: Size::One }
}

const fn object(ty: Ty) -> FieldCost {
    FieldCost { own: 0, ty, size: Size::One }
}

/// The model of `parent.field`; `None` for a field the schema does not have.
pub fn model(parent: Ty, field: &str) -> Option<FieldCost> {
    use Ty::*;
    let cost = match (parent, field) {
        (_, "__typename") => FieldCost { own: 0, ty: Leaf, size: Size::One },
        (Query, "passenger" | "node") => FieldCost { own: LOOKUP, ty: Passenger, size: Size::One },
        (Query, "passengersByIds") => FieldCost { own: LOOKUP, ty: Passenger, size: Size::Len("ids") },
        (Query, "nodes") => FieldCost { own: LOOKUP, ty: Passenger, size: Size::Len("nodeIds") },
        (Query, "passengers") => FieldCost { own: PAGE, ty: Connection, size: Size::One },
        (Query, "passengerStats") => FieldCost { own: SCAN, ty: Stats, size: Size::AtMost(STATS_GROUPS) },
        (Mutation, "createPassenger" | "updatePassenger" | "patchPassenger") => {
            FieldCost { own: WRITE, ty: Passenger, size: Size::One }
        }
        (Mutation, "createPassengers") => FieldCost { own: WRITE, ty: Passenger, size: Size::Len("inputs") },
        (Mutation, "deletePassenger") => FieldCost { own: WRITE, ty: Leaf, size: Size::One },
        (Subscription, "passengerEvents") => FieldCost { own: PAGE, ty: Event, size: Size::One },
        (Passenger, "namesakes") => {
            FieldCost { own: LOOKUP, ty: Passenger, size: Size::Arg("first", DEFAULT_NAMESAKES) }
        }
        (
            Passenger,
            "id"
            | "nodeId"
            | "version"
            | "survived"
            | "passengerClass"
            | "name"
            | "sex"
            | "age"
            | "siblingsOrSpousesAboard"
            | "parentsOrChildrenAboard"
            | "fare",
        ) => leaf(),
        (Connection, "nodes") => FieldCost { own: 0, ty: Passenger, size: Size::Page },
        (Connection, "edges") => FieldCost { own: 0, ty: Edge, size: Size::Page },
        (Connection, "pageInfo") => object(PageInfo),
        (Connection, "totalCount") => FieldCost { own: SCAN, ty: Leaf, size: Size::One },
        (Edge, "cursor") => leaf(),
        (Edge, "node") => object(Passenger),
        (PageInfo, "hasNextPage" | "hasPreviousPage" | "startCursor" | "endCursor") => leaf(),
        (Stats, "passengerClass" | "sex" | "survived" | "count" | "survivedCount" | "survivalRate") => leaf(),
        (Stats, "age" | "fare") => object(NumberStats),
        (NumberStats, "min" | "max" | "avg") => leaf(),
        (Event, "kind" | "id" | "nodeId") => leaf(),
        (Event, "passenger") => object(Passenger),
        _ => return None,
    };
    Some(cost)
}

/// Estimates the cost of the selection `set` on `ty`.
pub fn estimate(doc: &ExecutableDocument, set: &SelectionSet, ty: Ty, variables: &Variables) -> u64 {
    let mut walk = Walk { doc, variables, stack: Vec::new() };
    walk.set(set, ty, DEFAULT_PAGE)
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    stack: Vec<&'a str>,
}

impl<'a> Walk<'a> {
    fn set(&mut self, set: &'a SelectionSet, ty: Ty, page: u64) -> u64 {
        let mut total = 0u64;
        for item in &set.items {
            let cost = match &item.node {
                Selection::Field(field) => self.field(field, ty, page),
                Selection::InlineFragment(f) => self.set(&f.node.selection_set.node, ty, page),
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    match self.doc.fragments.get(name) {
                        Some(fragment) if !self.stack.contains(&name) => {
                            self.stack.push(name);
                            let cost = self.set(&fragment.node.selection_set.node, ty, page);
                            self.stack.pop();
                            cost
                        }
                        // Unknown or cyclic: validation refuses it.
                        _ => 0,
                    }
                }
            };
            total = total.saturating_add(cost);
        }
        total
    }

    fn field(&mut self, field: &'a Positioned<Field>, parent: Ty, page: u64) -> u64 {
        let name = field.node.name.node.as_str();
        if name.starts_with("__") && name != "__typename" {
            // Introspection has its own budget (see `limits`).
            return 0;
        }
        let Some(model) = model(parent, name) else {
            // Not a field of the schema: validation refuses it.
            return 1;
        };
        let count = match model.size {
            Size::One => 1,
            Size::Arg(arg, default) => self.int(field, arg).unwrap_or(default),
            Size::Len(arg) => self.len(field, arg),
            Size::Page => page,
            Size::AtMost(n) => n,
        };
        let inner_page = if model.ty == Ty::Connection {
            self.int(field, "first").or_else(|| self.int(field, "last")).unwrap_or(DEFAULT_PAGE)
        } else {
            page
        };
        let below = &field.node.selection_set.node;
        let each = if below.items.is_empty() { 1 } else { self.set(below, model.ty, inner_page).max(1) };
        model.own.saturating_add(count.saturating_mul(each))
    }

    fn argument(&self, field: &'a Positioned<Field>, name: &str) -> Option<Value> {
        let value = field.node.get_argument(name)?;
        value.node.clone().into_const_with(|var: Name| self.variables.get(&var).cloned().ok_or(())).ok()
    }

    fn int(&self, field: &'a Positioned<Field>, name: &str) -> Option<u64> {
        match self.argument(field, name)? {
            Value::Number(n) => Some(n.as_u64().unwrap_or(0)),
            _ => None,
        }
    }

    fn len(&self, field: &'a Positioned<Field>, name: &str) -> u64 {
        match self.argument(field, name) {
            Some(Value::List(items)) => items.len() as u64,
            Some(Value::Null) | None => 0,
            Some(_) => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(query: &str) -> u64 {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        let (_, op) = doc.operations.iter().next().unwrap();
        let ty = match op.node.ty {
            async_graphql::parser::types::OperationType::Query => Ty::Query,
            async_graphql::parser::types::OperationType::Mutation => Ty::Mutation,
            async_graphql::parser::types::OperationType::Subscription => Ty::Subscription,
        };
        estimate(&doc, &op.node.selection_set.node, ty, &Variables::default())
    }

    #[test]
    fn every_field_of_the_schema_has_a_cost() {
        use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
        let sdl = crate::graphql::sdl();
        let doc = async_graphql::parser::parse_schema(&sdl).unwrap();
        let mut checked = 0;
        for definition in &doc.definitions {
            let TypeSystemDefinition::Type(t) = definition else { continue };
            let fields = match &t.node.kind {
                TypeKind::Object(o) => &o.fields,
                TypeKind::Interface(i) => &i.fields,
                _ => continue,
            };
            let ty = match t.node.name.node.as_str() {
                "Query" => Ty::Query,
                "Mutation" => Ty::Mutation,
                "Subscription" => Ty::Subscription,
                "Passenger" | "Node" => Ty::Passenger,
                "PassengerConnection" => Ty::Connection,
                "PassengerEdge" => Ty::Edge,
                "PageInfo" => Ty::PageInfo,
                "PassengerStats" => Ty::Stats,
                "NumberStats" => Ty::NumberStats,
                "PassengerEvent" => Ty::Event,
                other => panic!("type {other} has no cost model"),
            };
            for field in fields {
                let name = field.node.name.node.as_str();
                assert!(model(ty, name).is_some(), "{}.{name} has no cost", t.node.name.node);
                checked += 1;
            }
        }
        assert!(checked > 40, "only {checked} fields checked");
    }

    #[test]
    fn the_hostile_queries_cost_what_they_would_do() {
        let nested = cost("{ passengers(first: 1000) { nodes { namesakes { namesakes { id } } } } }");
        assert!(nested > 1_000_000, "{nested}");
        let aliases: String = (0..1000).map(|i| format!("s{i}: passengerStats {{ count }} ")).collect();
        assert!(cost(&format!("{{ {aliases} }}")) >= 1000 * SCAN);
    }

    #[test]
    fn a_count_is_charged_once_per_page_and_rows_once_each() {
        assert_eq!(cost("{ passengers(first: 100) { totalCount } }"), PAGE + SCAN + 1);
        assert_eq!(cost("{ passengers(first: 100) { nodes { id name } } }"), PAGE + 100 * 2);
        assert_eq!(cost("{ passengers { edges { cursor node { id } } } }"), PAGE + 50 * 2);
        let full = cost(
            "{ passengers(first: 1000) { nodes { id survived passengerClass name sex age siblingsOrSpousesAboard parentsOrChildrenAboard fare } } }",
        );
        assert_eq!(full, PAGE + 9000);
    }
}
