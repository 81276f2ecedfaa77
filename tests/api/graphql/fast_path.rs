//! The fast path (lists of passengers resolved in one step) returns what async-graphql's
//! generic, field-by-field resolution returns: a property test over random rows and random
//! selection sets — aliases, named and inline fragments with type conditions, `@skip` and
//! `@include` with literals and variables, `__typename`, repeated fields, and `namesakes`
//! (which needs I/O) nested under it. The same holds for the text the fast path writes
//! directly for the transports that ask for it (standard JSON for GraphQL over HTTP, the
//! legacy form for the REST shim).

use passenger_api::config::Config;
use passenger_api::graphql::access::Caller;
use passenger_api::graphql::{Call, Encoding, Executor, Transport, build_schema_with};
use passenger_api::service::PassengerData;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{Value, json};

use crate::helpers::TestDb;

const LEAVES: [&str; 11] = [
    "id",
    "survived",
    "passengerClass",
    "name",
    "sex",
    "age",
    "siblingsOrSpousesAboard",
    "parentsOrChildrenAboard",
    "fare",
    "version",
    "__typename",
];

const DIRECTIVES: [&str; 7] =
    ["", "", "", " @include(if: $yes)", " @skip(if: $no)", " @skip(if: $yes)", " @include(if: false)"];

/// One selection of a random selection set on `Passenger`.
#[derive(Debug, Clone)]
enum Sel {
    /// A scalar field, maybe aliased (the alias is tied to the field, so merges stay valid).
    Leaf { field: usize, aliased: bool, directive: usize },
    /// `namesakes(first: N)` with a selection of its own.
    Namesakes { first: u8, inner: Vec<Sel>, directive: usize },
    /// `... on Passenger { }` or `... { }`.
    Inline { typed: bool, inner: Vec<Sel>, directive: usize },
    /// `...F0` or `...F1`.
    Spread { fragment: usize, directive: usize },
}

fn leaf() -> impl Strategy<Value = Sel> {
    (0..LEAVES.len(), any::<bool>(), 0..DIRECTIVES.len()).prop_map(|(field, aliased, directive)| Sel::Leaf {
        field,
        aliased,
        directive,
    })
}

/// A random selection set nesting up to `depth` levels; with `spreads`, it may use the named
/// fragments (fragment bodies may not, or they could spread themselves).
fn selection(depth: u32, spreads: bool) -> impl Strategy<Value = Vec<Sel>> {
    let spread_weight = if spreads { 1 } else { 0 };
    let flat = prop::collection::vec(
        prop_oneof![
            4 => leaf(),
            spread_weight => (0..2usize, 0..DIRECTIVES.len()).prop_map(|(fragment, directive)| Sel::Spread { fragment, directive }),
        ],
        1..6,
    );
    flat.prop_recursive(depth, 24, 4, |inner| {
        prop::collection::vec(
            prop_oneof![
                4 => leaf(),
                1 => (1..4u8, inner.clone(), 0..DIRECTIVES.len())
                    .prop_map(|(first, inner, directive)| Sel::Namesakes { first, inner, directive }),
                1 => (any::<bool>(), inner, 0..DIRECTIVES.len())
                    .prop_map(|(typed, inner, directive)| Sel::Inline { typed, inner, directive }),
            ],
            1..6,
        )
    })
}

fn render(selections: &[Sel]) -> String {
    let mut out = String::new();
    for sel in selections {
        match sel {
            Sel::Leaf { field, aliased, directive } => {
                let name = LEAVES[*field];
                if *aliased {
                    out.push_str(&format!("a_{}: ", name.trim_start_matches('_')));
                }
                out.push_str(&format!("{name}{} ", DIRECTIVES[*directive]));
            }
            Sel::Namesakes { first, inner, directive } => {
                out.push_str(&format!(
                    "n{first}: namesakes(first: {first}){} {{ id {}}} ",
                    DIRECTIVES[*directive],
                    render(inner)
                ));
            }
            Sel::Inline { typed, inner, directive } => {
                let on = if *typed { " on Passenger" } else { "" };
                out.push_str(&format!("...{on}{} {{ {}}} ", DIRECTIVES[*directive], render(inner)));
            }
            Sel::Spread { fragment, directive } => out.push_str(&format!("...F{fragment}{} ", DIRECTIVES[*directive])),
        }
    }
    out
}

fn row() -> impl Strategy<Value = PassengerData> {
    (
        (prop::option::of(any::<bool>()), prop::option::of(-3..5i32), prop::option::of(0..4usize)),
        (prop::option::of(prop::sample::select(vec!["male", "female", "", "x"]))),
        (prop::option::of(-1.0e3..1.0e3f64), prop::option::of(0..3i32), prop::option::of(0..3i32)),
        prop::option::of(prop_oneof![Just(0.0), Just(7.25), -1.0e6..1.0e6f64]),
    )
        .prop_map(|((survived, class, name), sex, (age, sibsp, parch), fare)| PassengerData {
            survived,
            passenger_class: class,
            // A few names shared by several rows, so namesakes lists have several entries.
            name: name.map(|n| ["Mr. O'Brien", "Zoë Ångström 🚢", "Shared", "Mrs. \"Q\""][n].to_owned()),
            sex: sex.map(str::to_owned),
            age,
            siblings_or_spouses_aboard: sibsp,
            parents_or_children_aboard: parch,
            fare,
        })
}

fn request(query: &str) -> async_graphql::Request {
    async_graphql::Request::new(query)
        .variables(async_graphql::Variables::from_json(json!({ "yes": true, "no": false })))
}

/// Runs `query` through an executor; the response as JSON text (key order kept).
async fn run(executor: &Executor, query: &str) -> String {
    let call = Call::new(Caller::TRUSTED, Transport::Post);
    serde_json::to_string(&executor.execute(request(query), call).await.response).unwrap()
}

/// Runs `query` for a transport that writes `encoding` itself; the text it would send (the
/// data only, for the legacy form).
async fn written(executor: &Executor, query: &str, encoding: Encoding) -> String {
    let call = Call::encoded(Caller::TRUSTED, Transport::Post, encoding);
    let executed = executor.execute(request(query), call).await;
    match encoding {
        Encoding::Json => {
            let mut out = String::new();
            executed.write_json(&mut out);
            out
        }
        Encoding::Legacy => String::from_utf8(passenger_api::json::encode(&executed.response.data)).unwrap(),
    }
}

#[test]
fn the_fast_path_returns_what_generic_resolution_returns() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (test_db, fast, generic) = runtime.block_on(async {
        let test_db = TestDb::new().await;
        let db = test_db.migrated().await;
        let config = Config::with_database_url(&test_db.url);
        let events = || passenger_api::service::events::Events::new(8);
        let fast = Executor::standalone(build_schema_with(db.clone().into(), events(), &config, true), &config);
        let generic = Executor::standalone(build_schema_with(db.clone().into(), events(), &config, false), &config);
        (test_db, fast, generic)
    });
    let db = runtime.block_on(test_db.connect());
    let strategy = (prop::collection::vec(row(), 0..12), selection(2, true), selection(1, false), selection(1, false));
    let mut runner = TestRunner::new(RunnerConfig { cases: 96, failure_persistence: None, ..RunnerConfig::default() });
    runner
        .run(&strategy, |(rows, nodes, f0, f1)| {
            runtime.block_on(async {
                use sea_orm::EntityTrait;
                entity::passenger::Entity::delete_many().exec(&db).await.unwrap();
                passenger_api::seed::insert(&db, rows.clone(), false).await.unwrap();
                // Both fragments are always used (an unused fragment is a validation error).
                let body = format!("{} ...F0 ...F1 ", render(&nodes));
                let query = format!(
                    "query Q($yes: Boolean!, $no: Boolean!) {{ passengers(first: 20) {{ \
                       pageInfo {{ hasNextPage @include(if: $yes) @skip(if: $no) }} nodes {{ {body}}} edges {{ cursor node {{ {body}}} }} }} }} \
                     fragment F0 on Passenger {{ {} }} fragment F1 on Passenger {{ {} }}",
                    render(&f0),
                    render(&f1)
                );
                let (quick, slow) = (run(&fast, &query).await, run(&generic, &query).await);
                let (quick_json, slow_json): (Value, Value) =
                    (serde_json::from_str(&quick).unwrap(), serde_json::from_str(&slow).unwrap());
                prop_assert!(quick_json.get("errors").is_none(), "{query}\n{quick}");
                // The same values; and, where no field waits for I/O (async-graphql orders those by
                // completion), the same bytes, key order included.
                prop_assert_eq!(&quick_json, &slow_json, "{}", query);
                if !query.contains("namesakes") {
                    prop_assert_eq!(&quick, &slow, "{}", query);
                }
                // Written directly as text: standard JSON and the legacy form.
                let (direct, by_value) =
                    (written(&fast, &query, Encoding::Json).await, written(&generic, &query, Encoding::Json).await);
                let (direct_json, by_value_json): (Value, Value) =
                    (serde_json::from_str(&direct).unwrap(), serde_json::from_str(&by_value).unwrap());
                prop_assert_eq!(&direct_json, &slow_json, "{}", query);
                prop_assert_eq!(&by_value_json, &slow_json, "{}", query);
                if !query.contains("namesakes") {
                    prop_assert_eq!(&direct, &by_value, "{}", query);
                }
                let (direct, by_value) =
                    (written(&fast, &query, Encoding::Legacy).await, written(&generic, &query, Encoding::Legacy).await);
                prop_assert_eq!(&direct, &by_value, "{}", query);
                Ok(())
            })
        })
        .unwrap();
    drop(test_db);
}
