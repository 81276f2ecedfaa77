//! Automatic persisted queries (Apollo APQ), an optional allow-list, and a cache of parsed
//! documents so a document seen before is not parsed again.
//!
//! APQ: a client sends `extensions.persistedQuery.sha256Hash` without the query; if the hash
//! is unknown the answer is a `PERSISTED_QUERY_NOT_FOUND` error and the client retries with
//! the query text, which is then remembered (bounded LRU). With an allow-list configured
//! (strict mode) only the listed documents run, whether sent by hash or in full.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, ServerError, Value};
use lru::LruCache;
use sha2::{Digest, Sha256};

/// `extensions.code` when a hash is not known.
pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
/// `extensions.code` when a query does not hash to the hash sent with it.
pub const PERSISTED_QUERY_HASH_MISMATCH: &str = "PERSISTED_QUERY_HASH_MISMATCH";
/// `extensions.code` in strict mode for a document not on the allow-list.
pub const PERSISTED_QUERY_NOT_ALLOWED: &str = "PERSISTED_QUERY_NOT_ALLOWED";

/// Lower-case hex SHA-256 of `query`, as APQ clients compute it.
pub fn sha256_hex(query: &str) -> String {
    format!("{:x}", Sha256::digest(query.as_bytes()))
}

fn coded(message: &str, code: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", code);
    error
}

/// Documents known by hash, and parsed documents by text.
pub struct Documents {
    persisted: Mutex<LruCache<String, Arc<str>>>,
    parsed: Mutex<LruCache<Arc<str>, ExecutableDocument>>,
    allowlist: Option<HashMap<String, Arc<str>>>,
}

impl Documents {
    /// Caches of `capacity` entries each; strict mode when `allowlist` (hash → query) is given.
    pub fn new(capacity: usize, allowlist: Option<HashMap<String, String>>) -> Self {
        let capacity = NonZeroUsize::new(capacity.max(1)).unwrap_or(NonZeroUsize::MIN);
        Self {
            persisted: Mutex::new(LruCache::new(capacity)),
            parsed: Mutex::new(LruCache::new(capacity)),
            allowlist: allowlist.map(|m| m.into_iter().map(|(h, q)| (h.to_ascii_lowercase(), Arc::from(q))).collect()),
        }
    }

    /// Fills in the query of an APQ request, enforces the allow-list, and attaches an already
    /// parsed document when this text was seen before.
    pub fn prepare(&self, request: &mut Request) -> Result<(), ServerError> {
        let hash = match request.extensions.0.get("persistedQuery") {
            Some(Value::Object(pq)) => match pq.get("sha256Hash") {
                Some(Value::String(h)) => Some(h.to_ascii_lowercase()),
                _ => return Err(coded("persistedQuery needs a sha256Hash string", "BAD_REQUEST")),
            },
            _ => None,
        };
        match hash {
            Some(hash) if request.query.is_empty() => {
                let known = self.allowed(&hash).or_else(|| self.lock_persisted().get(&hash).cloned());
                let Some(query) = known else {
                    return Err(coded("PersistedQueryNotFound", PERSISTED_QUERY_NOT_FOUND));
                };
                request.query = query.to_string();
            }
            Some(hash) => {
                if sha256_hex(&request.query) != hash {
                    return Err(coded("provided sha does not match query", PERSISTED_QUERY_HASH_MISMATCH));
                }
                self.check_allowed(&hash)?;
                self.lock_persisted().put(hash, Arc::from(request.query.as_str()));
            }
            None => {
                if self.allowlist.is_some() {
                    self.check_allowed(&sha256_hex(&request.query))?;
                }
            }
        }
        self.attach_parsed(request);
        Ok(())
    }

    fn allowed(&self, hash: &str) -> Option<Arc<str>> {
        self.allowlist.as_ref().and_then(|a| a.get(hash).cloned())
    }

    fn check_allowed(&self, hash: &str) -> Result<(), ServerError> {
        match &self.allowlist {
            Some(list) if !list.contains_key(hash) => {
                Err(coded("this server only runs operations from its allow-list", PERSISTED_QUERY_NOT_ALLOWED))
            }
            _ => Ok(()),
        }
    }

    fn lock_persisted(&self) -> std::sync::MutexGuard<'_, LruCache<String, Arc<str>>> {
        self.persisted.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reuses the parsed form of a known text, or parses and remembers it.
    fn attach_parsed(&self, request: &mut Request) {
        let cached = {
            let mut parsed = self.parsed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            parsed.get(request.query.as_str()).cloned()
        };
        match cached {
            Some(doc) => request.set_parsed_query(doc),
            None => {
                if let Ok(doc) = request.parsed_query() {
                    let doc = doc.clone();
                    let key: Arc<str> = Arc::from(request.query.as_str());
                    self.parsed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).put(key, doc);
                }
            }
        }
    }
}

/// Reads an allow-list file: either a JSON object `{ "<sha256>": "<query>" }` or an Apollo
/// persisted-query manifest `{ "operations": [{ "id": "<sha256>", "body": "<query>" }] }`.
pub fn read_allowlist(text: &str) -> Result<HashMap<String, String>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut out = HashMap::new();
    if let Some(operations) = value.get("operations").and_then(|o| o.as_array()) {
        for op in operations {
            let (Some(id), Some(body)) =
                (op.get("id").and_then(|v| v.as_str()), op.get("body").and_then(|v| v.as_str()))
            else {
                return Err("every operation needs an `id` and a `body`".into());
            };
            out.insert(id.to_owned(), body.to_owned());
        }
    } else if let Some(map) = value.as_object() {
        for (hash, query) in map {
            let query = query.as_str().ok_or("values must be query strings")?;
            out.insert(hash.clone(), query.to_owned());
        }
    } else {
        return Err("expected a JSON object".into());
    }
    for (hash, query) in &out {
        if sha256_hex(query) != hash.to_ascii_lowercase() {
            return Err(format!("entry {hash} does not match the SHA-256 of its query"));
        }
    }
    Ok(out)
}

/// An Apollo persisted-query manifest for `documents` (each a whole `.graphql` file).
pub fn manifest(documents: &[(String, String)]) -> serde_json::Value {
    let operations: Vec<_> = documents
        .iter()
        .map(|(name, body)| serde_json::json!({ "id": sha256_hex(body), "name": name, "body": body }))
        .collect();
    serde_json::json!({ "format": "apollo-persisted-query-manifest", "version": 1, "operations": operations })
}
