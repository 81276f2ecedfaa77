//! GraphQL errors: every error carries `extensions.code`; internal details are logged, never sent.

use async_graphql::{Error, ErrorExtensions};

use crate::service::ServiceError;

/// `extensions.code` of a client mistake.
pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
/// `extensions.code` of an unexpected server failure.
pub const INTERNAL: &str = "INTERNAL";
/// `extensions.code` of a write that expected another version of the row.
pub const CONFLICT: &str = "CONFLICT";
/// `extensions.code` when the database cannot be reached.
pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";

/// A `BAD_USER_INPUT` error about `field` (the argument or input path).
pub fn bad_input(field: &str, problem: impl std::fmt::Display) -> Error {
    let field = field.to_owned();
    Error::new(format!("{field}: {problem}")).extend_with(|_, e| {
        e.set("code", BAD_USER_INPUT);
        e.set("field", field.clone());
    })
}

/// Converts a service error into a GraphQL error with a code.
pub fn service_error(err: &ServiceError) -> Error {
    match err {
        ServiceError::Invalid(v) => bad_input(&v.field, &v.problem),
        ServiceError::Unavailable(e) => {
            tracing::warn!(error = %e, "database unavailable");
            Error::new("the database is unavailable; retry later")
                .extend_with(|_, x| x.set("code", SERVICE_UNAVAILABLE))
        }
        ServiceError::TimedOut => {
            Error::new("the write did not finish in time and was rolled back; nothing was written")
                .extend_with(|_, x| x.set("code", "TIMEOUT"))
        }
        ServiceError::Conflict { expected, current } => {
            let (expected, current) = (*expected, *current);
            Error::new(format!(
                "the passenger is at version {current}, not the expected version {expected}; nothing was written"
            ))
            .extend_with(move |_, x| {
                x.set("code", CONFLICT);
                x.set("expectedVersion", expected);
                x.set("currentVersion", current);
            })
        }
        ServiceError::Database(e) => {
            tracing::error!(error = %e, "database error");
            Error::new("internal error").extend_with(|_, x| x.set("code", INTERNAL))
        }
    }
}

/// Extension to write `service_call().await.gql()?` in resolvers.
pub trait GqlResult<T> {
    /// Maps the error to a coded GraphQL error.
    fn gql(self) -> Result<T, Error>;
}

impl<T> GqlResult<T> for Result<T, ServiceError> {
    fn gql(self) -> Result<T, Error> {
        self.map_err(|e| service_error(&e))
    }
}
