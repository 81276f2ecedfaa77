//! The response cache: whole answers to queries, kept only while the data they were computed
//! from has not changed, so an answer from the cache is never stale.
//!
//! The transports (`/graphql` POST and GET, the legacy GET routes) look an answer up by a key
//! that covers everything that shapes it (see [`key`]): the request as sent — document,
//! operation name and variables — the response format, and what the caller may see. A miss
//! hands out a [`Ticket`] holding the freshness generation (see
//! [`crate::service::freshness`]) read *before* the operation ran; the answer is stored only if
//! it is complete and error-free and the generation is still the same, i.e. nothing changed
//! while it was computed. When the generation moves, every entry goes (one table: any change
//! may affect any answer). Memory is bounded in bytes, least recently used first.
//!
//! Cached answers carry a strong `ETag` (a digest of the bytes, the same on every replica and
//! across restarts); `If-None-Match` with it is answered `304 Not Modified`.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::graphql::access::Caller;
use crate::lru::ByteLru;
use crate::service::freshness::Freshness;

/// The key of an answer: the SHA-256 of everything that shapes it.
pub type Key = [u8; 32];

/// Bytes an entry costs beyond its body (key, headers, bookkeeping), for the byte bound.
const ENTRY_OVERHEAD: usize = 256;

/// The key of an answer to `parts` (route, format, request text…) for `caller`. Each part is
/// length-prefixed, so no two different lists of parts share a key.
pub fn key(caller: Caller, parts: &[&[u8]]) -> Key {
    let mut hasher = Sha256::new();
    hasher.update([u8::from(caller.can_read) | (u8::from(caller.can_write) << 1)]);
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// A stored answer.
#[derive(Debug)]
pub struct Stored {
    /// Its status.
    pub status: StatusCode,
    /// Its `Content-Type`.
    pub content_type: HeaderValue,
    /// Its bytes.
    pub body: Bytes,
    /// Its `ETag`, if it has one.
    pub etag: Option<HeaderValue>,
}

impl Stored {
    /// An answer tagged with the digest of its bytes ([`content_tag`]).
    pub fn tagged(status: StatusCode, content_type: HeaderValue, body: Bytes) -> Self {
        let etag = Some(content_tag(&body));
        Self { status, content_type, body, etag }
    }

    /// The HTTP answer to a request with `headers`: `304 Not Modified` when its
    /// `If-None-Match` names this answer's tag, the stored answer otherwise.
    pub fn respond(&self, headers: &HeaderMap) -> Response {
        let mut response = match &self.etag {
            Some(tag) if none_match_names(headers, tag) => StatusCode::NOT_MODIFIED.into_response(),
            _ => (self.status, [(header::CONTENT_TYPE, self.content_type.clone())], self.body.clone()).into_response(),
        };
        if let Some(tag) = &self.etag {
            response.headers_mut().insert(header::ETAG, tag.clone());
        }
        response
    }
}

/// Whether `If-None-Match` in `headers` names `tag` (weak comparison, `*` names any).
pub fn none_match_names(headers: &HeaderMap, tag: &HeaderValue) -> bool {
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let tag = strip(tag.to_str().unwrap_or(""));
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || strip(t) == tag)
}

/// A strong `ETag` for `body`: 128 bits of digest, in hex.
pub fn content_tag(body: &[u8]) -> HeaderValue {
    let digest = |seed: u64| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        seed.hash(&mut h);
        h.write(body);
        h.finish()
    };
    let tag = format!("\"{:016x}{:016x}\"", digest(0x5eed_0001), digest(0x5eed_0002));
    HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// What a lookup found.
pub enum Lookup {
    /// A fresh answer.
    Hit(Arc<Stored>),
    /// Nothing; run the operation, and store its answer with the ticket.
    Miss(Ticket),
    /// The cache is off, or nothing can be trusted to be fresh now: run the operation and
    /// keep nothing.
    Bypass,
}

/// The right to store an answer computed from the data as of one generation.
#[derive(Debug)]
pub struct Ticket {
    key: Key,
    generation: u64,
}

struct Entries {
    lru: ByteLru<Key, Arc<Stored>>,
    /// The generation every entry was computed at.
    generation: u64,
}

/// A point-in-time reading of the cache, for `/metrics`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Reading {
    /// Answers served from the cache (304s included).
    pub hits: u64,
    /// Lookups that found nothing fresh.
    pub misses: u64,
    /// Entries evicted to stay within the byte bound.
    pub evictions: u64,
    /// Bytes held.
    pub bytes: u64,
    /// Entries held.
    pub entries: u64,
    /// Generation moves by source (local write, notification, reconnect, data_version).
    pub invalidations: [u64; 4],
}

/// The response cache.
pub struct ResponseCache {
    entries: Mutex<Entries>,
    max_bytes: usize,
    freshness: Arc<Freshness>,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

impl ResponseCache {
    /// A cache of at most `max_bytes` (0: off) whose entries live while `freshness` says the
    /// data did not change.
    pub fn new(max_bytes: usize, freshness: Arc<Freshness>) -> Self {
        Self {
            entries: Mutex::new(Entries { lru: ByteLru::new(max_bytes), generation: 0 }),
            max_bytes,
            freshness,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the cache is on.
    pub fn enabled(&self) -> bool {
        self.max_bytes > 0
    }

    /// Looks `key` up.
    pub async fn lookup(&self, key: Key) -> Lookup {
        if !self.enabled() {
            return Lookup::Bypass;
        }
        let Some(generation) = self.freshness.current().await else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return Lookup::Bypass;
        };
        let found = {
            let mut entries = self.lock();
            if entries.generation != generation {
                entries.lru.clear();
                entries.generation = generation;
            }
            entries.lru.get(&key)
        };
        match found {
            Some(stored) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Lookup::Hit(stored)
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                Lookup::Miss(Ticket { key, generation })
            }
        }
    }

    /// The transports' way in: the answer to `parts` for `caller`, from the cache (`Err`, the
    /// response to send, `304` when `headers` name it), or the ticket to store the answer with
    /// (`Ok(None)` when nothing may be kept: the cache is off or blind).
    pub async fn begin(
        &self,
        caller: Caller,
        parts: &[&[u8]],
        headers: &HeaderMap,
    ) -> Result<Option<Ticket>, Response> {
        if !self.enabled() {
            return Ok(None);
        }
        match self.lookup(key(caller, parts)).await {
            Lookup::Hit(stored) => Err(stored.respond(headers)),
            Lookup::Miss(ticket) => Ok(Some(ticket)),
            Lookup::Bypass => Ok(None),
        }
    }

    /// Stores the answer of `ticket`'s request unless the data changed since the ticket was
    /// issued; returns the answer either way.
    pub fn store(&self, ticket: Ticket, stored: Stored) -> Arc<Stored> {
        let stored = Arc::new(stored);
        let weight = stored.body.len() + ENTRY_OVERHEAD;
        let mut entries = self.lock();
        // Checked under the lock: a change after this point clears the entry at the next lookup.
        if entries.generation == ticket.generation && self.freshness.generation() == Some(ticket.generation) {
            let evicted = entries.lru.put(ticket.key, stored.clone(), weight);
            self.evictions.fetch_add(evicted as u64, Ordering::Relaxed);
        }
        stored
    }

    /// The counters and sizes.
    pub fn reading(&self) -> Reading {
        let (bytes, entries) = {
            let entries = self.lock();
            (entries.lru.bytes() as u64, entries.lru.len() as u64)
        };
        Reading {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            bytes,
            entries,
            invalidations: self.freshness.counts(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::freshness::Source;

    fn answer(body: &'static str) -> Stored {
        Stored::tagged(
            StatusCode::OK,
            HeaderValue::from_static("application/json"),
            Bytes::from_static(body.as_bytes()),
        )
    }

    const READER: Caller = Caller { can_read: true, can_write: false };

    #[tokio::test]
    async fn an_answer_computed_across_a_change_is_not_kept_and_a_change_drops_everything() {
        let freshness = Arc::new(Freshness::local());
        let cache = ResponseCache::new(1 << 20, freshness.clone());
        let k = key(READER, &[b"GET", b"/passengerlist"]);
        let Lookup::Miss(ticket) = cache.lookup(k).await else { panic!("empty cache") };
        freshness.changed(Source::LocalWrite);
        cache.store(ticket, answer("[1]"));
        assert!(matches!(cache.lookup(k).await, Lookup::Miss(_)), "computed before the change: not kept");
        let Lookup::Miss(ticket) = cache.lookup(k).await else { panic!() };
        let etag = cache.store(ticket, answer("[2]")).etag.clone().unwrap();
        let Lookup::Hit(hit) = cache.lookup(k).await else { panic!("stored") };
        assert_eq!((&hit.body[..], hit.etag.as_ref()), (&b"[2]"[..], Some(&etag)));
        freshness.changed(Source::Notification);
        assert!(matches!(cache.lookup(k).await, Lookup::Miss(_)));
        let reading = cache.reading();
        assert_eq!((reading.hits, reading.misses, reading.entries), (1, 4, 0));
    }

    #[test]
    fn keys_separate_callers_and_parts() {
        let writer = Caller { can_read: true, can_write: true };
        assert_ne!(key(READER, &[b"a"]), key(writer, &[b"a"]));
        assert_ne!(key(READER, &[b"ab", b"c"]), key(READER, &[b"a", b"bc"]));
        assert_eq!(key(READER, &[b"a"]), key(READER, &[b"a"]));
    }

    #[test]
    fn if_none_match_compares_weakly_and_star_matches() {
        let tag = content_tag(b"[]");
        let mut headers = HeaderMap::new();
        assert!(!none_match_names(&headers, &tag));
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", W/{}", tag.to_str().unwrap())).unwrap(),
        );
        assert!(none_match_names(&headers, &tag));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(none_match_names(&headers, &tag));
        assert_ne!(content_tag(b"[]"), content_tag(b"[1]"));
    }
}
