//! `Idempotency-Key` on writes: a retried write is answered with the first answer, byte for
//! byte, and writes nothing.
//!
//! The transports (`POST /graphql` with a mutation, the legacy `POST`, `PUT` and `DELETE`)
//! hand a request with a key to [`run`]. It opens one transaction for the whole request
//! ([`WriteScope`]), makes sure no other request with the key is running, and replays the
//! stored answer if the key has one (or refuses a key reused for another request); otherwise
//! the request runs with its writes inside that transaction, and its answer is stored in the
//! same transaction before the commit (see [`crate::service::idempotency`]). So the write and
//! its stored answer become durable together or not at all: a connection dropped at any
//! moment, a failed commit or a crash never leads a retry to write twice. Answers that report a
//! transient failure (time-out, database unavailable, internal error) are not stored, and their
//! writes are rolled back: the retry runs again.
//!
//! Keys are scoped to the caller's verified token (when tokens are configured) and kept for
//! `IDEMPOTENCY_TTL_SECS` (24 hours); a background task purges expired ones in small batches.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use crate::auth::Tokens;
use crate::service::events::Events;
use crate::service::idempotency::{self, Claim, Key, StoredAnswer};
use crate::service::{ServiceError, WriteScope};

/// The request header carrying the key.
pub const HEADER: &str = "idempotency-key";
/// The response header marking a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";
/// Longest key accepted, in bytes.
pub const MAX_KEY_LEN: usize = 255;

/// Why a request with a key was not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400: the key is malformed.
    Invalid(String),
    /// 409 with `Retry-After`: a request with this key is running.
    InProgress,
    /// 422: the key was used for a different request.
    Reused,
    /// 503: the database could not be reached.
    Unavailable,
}

impl Refusal {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::InProgress => StatusCode::CONFLICT,
            Self::Reused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "BAD_REQUEST",
            Self::InProgress => "IDEMPOTENCY_KEY_IN_USE",
            Self::Reused => "IDEMPOTENCY_KEY_REUSED",
            Self::Unavailable => "SERVICE_UNAVAILABLE",
        }
    }

    /// What to tell the client.
    pub fn message(&self) -> String {
        match self {
            Self::Invalid(problem) => format!("Idempotency-Key: {problem}"),
            Self::InProgress => "a request with this Idempotency-Key is still running; retry after it finished".into(),
            Self::Reused => {
                "this Idempotency-Key was used for a different request; use a new key for a new request".into()
            }
            Self::Unavailable => "the database is unavailable; retry later".into(),
        }
    }

    /// Headers to send with the refusal (`Retry-After` while the first request runs).
    pub fn headers(&self) -> Option<(HeaderName, HeaderValue)> {
        matches!(self, Self::InProgress).then(|| (header::RETRY_AFTER, HeaderValue::from_static("1")))
    }
}

/// What a request that ran answered, and whether that answer may be stored.
pub struct Ran {
    /// The answer.
    pub response: Response,
    /// Whether the answer reports a transient failure (time-out, unavailable database,
    /// internal error): then it is not stored and the request's writes are rolled back.
    pub transient: bool,
}

/// The keys being run by this process (across replicas the database decides), and what running
/// one needs: the tokens that scope keys, the database the answers are kept in, and the events
/// a commit announces.
pub struct Idempotency {
    running: Mutex<HashSet<(String, String)>>,
    ttl: Duration,
    tokens: Tokens,
    db: DatabaseConnection,
    events: Events,
}

impl Idempotency {
    /// Keys kept for `ttl`, scoped by `tokens`, stored in `db` (the writer pool); commits
    /// announce their writes to `events`.
    pub fn new(ttl: Duration, tokens: Tokens, db: DatabaseConnection, events: Events) -> Self {
        Self { running: Mutex::new(HashSet::new()), ttl, tokens, db, events }
    }

    fn enter(self: &Arc<Self>, key: &Key) -> Option<Running> {
        let id = (key.scope.clone(), key.key.clone());
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        running.insert(id.clone()).then(|| Running { owner: self.clone(), id })
    }
}

/// A key marked as running until dropped.
struct Running {
    owner: Arc<Idempotency>,
    id: (String, String),
}

impl Drop for Running {
    fn drop(&mut self) {
        self.owner.running.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.id);
    }
}

/// The key of a request: `Ok(None)` without the header, `Err` when it is malformed (empty,
/// longer than [`MAX_KEY_LEN`], or not printable ASCII).
pub fn key_of(headers: &HeaderMap) -> Result<Option<String>, Refusal> {
    let Some(value) = headers.get(HEADER) else { return Ok(None) };
    let key = value.to_str().map_err(|_| Refusal::Invalid("must be printable ASCII".into()))?;
    if key.is_empty() {
        return Err(Refusal::Invalid("must not be empty".into()));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(Refusal::Invalid(format!("must be at most {MAX_KEY_LEN} characters, got {}", key.len())));
    }
    if !key.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(Refusal::Invalid("must be printable ASCII".into()));
    }
    Ok(Some(key.to_owned()))
}

/// A digest of everything that makes a request this request: method, path with query, the
/// headers its answer depends on, and the body.
pub fn fingerprint(method: &str, path: &str, headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    let mut digest = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes()] {
        digest.update((part.len() as u64).to_be_bytes());
        digest.update(part);
    }
    for name in [header::CONTENT_TYPE, header::ACCEPT, header::IF_MATCH] {
        let value = headers.get(&name).map_or(&[][..], HeaderValue::as_bytes);
        digest.update((value.len() as u64).to_be_bytes());
        digest.update(value);
    }
    digest.update(body);
    digest.finalize().to_vec()
}

/// Whose key it is: a digest of the caller's verified token, or nobody's.
fn scope_of(tokens: &Tokens, headers: &HeaderMap) -> String {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    tokens.verified(authorization).map_or_else(String::new, |token| {
        Sha256::digest(token.as_bytes()).iter().take(16).map(|b| format!("{b:02x}")).collect()
    })
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Runs `handler` at most once per key and answers every request with the key alike (see the
/// module documentation). `handler` gets the transaction its writes must join; `refuse` renders
/// a refusal in the transport's style.
pub async fn run<F, Fut>(
    this: &Arc<Idempotency>,
    headers: &HeaderMap,
    key: String,
    fingerprint: Vec<u8>,
    refuse: impl Fn(Refusal) -> Response,
    handler: F,
) -> Response
where
    F: FnOnce(Arc<WriteScope>) -> Fut,
    Fut: Future<Output = Ran>,
{
    let key = Key { scope: scope_of(&this.tokens, headers), key, fingerprint };
    let Some(_running) = this.enter(&key) else {
        return refuse(Refusal::InProgress);
    };
    let scope = match WriteScope::begin(&this.db).await {
        Ok(scope) => scope,
        Err(e) => return failed(&refuse, e),
    };
    match idempotency::claim(&scope, &key, now_ms()).await {
        Ok(Claim::Fresh) => {}
        Ok(Claim::Replay(answer)) => {
            let _ = scope.rollback().await;
            return replay(answer);
        }
        Ok(Claim::Mismatch) => {
            let _ = scope.rollback().await;
            return refuse(Refusal::Reused);
        }
        Ok(Claim::Busy) => {
            let _ = scope.rollback().await;
            return refuse(Refusal::InProgress);
        }
        Err(e) => return failed(&refuse, e),
    }
    let scope = Arc::new(scope);
    let Ran { response, transient } = handler(scope.clone()).await;
    let Ok(scope) = Arc::try_unwrap(scope) else {
        // Something still holds the transaction: dropping it rolls back.
        tracing::error!("an idempotent request's transaction outlived it; rolled back");
        return refuse(Refusal::Unavailable);
    };
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "an idempotent request's answer could not be read; rolled back");
            let _ = scope.rollback().await;
            return refuse(Refusal::Unavailable);
        }
    };
    if transient {
        let _ = scope.rollback().await;
        return Response::from_parts(parts, Body::from(body));
    }
    let answer = StoredAnswer {
        status: parts.status.as_u16(),
        content_type: header_text(&parts.headers, header::CONTENT_TYPE),
        etag: header_text(&parts.headers, header::ETAG),
        body: body.to_vec(),
    };
    let expires = now_ms().saturating_add(i64::try_from(this.ttl.as_millis()).unwrap_or(i64::MAX));
    if let Err(e) = idempotency::record(&scope, &key, &answer, expires).await {
        let _ = scope.rollback().await;
        return failed(&refuse, e);
    }
    if let Err(e) = scope.commit(&this.events).await {
        // The answer was stored with the writes: if it is there, so are they.
        let committed = matches!(
            idempotency::stored(&this.db, &key, now_ms()).await,
            Ok(Some((fingerprint, stored))) if fingerprint == key.fingerprint && stored == answer
        );
        if !committed {
            return failed(&refuse, e);
        }
        tracing::warn!(error = %e, "the commit's connection broke, but the request's writes are in: answered as done");
    }
    Response::from_parts(parts, Body::from(body))
}

fn failed(refuse: &impl Fn(Refusal) -> Response, error: ServiceError) -> Response {
    tracing::warn!(error = %error, "idempotent request failed; nothing was written");
    refuse(Refusal::Unavailable)
}

fn header_text(headers: &HeaderMap, name: HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The stored answer, as first sent.
fn replay(answer: StoredAnswer) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in [(header::CONTENT_TYPE, answer.content_type), (header::ETAG, answer.etag)] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
    headers.insert(HeaderName::from_static(REPLAYED), HeaderValue::from_static("true"));
    response
}

/// Purges expired keys every `every`, in batches, forever.
pub async fn purge_expired(db: sea_orm::DatabaseConnection, every: Duration) {
    const BATCH: u64 = 1000;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        loop {
            match idempotency::purge(&db, now_ms(), BATCH).await {
                Ok(n) if n >= BATCH => tokio::task::yield_now().await,
                Ok(n) => {
                    if n > 0 {
                        tracing::debug!(purged = n, "expired idempotency keys purged");
                    }
                    break;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "purging expired idempotency keys failed; retrying later");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(key: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HEADER, HeaderValue::from_bytes(key).unwrap());
        h
    }

    #[test]
    fn keys_are_printable_ascii_of_at_most_255_characters() {
        assert_eq!(key_of(&HeaderMap::new()), Ok(None));
        assert_eq!(key_of(&headers(b"order-42")), Ok(Some("order-42".into())));
        assert_eq!(key_of(&headers(&[b'k'; 255])).map(|k| k.map(|k| k.len())), Ok(Some(255)));
        assert!(matches!(key_of(&headers(&[b'k'; 256])), Err(Refusal::Invalid(m)) if m.contains("at most 255")));
        assert!(matches!(key_of(&headers(b"")), Err(Refusal::Invalid(_))));
        assert!(matches!(key_of(&headers("clé".as_bytes())), Err(Refusal::Invalid(_))));
    }

    #[test]
    fn the_fingerprint_covers_method_path_negotiation_preconditions_and_body() {
        let base = fingerprint("PUT", "/putpassenger/x", &HeaderMap::new(), b"{}");
        assert_ne!(base, fingerprint("POST", "/putpassenger/x", &HeaderMap::new(), b"{}"));
        assert_ne!(base, fingerprint("PUT", "/putpassenger/y", &HeaderMap::new(), b"{}"));
        assert_ne!(base, fingerprint("PUT", "/putpassenger/x", &HeaderMap::new(), b"{ }"));
        let mut if_match = HeaderMap::new();
        if_match.insert(header::IF_MATCH, HeaderValue::from_static("\"3\""));
        assert_ne!(base, fingerprint("PUT", "/putpassenger/x", &if_match, b"{}"));
        // Lengths are part of it: moving bytes between parts changes it.
        assert_ne!(fingerprint("PU", "T/x", &HeaderMap::new(), b""), fingerprint("PUT", "/x", &HeaderMap::new(), b""));
        assert_eq!(base, fingerprint("PUT", "/putpassenger/x", &HeaderMap::new(), b"{}"));
    }
}
