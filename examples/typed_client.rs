//! A typed Rust client generated from `schema.graphql` and `clients/operations/*.graphql`
//! (with `graphql_client`), running create → get → list with pagination and a filter →
//! update → delete against a running server, checking each typed result.
//!
//! ```sh
//! cargo run --example typed_client -- http://127.0.0.1:8080
//! ```
//! `API_TOKEN`, when set, is sent as the bearer token.

use graphql_client::GraphQLQuery;

/// The schema's `UUID` scalar, as a string on the wire.
#[allow(clippy::upper_case_acronyms)]
type UUID = String;

macro_rules! operation {
    ($name:ident) => {
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "schema.graphql",
            query_path = "clients/operations/passengers.graphql",
            response_derives = "Debug, Clone, PartialEq",
            variables_derives = "Debug, Clone, Default",
            skip_serializing_none
        )]
        struct $name;
    };
}

operation!(CreatePassenger);
operation!(GetPassenger);
operation!(ListPassengers);
operation!(PatchPassenger);
operation!(DeletePassenger);

type Error = Box<dyn std::error::Error>;

struct Client {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl Client {
    async fn run<Q: GraphQLQuery>(&self, variables: Q::Variables) -> Result<Q::ResponseData, Error> {
        let mut request = self.http.post(&self.url).json(&Q::build_query(variables));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response: graphql_client::Response<Q::ResponseData> =
            request.send().await?.error_for_status()?.json().await?;
        if let Some(errors) = response.errors.filter(|e| !e.is_empty()) {
            return Err(format!("GraphQL errors: {errors:?}").into());
        }
        response.data.ok_or_else(|| "no data".into())
    }
}

fn check(condition: bool, what: &str) -> Result<(), Error> {
    if condition { Ok(()) } else { Err(format!("check failed: {what}").into()) }
}

async fn scenario(base: &str) -> Result<(), Error> {
    let client = Client {
        http: reqwest::Client::new(),
        url: format!("{}/graphql", base.trim_end_matches('/')),
        token: std::env::var("API_TOKEN").ok(),
    };
    let prefix = format!("Rust-Client-{}", std::process::id());

    // Create three passengers.
    let mut ids = Vec::new();
    for (i, suffix) in ["A", "B", "C"].iter().enumerate() {
        let input = create_passenger::PassengerInput {
            name: Some(format!("{prefix}-{suffix}")),
            sex: Some("female".into()),
            age: Some(20.0 + i as f64),
            survived: Some(true),
            passenger_class: Some(1),
            ..Default::default()
        };
        let created = client.run::<CreatePassenger>(create_passenger::Variables { input }).await?.create_passenger;
        check(created.name.as_deref() == Some(&format!("{prefix}-{suffix}")), "created name")?;
        check(created.age == Some(20.0 + i as f64), "created age")?;
        ids.push(created.id);
    }
    println!("created {} passengers", ids.len());

    // Get one back.
    let got = client.run::<GetPassenger>(get_passenger::Variables { id: ids[0].clone() }).await?.passenger;
    let got = got.ok_or("passenger not found")?;
    check(got.id == ids[0] && got.passenger_class == Some(1) && got.survived == Some(true), "get")?;
    println!("got {}", got.id);

    // List with a filter, two pages.
    let filter = list_passengers::PassengerFilter {
        name: Some(list_passengers::StringFilter { starts_with: Some(prefix.clone()), ..Default::default() }),
        ..Default::default()
    };
    let page1 = client
        .run::<ListPassengers>(list_passengers::Variables { first: Some(2), after: None, filter: Some(filter.clone()) })
        .await?
        .passengers;
    check(page1.total_count == 3, "total count")?;
    check(page1.nodes.len() == 2 && page1.page_info.has_next_page, "first page")?;
    let page2 = client
        .run::<ListPassengers>(list_passengers::Variables {
            first: Some(2),
            after: page1.page_info.end_cursor.clone(),
            filter: Some(filter.clone()),
        })
        .await?
        .passengers;
    check(page2.nodes.len() == 1 && !page2.page_info.has_next_page, "second page")?;
    let listed: Vec<String> = page1.nodes.iter().chain(&page2.nodes).map(|p| p.id.clone()).collect();
    check(listed == ids, "pages in insertion order, nothing skipped or repeated")?;
    println!("listed 2 pages");

    // Update one field.
    let patch = patch_passenger::PassengerPatch { age: Some(99.5), ..Default::default() };
    let patched = client.run::<PatchPassenger>(patch_passenger::Variables { id: ids[1].clone(), patch }).await?;
    let patched = patched.patch_passenger.ok_or("patched passenger missing")?;
    check(patched.age == Some(99.5) && patched.name.as_deref() == Some(&format!("{prefix}-B")), "patch")?;
    println!("patched {}", patched.id);

    // Delete them all.
    for id in &ids {
        let deleted = client.run::<DeletePassenger>(delete_passenger::Variables { id: id.clone() }).await?;
        check(deleted.delete_passenger, "delete")?;
    }
    let gone = client.run::<GetPassenger>(get_passenger::Variables { id: ids[0].clone() }).await?.passenger;
    check(gone.is_none(), "deleted passenger is gone")?;
    let empty = client
        .run::<ListPassengers>(list_passengers::Variables { first: Some(2), after: None, filter: Some(filter) })
        .await?;
    check(empty.passengers.total_count == 0, "list empty after delete")?;
    println!("deleted {} passengers", ids.len());
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let base = std::env::args().nth(1).unwrap_or_else(|| "http://127.0.0.1:8080".into());
    match scenario(&base).await {
        Ok(()) => {
            println!("rust client scenario: ok");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rust client scenario failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
