//! The committed GraphQL operations the shim runs (the executor caches their parse).

use async_graphql::{Request, Variables};

/// A committed operation.
pub struct Operation {
    name: &'static str,
    kind: &'static str,
    source: &'static str,
}

impl Operation {
    const fn new(name: &'static str, kind: &'static str, source: &'static str) -> Self {
        Self { name, kind, source }
    }

    /// The operation's name (for metrics).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// `query` or `mutation` (for metrics).
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The operation's text.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// A request for this operation with `variables` (the executor caches its parse).
    pub fn request(&self, variables: serde_json::Value) -> Request {
        Request::new(self.source).operation_name(self.name).variables(Variables::from_json(variables))
    }
}

macro_rules! operation {
    ($name:literal, $kind:literal, $file:literal) => {
        Operation::new(
            $name,
            $kind,
            concat!(include_str!($file), "\n", include_str!("operations/legacy_passenger.graphql")),
        )
    };
}

/// `GET /getpassenger/<uuid>`.
pub static GET_PASSENGER: Operation = operation!("LegacyGetPassenger", "query", "operations/get_passenger.graphql");
/// `GET /passengerlist`, one page.
pub static LIST_PASSENGERS: Operation =
    operation!("LegacyListPassengers", "query", "operations/list_passengers.graphql");
/// `POST /postpassenger`.
pub static CREATE_PASSENGER: Operation =
    operation!("LegacyCreatePassenger", "mutation", "operations/create_passenger.graphql");
/// `PUT /putpassenger/<uuid>`.
pub static UPDATE_PASSENGER: Operation =
    Operation::new("LegacyUpdatePassenger", "mutation", include_str!("operations/update_passenger.graphql"));
/// `DELETE /deletepassenger/<uuid>`.
pub static DELETE_PASSENGER: Operation =
    Operation::new("LegacyDeletePassenger", "mutation", include_str!("operations/delete_passenger.graphql"));

/// Every operation, for tests that validate them against the schema.
pub fn all() -> [&'static Operation; 5] {
    [&GET_PASSENGER, &LIST_PASSENGERS, &CREATE_PASSENGER, &UPDATE_PASSENGER, &DELETE_PASSENGER]
}
