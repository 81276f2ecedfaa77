//! Access control inside the schema, so it holds for every transport (HTTP, WebSocket, the
//! REST shim): with API tokens configured, root mutation fields need a caller that presented
//! a valid token, and with reads protected, so do queries and subscriptions.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo};
use async_graphql::{ErrorExtensions, ServerResult, Value};

/// `extensions.code` of a request without a valid token.
pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";

/// What the current caller may do, decided by the transport from its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
pub fn unauthenticated(what: &str) -> async_graphql::Error {
    async_graphql::Error::new(format!("a valid API token is required for {what} (Authorization: Bearer <token>)"))
        .extend_with(|_, e| e.set("code", UNAUTHENTICATED))
}

/// Checks root fields against the request's [`Caller`].
pub struct AccessControl {
    /// Tokens are configured: a request without a `Caller` is denied writes.
    pub enforced: bool,
}

impl ExtensionFactory for AccessControl {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AccessControlExtension { enforced: self.enforced })
    }
}

struct AccessControlExtension {
    enforced: bool,
}

#[async_trait::async_trait]
impl Extension for AccessControlExtension {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.path_node.parent.is_none() && !info.is_for_introspection && !info.name.starts_with("__") {
            let caller = ctx.data_opt::<Caller>().copied().unwrap_or(if self.enforced {
                Caller { can_write: false, can_read: true }
            } else {
                Caller::TRUSTED
            });
            let denied = match info.parent_type {
                "Mutation" => (!caller.can_write).then_some("mutations"),
                _ => (!caller.can_read).then_some("reads"),
            };
            if let Some(what) = denied {
                return Err(unauthenticated(what).into_server_error(Default::default()));
            }
        }
        next.run(ctx, info).await
    }
}
