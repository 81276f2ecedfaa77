//! Limits judged on the parsed document before anything runs: selected fields, nesting depth,
//! and introspection's own budget.
//!
//! Data queries are bounded by depth (`GRAPHQL_MAX_DEPTH`), by the number of selected fields
//! (`GRAPHQL_MAX_FIELDS`) and by their complexity, which async-graphql computes from each
//! field's declared cost during validation. Introspection (`__schema`, `__type`) is judged by a
//! bound of its own, as graphql-armor's `ignoreIntrospection` does: the standard query of
//! graphql-js nests 15 levels (its `TypeRef` fragment follows `ofType` nine times), so the data
//! depth limit must not apply to it, but an introspection query that nests deeper than
//! [`INTROSPECTION_MAX_DEPTH`] or whose estimated output exceeds four times the standard
//! query's is refused: nested `fields { type { fields … } }` lists and aliased copies grow the
//! output geometrically.

use std::collections::HashSet;
use std::sync::OnceLock;

use async_graphql::parser::types::{ExecutableDocument, Field, OperationType, Selection, SelectionSet};
use async_graphql::{Positioned, ServerError, Variables};

use super::cost::{self, Ty};

/// The graphql-js standard introspection query (descriptions, `specifiedByURL`, directive
/// repeatability, schema description and input value deprecation all on).
pub const STANDARD_INTROSPECTION: &str = include_str!("standard_introspection.graphql");

/// Deepest nesting an introspection query may have (the standard one nests 15 levels).
pub const INTROSPECTION_MAX_DEPTH: usize = 20;

/// How many standard introspection queries' worth of output one request may ask for.
const INTROSPECTION_BUDGET_FACTOR: u64 = 4;

/// The limits a data query must stay within.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of fields, root fields being at depth 1.
    pub max_depth: usize,
    /// Most field selections (aliases included) in the whole document.
    pub max_fields: usize,
    /// Highest estimated cost (see [`cost`]).
    pub max_complexity: u64,
}

/// A document that breaks a limit: the message to send.
fn refused(message: String) -> ServerError {
    ServerError::new(message, None)
}

/// Checks `doc` against `limits` for the operation named `operation` (the only one when
/// `None`). The document is not validated yet: unknown fragments and fragment cycles are left
/// to validation, which reports them properly.
pub fn check(
    doc: &ExecutableDocument,
    operation: Option<&str>,
    variables: &Variables,
    limits: Limits,
) -> Result<(), ServerError> {
    let fields = field_count(doc);
    if fields > limits.max_fields {
        return Err(refused(format!(
            "the document selects {fields} fields (aliases included); the limit is {}",
            limits.max_fields
        )));
    }
    let Some((ty, selection)) = operation_of(doc, operation) else {
        return Ok(());
    };
    let root = match ty {
        OperationType::Query => Ty::Query,
        OperationType::Mutation => Ty::Mutation,
        OperationType::Subscription => Ty::Subscription,
    };
    let complexity = cost::estimate(doc, &selection.node, root, variables);
    if complexity > limits.max_complexity {
        return Err(refused(format!(
            "the query is too complex: its estimated cost is {complexity}; the limit is {} \
             (every value counts 1, a page read {}, a full-table count or aggregate {})",
            limits.max_complexity,
            cost::PAGE,
            cost::SCAN
        )));
    }
    let mut walk = Walk { doc, stack: Vec::new(), max_depth: limits.max_depth, introspection: Vec::new() };
    let depth = walk.data_depth(selection, 0);
    if depth > limits.max_depth {
        return Err(refused(format!("the query is nested {depth} levels deep; the limit is {}", limits.max_depth)));
    }
    let roots = std::mem::take(&mut walk.introspection);
    if !roots.is_empty() {
        let budget = introspection_budget();
        let cost = walk.introspection_fields(roots, 1, 1, budget)?;
        if cost > budget {
            return Err(refused(format!(
                "this introspection query would produce about {cost} values; the limit is {budget} \
                 ({INTROSPECTION_BUDGET_FACTOR} times the standard introspection query)"
            )));
        }
    }
    Ok(())
}

/// The type and selection set of the operation that will run.
fn operation_of<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<(OperationType, &'a Positioned<SelectionSet>)> {
    let mut operations = doc.operations.iter();
    match name {
        Some(name) => operations.find(|(n, _)| n.is_some_and(|n| n.as_str() == name)),
        None => operations.next(),
    }
    .map(|(_, op)| (op.node.ty, &op.node.selection_set))
}

fn operation_selection<'a>(doc: &'a ExecutableDocument, name: Option<&str>) -> Option<&'a Positioned<SelectionSet>> {
    operation_of(doc, name).map(|(_, set)| set)
}

fn count(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => 1 + count(&f.node.selection_set.node),
            Selection::InlineFragment(f) => count(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// Fields selected by every operation and fragment definition of `doc` (each definition
/// counted once).
pub fn field_count(doc: &ExecutableDocument) -> usize {
    let operations: usize = doc.operations.iter().map(|(_, op)| count(&op.node.selection_set.node)).sum();
    let fragments: usize = doc.fragments.values().map(|f| count(&f.node.selection_set.node)).sum();
    operations + fragments
}

/// Whether the operation selects nothing but introspection (`__schema`, `__type`,
/// `__typename`): such a query reads no passenger data.
pub fn is_introspection_only(doc: &ExecutableDocument, operation: Option<&str>) -> bool {
    let Some(selection) = operation_selection(doc, operation) else {
        return false;
    };
    let mut seen = HashSet::new();
    only_introspection(doc, &selection.node, &mut seen)
}

fn only_introspection<'a>(doc: &'a ExecutableDocument, set: &'a SelectionSet, seen: &mut HashSet<&'a str>) -> bool {
    set.items.iter().all(|item| match &item.node {
        Selection::Field(f) => f.node.name.node.starts_with("__"),
        Selection::InlineFragment(f) => only_introspection(doc, &f.node.selection_set.node, seen),
        Selection::FragmentSpread(s) => {
            let name = s.node.fragment_name.node.as_str();
            if !seen.insert(name) {
                return true;
            }
            doc.fragments.get(name).is_none_or(|f| only_introspection(doc, &f.node.selection_set.node, seen))
        }
    })
}

/// Estimated length of an introspection list field, for the output estimate: generous upper
/// bounds for a schema of this size.
fn list_length(field: &str) -> Option<u64> {
    Some(match field {
        "types" => 64,
        "fields" | "inputFields" | "enumValues" => 32,
        "args" | "possibleTypes" | "directives" => 16,
        "locations" => 20,
        "interfaces" => 8,
        _ => return None,
    })
}

/// Output estimate of the standard introspection query, times the allowed factor.
fn introspection_budget() -> u64 {
    static BUDGET: OnceLock<u64> = OnceLock::new();
    *BUDGET.get_or_init(|| {
        let doc = async_graphql::parser::parse_query(STANDARD_INTROSPECTION).expect("the standard query parses");
        let selection = operation_selection(&doc, None).expect("it has an operation");
        let mut walk = Walk { doc: &doc, stack: Vec::new(), max_depth: usize::MAX, introspection: Vec::new() };
        let cost = walk.introspection(&selection.node, 1, 0, u64::MAX).unwrap_or(u64::MAX);
        cost.saturating_mul(INTROSPECTION_BUDGET_FACTOR)
    })
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    /// Fragments being expanded (a cycle is a validation error; it is not followed).
    stack: Vec<&'a str>,
    max_depth: usize,
    /// Introspection root fields met on the way, judged together afterwards.
    introspection: Vec<&'a Positioned<Field>>,
}

impl<'a> Walk<'a> {
    /// The selection sets a selection contributes at the current level, fragments expanded.
    fn expand(&mut self, set: &'a SelectionSet, out: &mut Vec<&'a Positioned<Field>>) {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => out.push(f),
                Selection::InlineFragment(f) => self.expand(&f.node.selection_set.node, out),
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    if self.stack.contains(&name) {
                        continue;
                    }
                    if let Some(fragment) = self.doc.fragments.get(name) {
                        self.stack.push(name);
                        self.expand(&fragment.node.selection_set.node, out);
                        self.stack.pop();
                    }
                }
            }
        }
    }

    /// Depth of data fields below `set` (at `depth`); introspection subtrees are set aside to
    /// be judged by their own bound.
    fn data_depth(&mut self, set: &'a Positioned<SelectionSet>, depth: usize) -> usize {
        if depth > self.max_depth {
            // Deep enough to refuse; no need to look further (and no unbounded recursion).
            return depth;
        }
        let mut fields = Vec::new();
        self.expand(&set.node, &mut fields);
        let mut deepest = depth;
        for field in fields {
            let name = field.node.name.node.as_str();
            if name == "__schema" || name == "__type" {
                self.introspection.push(field);
                continue;
            }
            let below = if field.node.selection_set.node.items.is_empty() {
                depth + 1
            } else {
                self.data_depth(&field.node.selection_set, depth + 1)
            };
            deepest = deepest.max(below);
        }
        deepest
    }

    /// Estimated number of values the introspection selection `set` produces when reached
    /// `multiplier` times at `depth`; stops counting once past `budget`.
    fn introspection(
        &mut self,
        set: &'a SelectionSet,
        multiplier: u64,
        depth: usize,
        budget: u64,
    ) -> Result<u64, ServerError> {
        let mut fields = Vec::new();
        self.expand(set, &mut fields);
        self.introspection_fields(fields, multiplier, depth + 1, budget)
    }

    fn introspection_fields(
        &mut self,
        fields: Vec<&'a Positioned<Field>>,
        multiplier: u64,
        depth: usize,
        budget: u64,
    ) -> Result<u64, ServerError> {
        if depth > INTROSPECTION_MAX_DEPTH {
            return Err(refused(format!(
                "the introspection query is nested more than {INTROSPECTION_MAX_DEPTH} levels deep; \
                 the standard one nests 15"
            )));
        }
        let mut cost = 0u64;
        for field in fields {
            cost = cost.saturating_add(multiplier);
            let below = &field.node.selection_set.node;
            if !below.items.is_empty() {
                let inner =
                    list_length(field.node.name.node.as_str()).map_or(multiplier, |n| multiplier.saturating_mul(n));
                cost = cost.saturating_add(self.introspection(below, inner, depth, budget)?);
            }
            if cost > budget {
                return Ok(cost);
            }
        }
        Ok(cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(query: &str, limits: Limits) -> Result<(), String> {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        check(&doc, None, &Variables::default(), limits).map_err(|e| e.message)
    }

    const DEFAULT: Limits = Limits { max_depth: 12, max_fields: 2000, max_complexity: 50_000 };

    #[test]
    fn the_standard_introspection_query_passes_the_default_limits() {
        assert_eq!(judge(STANDARD_INTROSPECTION, DEFAULT), Ok(()));
        // Even with a data depth limit far below its own nesting.
        assert_eq!(judge(STANDARD_INTROSPECTION, Limits { max_depth: 3, ..DEFAULT }), Ok(()));
    }

    #[test]
    fn introspection_nesting_far_deeper_than_any_tool_is_refused() {
        let deep = format!("{{ __schema {{ types {{ {}name{} }} }} }}", "ofType { ".repeat(30), " }".repeat(30));
        let error = judge(&deep, DEFAULT).unwrap_err();
        assert!(error.contains("nested more than 20 levels"), "{error}");
    }

    #[test]
    fn geometric_introspection_is_refused() {
        let nested =
            "{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }";
        let error = judge(nested, DEFAULT).unwrap_err();
        assert!(error.contains("standard introspection query"), "{error}");
        let fragments = &STANDARD_INTROSPECTION[STANDARD_INTROSPECTION.find("fragment FullType").unwrap()..];
        let copies = |n: usize| -> String {
            let aliases: String = (0..n).map(|i| format!("a{i}: __schema {{ types {{ ...FullType }} }} ")).collect();
            format!("{{ {aliases} }} {fragments}")
        };
        assert!(judge(&copies(5), DEFAULT).is_err(), "five aliased standard queries");
        assert_eq!(judge(&copies(2), DEFAULT), Ok(()), "two are fine");
    }

    #[test]
    fn data_depth_and_field_count_are_limited() {
        let error = judge(
            "{ passengers { nodes { namesakes { namesakes { id } } } } }",
            Limits { max_depth: 4, max_fields: 100, max_complexity: u64::MAX },
        )
        .unwrap_err();
        assert_eq!(error, "the query is nested 5 levels deep; the limit is 4");
        let wide: String = (0..11).map(|i| format!("a{i}: __typename ")).collect();
        let error = judge(&format!("{{ {wide} }}"), Limits { max_depth: 4, max_fields: 10, max_complexity: u64::MAX })
            .unwrap_err();
        assert_eq!(error, "the document selects 11 fields (aliases included); the limit is 10");
    }

    #[test]
    fn fragment_cycles_do_not_loop() {
        let cyclic = "query { passengers { ...A } } fragment A on PassengerConnection { nodes { id } ...A }";
        assert_eq!(judge(cyclic, DEFAULT), Ok(()));
    }

    #[test]
    fn introspection_only_operations_are_recognised() {
        let doc = async_graphql::parser::parse_query("{ __typename __schema { queryType { name } } }").unwrap();
        assert!(is_introspection_only(&doc, None));
        let doc = async_graphql::parser::parse_query("{ __typename passengers { totalCount } }").unwrap();
        assert!(!is_introspection_only(&doc, None));
    }
}
