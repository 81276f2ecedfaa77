//! Access control by operation type and caller, decided once per operation by the executor
//! (so it holds for every transport: HTTP, WebSocket, the REST shim) before anything runs.
//! With API tokens configured, mutations need a caller that presented a valid token; with
//! reads protected, so do queries and subscriptions (introspection stays open).

use async_graphql::ServerError;
use async_graphql::parser::types::OperationType;

/// `extensions.code` of a request without a valid token.
pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";

/// What the current caller may do, decided by the transport from its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Caller {
    /// May run mutations.
    pub can_write: bool,
    /// May run queries and subscriptions.
    pub can_read: bool,
}

impl Caller {
    /// A caller allowed everything (no tokens configured, or a valid token).
    pub const TRUSTED: Self = Self { can_write: true, can_read: true };
}

/// The error for a caller without the right to `what`.
pub fn unauthenticated(what: &str) -> ServerError {
    let mut error =
        ServerError::new(format!("a valid API token is required for {what} (Authorization: Bearer <token>)"), None);
    error.extensions.get_or_insert_with(Default::default).set("code", UNAUTHENTICATED);
    error
}

/// Whether `caller` may run an operation of type `kind`; `introspection_only` operations read
/// no data and are open to every caller.
pub fn check(caller: Caller, kind: OperationType, introspection_only: bool) -> Result<(), ServerError> {
    match kind {
        OperationType::Mutation if !caller.can_write => Err(unauthenticated("mutations")),
        OperationType::Query | OperationType::Subscription if !caller.can_read && !introspection_only => {
            Err(unauthenticated("reads"))
        }
        _ => Ok(()),
    }
}
