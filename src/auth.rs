//! API tokens: who may write (and, with `PROTECT_READS`, read). The transports turn the
//! credentials of a request into a [`Caller`]; the executor decides with it.

use axum::http::{HeaderMap, header};

use crate::graphql::access::Caller;

/// The configured tokens; empty means the API is open.
#[derive(Clone, Default)]
pub struct Tokens {
    tokens: Vec<Vec<u8>>,
    protect_reads: bool,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} configured, protect_reads: {})", self.tokens.len(), self.protect_reads)
    }
}

/// Compares in time that depends only on the lengths, not on where the bytes differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Tokens {
    /// Tokens from configuration.
    pub fn new(tokens: Vec<String>, protect_reads: bool) -> Self {
        Self { tokens: tokens.into_iter().map(String::into_bytes).collect(), protect_reads }
    }

    /// Whether any token is configured.
    pub fn enforced(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// The valid bearer token of an `Authorization` header value, if any: what rate limiting
    /// and idempotency keys are scoped by (an invalid token is no identity at all).
    pub fn verified<'a>(&self, authorization: Option<&'a str>) -> Option<&'a str> {
        authorization.and_then(Self::bearer).filter(|t| self.is_valid(t))
    }

    /// Whether `presented` is one of the tokens (every token is compared, in constant time).
    pub fn is_valid(&self, presented: &str) -> bool {
        self.tokens.iter().fold(false, |found, t| constant_time_eq(t, presented.as_bytes()) | found)
    }

    /// The bearer token of an `Authorization` header value.
    pub fn bearer(value: &str) -> Option<&str> {
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }

    /// What a caller presenting `authorization` may do.
    pub fn caller(&self, authorization: Option<&str>) -> Caller {
        if !self.enforced() {
            return Caller::TRUSTED;
        }
        if authorization.and_then(Self::bearer).is_some_and(|t| self.is_valid(t)) {
            Caller::TRUSTED
        } else {
            Caller { can_write: false, can_read: !self.protect_reads }
        }
    }

    /// What the sender of `headers` may do.
    pub fn caller_from(&self, headers: &HeaderMap) -> Caller {
        self.caller(headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_configured_bearer_token_may_write() {
        let tokens = Tokens::new(vec!["s3cret".into(), "other".into()], false);
        assert_eq!(tokens.caller(Some("Bearer s3cret")), Caller::TRUSTED);
        assert_eq!(tokens.caller(Some("bearer other")), Caller::TRUSTED);
        let anonymous = Caller { can_write: false, can_read: true };
        assert_eq!(tokens.caller(Some("Bearer s3cre")), anonymous);
        assert_eq!(tokens.caller(Some("Basic s3cret")), anonymous);
        assert_eq!(tokens.caller(None), anonymous);
        let strict = Tokens::new(vec!["s3cret".into()], true);
        assert_eq!(strict.caller(None), Caller { can_write: false, can_read: false });
        assert_eq!(Tokens::default().caller(None), Caller::TRUSTED);
    }
}
