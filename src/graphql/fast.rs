//! Lists of passengers resolved in one step.
//!
//! async-graphql resolves a list of objects with a boxed future per item and per field: for a
//! page of 1,000 passengers with nine fields that is some 10,000 futures, each with its own
//! context and allocations, and it dominated the cost of the full list. Here the selection
//! set is compiled once per list into a [`Plan`] — aliases, named and inline fragments with
//! their type conditions, `@skip`/`@include`, `__typename` and field merging all applied —
//! and each row's value is then built directly from the stored row. Fields that need I/O
//! (`namesakes`) are loaded for the whole list through their batched loader first.
//!
//! When the transport writes the response itself (GraphQL over HTTP, the REST shim), it asks
//! for [`Preencoded`] lists: the rows are then written straight into the response's text form
//! (standard or legacy JSON) and the list travels through async-graphql's value tree as one
//! `Value::Binary` holding that text, which `crate::json` copies verbatim — no value per
//! field, no tree to build and drop. The executor asks for it only when no response key with
//! a selection of its own is selected twice in one place (async-graphql would then merge two
//! values, which text cannot be).
//!
//! The result is the value async-graphql's generic resolution produces, or its text (a
//! property test compares them over random selection sets and rows), quirks included (an
//! object whose every field is skipped is null), with one deliberate difference:
//! async-graphql inserts the fields of an object in the order their futures complete, so a
//! field that waits for I/O lands after the others; here every field keeps its place in the
//! selection, as the GraphQL specification orders them.

use std::collections::HashMap;
use std::ops::Range;
use std::pin::Pin;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Directive, ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{ContextSelectionSet, Name, Number, Positioned, ServerError, ServerResult, Value, Variables};
use entity::passenger::Model;

use crate::json::{Form, Legacy, Standard};

use super::Settings;
use super::error::bad_input;
use super::loaders::{Namesakes, NamesakesKey};
use crate::service::page::Ordering;

/// `first` of `namesakes`, checked against the maximum page size.
pub fn namesakes_first(max: u64, first: Option<i32>) -> async_graphql::Result<u64> {
    match first {
        None => Ok(super::cost::DEFAULT_NAMESAKES.min(max)),
        Some(n) if n < 0 => Err(bad_input("first", format!("must not be negative, got {n}"))),
        Some(n) if n as u64 > max => Err(bad_input("first", format!("must be at most {max}, got {n}"))),
        Some(n) => Ok(n as u64),
    }
}

/// The text form a transport writes its responses in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Standard JSON (GraphQL over HTTP).
    Json,
    /// The legacy Flask form (the REST shim).
    Legacy,
}

/// Request data: lists of passengers are to be written directly in this form (see the module
/// documentation).
#[derive(Debug, Clone, Copy)]
pub struct Preencoded(pub Encoding);

/// A scalar field of `Passenger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaf {
    Typename,
    Id,
    NodeId,
    Survived,
    PassengerClass,
    Name,
    Sex,
    Age,
    SiblingsOrSpousesAboard,
    ParentsOrChildrenAboard,
    Fare,
    Version,
}

impl Leaf {
    fn of(field: &str) -> Option<Self> {
        Some(match field {
            "__typename" => Self::Typename,
            "id" => Self::Id,
            "nodeId" => Self::NodeId,
            "survived" => Self::Survived,
            "passengerClass" => Self::PassengerClass,
            "name" => Self::Name,
            "sex" => Self::Sex,
            "age" => Self::Age,
            "siblingsOrSpousesAboard" => Self::SiblingsOrSpousesAboard,
            "parentsOrChildrenAboard" => Self::ParentsOrChildrenAboard,
            "fare" => Self::Fare,
            "version" => Self::Version,
            _ => return None,
        })
    }

    /// This field of `row` written in form `F`, as [`Self::value`] would be.
    fn write<F: Form>(self, out: &mut String, row: &Model) {
        fn int(out: &mut String, v: Option<i32>) {
            match v {
                Some(v) => out.push_str(itoa::Buffer::new().format(v)),
                None => out.push_str("null"),
            }
        }
        fn float<F: Form>(out: &mut String, v: Option<f64>) {
            match v {
                Some(v) => F::float(out, v),
                None => out.push_str("null"),
            }
        }
        fn text<F: Form>(out: &mut String, v: &Option<String>) {
            match v {
                Some(s) => F::string(out, s),
                None => out.push_str("null"),
            }
        }
        match self {
            Self::Typename => F::string(out, "Passenger"),
            Self::Id => {
                out.push('"');
                out.push_str(row.uuid.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()));
                out.push('"');
            }
            // Base64url: nothing to escape.
            Self::NodeId => {
                out.push('"');
                out.push_str(&super::global_id::passenger_id(row.uuid));
                out.push('"');
            }
            Self::Survived => out.push_str(match row.survived {
                Some(true) => "true",
                Some(false) => "false",
                None => "null",
            }),
            Self::PassengerClass => int(out, row.passenger_class),
            Self::Name => text::<F>(out, &row.name),
            Self::Sex => text::<F>(out, &row.sex),
            Self::Age => float::<F>(out, row.age),
            Self::SiblingsOrSpousesAboard => int(out, row.siblings_or_spouses_aboard),
            Self::ParentsOrChildrenAboard => int(out, row.parents_or_children_aboard),
            Self::Fare => float::<F>(out, row.fare),
            Self::Version => out.push_str(itoa::Buffer::new().format(row.version)),
        }
    }

    /// The value async-graphql's scalars produce for this field of `row`.
    fn value(self, row: &Model) -> Value {
        fn int(v: Option<i32>) -> Value {
            v.map_or(Value::Null, |v| Value::Number(Number::from(v)))
        }
        fn float(v: Option<f64>) -> Value {
            v.and_then(Number::from_f64).map_or(Value::Null, Value::Number)
        }
        fn text(v: &Option<String>) -> Value {
            v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
        }
        match self {
            Self::Typename => Value::String("Passenger".to_owned()),
            Self::Id => Value::String(row.uuid.to_string()),
            Self::NodeId => Value::String(super::global_id::passenger_id(row.uuid)),
            Self::Survived => row.survived.map_or(Value::Null, Value::Boolean),
            Self::PassengerClass => int(row.passenger_class),
            Self::Name => text(&row.name),
            Self::Sex => text(&row.sex),
            Self::Age => float(row.age),
            Self::SiblingsOrSpousesAboard => int(row.siblings_or_spouses_aboard),
            Self::ParentsOrChildrenAboard => int(row.parents_or_children_aboard),
            Self::Fare => float(row.fare),
            Self::Version => Value::Number(Number::from(row.version)),
        }
    }
}

/// What one response key of a passenger holds.
#[derive(Debug)]
enum Item {
    Leaf(Leaf),
    Namesakes { first: u64, plan: Plan },
}

/// A selection set on `Passenger`, compiled: response keys in order, each with what it holds.
#[derive(Debug, Default)]
pub struct Plan {
    fields: Vec<(Name, Item)>,
}

impl Plan {
    /// An object with every response key in place (values null): cloning it gives each row
    /// its object without hashing a key again.
    fn template(&self) -> IndexMap<Name, Value> {
        self.fields.iter().map(|(key, _)| (key.clone(), Value::Null)).collect()
    }
}

/// The selections of one response key, gathered across fragments.
struct Gathered<'a> {
    key: Name,
    name: &'a str,
    first: &'a Positioned<Field>,
    sets: Vec<&'a SelectionSet>,
}

/// Whether `@skip`/`@include` leave this selection out.
pub(super) fn skipped(directives: &[Positioned<Directive>], variables: &Variables) -> ServerResult<bool> {
    for directive in directives {
        let include = match directive.node.name.node.as_str() {
            "skip" => false,
            "include" => true,
            _ => continue,
        };
        let Some(condition) = directive.node.get_argument("if") else { continue };
        let value = condition
            .node
            .clone()
            .into_const_with(|name| variables.get(&name).cloned().ok_or(()))
            .map_err(|()| ServerError::new("a variable of @skip/@include is not defined", Some(condition.pos)))?;
        if matches!(value, Value::Boolean(b) if b != include) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether a fragment with this type condition applies to a `Passenger`.
fn applies(ctx: &ContextSelectionSet<'_>, condition: Option<&str>) -> bool {
    match condition {
        None | Some("Passenger") => true,
        Some(other) => {
            ctx.schema_env.registry.implements.get("Passenger").is_some_and(|interfaces| interfaces.contains(other))
        }
    }
}

fn gather<'a>(
    ctx: &ContextSelectionSet<'a>,
    set: &'a SelectionSet,
    out: &mut Vec<Gathered<'a>>,
    seen: &mut HashMap<Name, usize>,
) -> ServerResult<()> {
    let variables = &ctx.query_env.variables;
    for item in &set.items {
        if skipped(item.node.directives(), variables)? {
            continue;
        }
        match &item.node {
            Selection::Field(field) => {
                let key = field.node.response_key().node.clone();
                match seen.get(&key) {
                    Some(&i) => out[i].sets.push(&field.node.selection_set.node),
                    None => {
                        seen.insert(key.clone(), out.len());
                        out.push(Gathered {
                            key,
                            name: field.node.name.node.as_str(),
                            first: field,
                            sets: vec![&field.node.selection_set.node],
                        });
                    }
                }
            }
            Selection::InlineFragment(fragment) => {
                let condition = fragment.node.type_condition.as_ref().map(|c| c.node.on.node.as_str());
                if applies(ctx, condition) {
                    gather(ctx, &fragment.node.selection_set.node, out, seen)?;
                }
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                let fragment = ctx
                    .query_env
                    .fragments
                    .get(name)
                    .ok_or_else(|| ServerError::new(format!(r#"Unknown fragment "{name}"."#), Some(spread.pos)))?;
                if applies(ctx, Some(fragment.node.type_condition.node.on.node.as_str())) {
                    gather(ctx, &fragment.node.selection_set.node, out, seen)?;
                }
            }
        }
    }
    Ok(())
}

/// Compiles the selection sets `sets` (of one response key, merged) on `Passenger`.
fn compile<'a>(ctx: &ContextSelectionSet<'a>, sets: &[&'a SelectionSet]) -> ServerResult<Plan> {
    let mut gathered = Vec::new();
    let mut seen = HashMap::new();
    for set in sets {
        gather(ctx, set, &mut gathered, &mut seen)?;
    }
    let mut plan = Plan { fields: Vec::with_capacity(gathered.len()) };
    for g in gathered {
        let item = if let Some(leaf) = Leaf::of(g.name) {
            Item::Leaf(leaf)
        } else if g.name == "namesakes" {
            let field_ctx = ctx.with_field(g.first);
            let (_, first) = field_ctx.param_value::<Option<i32>>("first", None)?;
            let max = ctx.data_unchecked::<Settings>().max_page_size;
            let first = namesakes_first(max, first).map_err(|e| e.into_server_error(g.first.pos))?;
            Item::Namesakes { first, plan: compile(ctx, &g.sets)? }
        } else {
            return Err(ServerError::new(
                format!(r#"Cannot query field "{}" on type "Passenger"."#, g.name),
                Some(g.first.pos),
            ));
        };
        plan.fields.push((g.key, item));
    }
    Ok(plan)
}

/// Builds the values of `rows` under `plan`.
fn build<'a>(
    ctx: &'a ContextSelectionSet<'a>,
    plan: &'a Plan,
    rows: &'a [Model],
) -> std::pin::Pin<Box<dyn Future<Output = ServerResult<Vec<Value>>> + Send + 'a>> {
    Box::pin(async move {
        // Every namesakes list this level needs: one loader request per `namesakes` key for
        // all the rows, then the next level for all the lists' rows at once, so the whole tree
        // costs one statement per level however many parents there are.
        let mut namesakes: Vec<(usize, HashMap<NamesakesKey, Value>)> = Vec::new();
        for (index, (_, item)) in plan.fields.iter().enumerate() {
            if let Item::Namesakes { first, plan: inner } = item {
                let loader = ctx.data_unchecked::<Namesakes>();
                let keys = rows.iter().map(|r| NamesakesKey { name: r.name.clone(), first: *first });
                let lists: Vec<(NamesakesKey, std::sync::Arc<Vec<Model>>)> = loader
                    .load_many(keys)
                    .await
                    .map_err(|e| ctx.set_error_path(super::error::service_error(&e).into_server_error(ctx.item.pos)))?
                    .into_iter()
                    .collect();
                let all: Vec<Model> = lists.iter().flat_map(|(_, list)| list.iter().cloned()).collect();
                let mut built = build(ctx, inner, &all).await?.into_iter();
                let values = lists
                    .into_iter()
                    .map(|(key, list)| (key, Value::List(built.by_ref().take(list.len()).collect())))
                    .collect();
                namesakes.push((index, values));
            }
        }
        if plan.fields.is_empty() {
            // Every field skipped: async-graphql resolves such an object to null, not `{}`.
            return Ok(vec![Value::Null; rows.len()]);
        }
        let template = plan.template();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut object = template.clone();
            for (index, ((_, item), (_, slot))) in plan.fields.iter().zip(object.iter_mut()).enumerate() {
                *slot = match item {
                    Item::Leaf(leaf) => leaf.value(row),
                    Item::Namesakes { first, .. } => {
                        let key = NamesakesKey { name: row.name.clone(), first: *first };
                        namesakes
                            .iter()
                            .find(|(i, _)| *i == index)
                            .and_then(|(_, values)| values.get(&key))
                            .cloned()
                            .unwrap_or(Value::List(Vec::new()))
                    }
                };
            }
            out.push(Value::Object(object));
        }
        Ok(out)
    })
}

/// The value of a `[Passenger!]!` list of `rows` under the list field's selection set: a list
/// value, or its text when the request asked for [`Preencoded`] lists.
pub async fn passengers(ctx: &ContextSelectionSet<'_>, rows: &[Model]) -> ServerResult<Value> {
    let plan = compile(ctx, &[&ctx.item.node])?;
    match ctx.data_opt::<Preencoded>() {
        Some(Preencoded(Encoding::Json)) => encoded_list::<Standard>(ctx, &plan, rows).await,
        Some(Preencoded(Encoding::Legacy)) => encoded_list::<Legacy>(ctx, &plan, rows).await,
        None => Ok(Value::List(build(ctx, &plan, rows).await?)),
    }
}

/// The text of the list `rows` under `plan`, as a binary value.
async fn encoded_list<F: Form>(ctx: &ContextSelectionSet<'_>, plan: &Plan, rows: &[Model]) -> ServerResult<Value> {
    // About 230 bytes per passenger with every field; room for the closing bracket and the
    // newline a legacy answer appends, so neither reallocates.
    let mut out = String::with_capacity(rows.len() * 240 + 4);
    out.push('[');
    encode_rows::<F>(ctx, plan, rows, &mut out).await?;
    out.push(']');
    Ok(Value::Binary(out.into_bytes().into()))
}

/// A plan's keys written once in form `F` (`"key":`), in the order the form writes them.
fn written_keys<F: Form>(plan: &Plan) -> Vec<(usize, String)> {
    let mut order: Vec<usize> = (0..plan.fields.len()).collect();
    if F::SORTED_KEYS {
        order.sort_by(|a, b| plan.fields[*a].0.as_str().cmp(plan.fields[*b].0.as_str()));
    }
    order
        .into_iter()
        .map(|i| {
            let mut key = String::new();
            F::string(&mut key, plan.fields[i].0.as_str());
            key.push(':');
            (i, key)
        })
        .collect()
}

type Encoded<'a> = Pin<Box<dyn Future<Output = ServerResult<Vec<Range<usize>>>> + Send + 'a>>;

/// Appends the objects of `rows` under `plan` to `out` in form `F`, separated by commas, and
/// returns where each one is. Namesakes are loaded for all the rows at once and written for
/// all of them at once, level by level, as [`build`] does.
fn encode_rows<'a, F: Form>(
    ctx: &'a ContextSelectionSet<'a>,
    plan: &'a Plan,
    rows: &'a [Model],
    out: &'a mut String,
) -> Encoded<'a> {
    Box::pin(async move {
        let mut namesakes: Vec<(usize, HashMap<NamesakesKey, String>)> = Vec::new();
        for (index, (_, item)) in plan.fields.iter().enumerate() {
            if let Item::Namesakes { first, plan: inner } = item {
                let loader = ctx.data_unchecked::<Namesakes>();
                let keys = rows.iter().map(|r| NamesakesKey { name: r.name.clone(), first: *first });
                let lists: Vec<(NamesakesKey, std::sync::Arc<Vec<Model>>)> = loader
                    .load_many(keys)
                    .await
                    .map_err(|e| ctx.set_error_path(super::error::service_error(&e).into_server_error(ctx.item.pos)))?
                    .into_iter()
                    .collect();
                let all: Vec<Model> = lists.iter().flat_map(|(_, list)| list.iter().cloned()).collect();
                let mut children = String::with_capacity(all.len() * 120);
                let ranges = encode_rows::<F>(ctx, inner, &all, &mut children).await?;
                let mut ranges = ranges.into_iter();
                let texts = lists
                    .into_iter()
                    .map(|(key, list)| {
                        let mut text = String::from("[");
                        for (i, range) in ranges.by_ref().take(list.len()).enumerate() {
                            if i > 0 {
                                text.push(',');
                            }
                            text.push_str(&children[range]);
                        }
                        text.push(']');
                        (key, text)
                    })
                    .collect();
                namesakes.push((index, texts));
            }
        }
        let keys = written_keys::<F>(plan);
        let mut ranges = Vec::with_capacity(rows.len());
        for (r, row) in rows.iter().enumerate() {
            if r > 0 {
                out.push(',');
            }
            let start = out.len();
            if plan.fields.is_empty() {
                // Every field skipped: async-graphql resolves such an object to null.
                out.push_str("null");
            } else {
                out.push('{');
                for (k, (index, key)) in keys.iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    out.push_str(key);
                    match &plan.fields[*index].1 {
                        Item::Leaf(leaf) => leaf.write::<F>(out, row),
                        Item::Namesakes { first, .. } => {
                            let wanted = NamesakesKey { name: row.name.clone(), first: *first };
                            let text = namesakes
                                .iter()
                                .find(|(i, _)| i == index)
                                .and_then(|(_, texts)| texts.get(&wanted))
                                .map_or("[]", String::as_str);
                            out.push_str(text);
                        }
                    }
                }
                out.push('}');
            }
            ranges.push(start..out.len());
        }
        Ok(ranges)
    })
}

/// Whether every response key with a selection of its own is selected once per selection set
/// of the operation (fragments included): then no two values of a list field are merged, and
/// lists may be [`Preencoded`].
pub fn mergeless(doc: &ExecutableDocument, operation: Option<&str>) -> bool {
    fn gather<'a>(
        doc: &'a ExecutableDocument,
        set: &'a SelectionSet,
        stack: &mut Vec<&'a str>,
        out: &mut Vec<&'a Positioned<Field>>,
    ) {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => out.push(f),
                Selection::InlineFragment(f) => gather(doc, &f.node.selection_set.node, stack, out),
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    if let Some(fragment) = doc.fragments.get(name)
                        && !stack.contains(&name)
                    {
                        stack.push(name);
                        gather(doc, &fragment.node.selection_set.node, stack, out);
                        stack.pop();
                    }
                }
            }
        }
    }
    fn check<'a>(doc: &'a ExecutableDocument, set: &'a SelectionSet, stack: &mut Vec<&'a str>, depth: usize) -> bool {
        if depth > 64 {
            return false;
        }
        let mut fields = Vec::new();
        gather(doc, set, stack, &mut fields);
        let mut seen: Vec<&str> = Vec::new();
        for field in &fields {
            if field.node.selection_set.node.items.is_empty() {
                continue;
            }
            let key = field.node.response_key().node.as_str();
            if seen.contains(&key) {
                return false;
            }
            seen.push(key);
        }
        fields.iter().all(|f| check(doc, &f.node.selection_set.node, stack, depth + 1))
    }
    let mut operations = doc.operations.iter();
    let found = match operation {
        Some(name) => operations.find(|(n, _)| n.is_some_and(|n| n.as_str() == name)),
        None => operations.next(),
    };
    found.is_some_and(|(_, op)| check(doc, &op.node.selection_set.node, &mut Vec::new(), 0))
}

/// The value of a `[PassengerEdge!]!` list of `rows` (cursors under `ordering`).
pub async fn edges(ctx: &ContextSelectionSet<'_>, rows: &[Model], ordering: &Ordering) -> ServerResult<Value> {
    // The edge's own fields, then the plan of its `node`.
    let mut keys: Vec<(Name, EdgeItem)> = Vec::new();
    let mut node_sets: Vec<&SelectionSet> = Vec::new();
    let mut seen: HashMap<Name, usize> = HashMap::new();
    gather_edge(ctx, &ctx.item.node, &mut keys, &mut node_sets, &mut seen)?;
    let plan = compile(ctx, &node_sets)?;
    match ctx.data_opt::<Preencoded>() {
        Some(Preencoded(Encoding::Json)) => return encoded_edges::<Standard>(ctx, &keys, &plan, rows, ordering).await,
        Some(Preencoded(Encoding::Legacy)) => return encoded_edges::<Legacy>(ctx, &keys, &plan, rows, ordering).await,
        None => {}
    }
    let nodes = if keys.iter().any(|(_, item)| matches!(item, EdgeItem::Node)) {
        build(ctx, &plan, rows).await?
    } else {
        Vec::new()
    };
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let mut object = IndexMap::with_capacity(keys.len());
        for (key, item) in &keys {
            let value = match item {
                EdgeItem::Typename => Value::String("PassengerEdge".to_owned()),
                EdgeItem::Cursor => Value::String(ordering.cursor(row)),
                EdgeItem::Node => nodes.get(i).cloned().unwrap_or(Value::Null),
            };
            object.insert(key.clone(), value);
        }
        out.push(Value::Object(object));
    }
    Ok(Value::List(out))
}

/// The text of the edges of `rows`, as a binary value.
async fn encoded_edges<F: Form>(
    ctx: &ContextSelectionSet<'_>,
    keys: &[(Name, EdgeItem)],
    plan: &Plan,
    rows: &[Model],
    ordering: &Ordering,
) -> ServerResult<Value> {
    let mut nodes = String::new();
    let ranges = if keys.iter().any(|(_, item)| matches!(item, EdgeItem::Node)) {
        encode_rows::<F>(ctx, plan, rows, &mut nodes).await?
    } else {
        Vec::new()
    };
    let mut order: Vec<usize> = (0..keys.len()).collect();
    if F::SORTED_KEYS {
        order.sort_by(|a, b| keys[*a].0.as_str().cmp(keys[*b].0.as_str()));
    }
    let mut out = String::with_capacity(nodes.len() + rows.len() * 120 + 2);
    out.push('[');
    for (r, row) in rows.iter().enumerate() {
        if r > 0 {
            out.push(',');
        }
        if keys.is_empty() {
            out.push_str("null");
            continue;
        }
        out.push('{');
        for (k, &i) in order.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            let (key, item) = &keys[i];
            F::string(&mut out, key.as_str());
            out.push(':');
            match item {
                EdgeItem::Typename => F::string(&mut out, "PassengerEdge"),
                EdgeItem::Cursor => F::string(&mut out, &ordering.cursor(row)),
                EdgeItem::Node => out.push_str(ranges.get(r).map_or("null", |range| &nodes[range.clone()])),
            }
        }
        out.push('}');
    }
    out.push(']');
    Ok(Value::Binary(out.into_bytes().into()))
}

#[derive(Debug, Clone, Copy)]
enum EdgeItem {
    Typename,
    Cursor,
    Node,
}

fn gather_edge<'a>(
    ctx: &ContextSelectionSet<'a>,
    set: &'a SelectionSet,
    keys: &mut Vec<(Name, EdgeItem)>,
    node_sets: &mut Vec<&'a SelectionSet>,
    seen: &mut HashMap<Name, usize>,
) -> ServerResult<()> {
    let variables = &ctx.query_env.variables;
    for item in &set.items {
        if skipped(item.node.directives(), variables)? {
            continue;
        }
        let (condition, inner) = match &item.node {
            Selection::Field(field) => {
                let key = field.node.response_key().node.clone();
                let kind = match field.node.name.node.as_str() {
                    "__typename" => EdgeItem::Typename,
                    "cursor" => EdgeItem::Cursor,
                    "node" => {
                        node_sets.push(&field.node.selection_set.node);
                        EdgeItem::Node
                    }
                    other => {
                        return Err(ServerError::new(
                            format!(r#"Cannot query field "{other}" on type "PassengerEdge"."#),
                            Some(field.pos),
                        ));
                    }
                };
                if !seen.contains_key(&key) {
                    seen.insert(key.clone(), keys.len());
                    keys.push((key, kind));
                }
                continue;
            }
            Selection::InlineFragment(f) => {
                (f.node.type_condition.as_ref().map(|c| c.node.on.node.as_str()), &f.node.selection_set.node)
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                let fragment = ctx
                    .query_env
                    .fragments
                    .get(name)
                    .ok_or_else(|| ServerError::new(format!(r#"Unknown fragment "{name}"."#), Some(spread.pos)))?;
                (Some(fragment.node.type_condition.node.on.node.as_str()), &fragment.node.selection_set.node)
            }
        };
        if condition.is_none_or(|c| c == "PassengerEdge") {
            gather_edge(ctx, inner, keys, node_sets, seen)?;
        }
    }
    Ok(())
}
