//! Documents: automatic persisted queries (Apollo APQ), the strict-mode allow-list, and a cache
//! of parsed documents, so a document seen before is not parsed again.
//!
//! APQ: a client sends `extensions.persistedQuery.sha256Hash` without the query; if the hash
//! is unknown the answer is a `PERSISTED_QUERY_NOT_FOUND` error and the client retries with
//! the query text, which is remembered once it validated. With an allow-list configured
//! (strict mode) only the listed documents run, whether sent by hash or in full.
//!
//! Both caches are keyed by the SHA-256 of the text, hold only documents that validated, and
//! are bounded in bytes (least recently used entries go first): an anonymous client sending
//! distinct, huge or invalid documents cannot grow the process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Request, ServerError, Value};
use sha2::{Digest, Sha256};

use crate::lru::ByteLru;

/// `extensions.code` when a hash is not known.
pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
/// `extensions.code` when a query does not hash to the hash sent with it.
pub const PERSISTED_QUERY_HASH_MISMATCH: &str = "PERSISTED_QUERY_HASH_MISMATCH";
/// `extensions.code` in strict mode for a document not on the allow-list.
pub const PERSISTED_QUERY_NOT_ALLOWED: &str = "PERSISTED_QUERY_NOT_ALLOWED";

/// The SHA-256 of a document's text: the key of both caches.
pub type DocumentHash = [u8; 32];

/// SHA-256 of `query`.
pub fn sha256(query: &str) -> DocumentHash {
    Sha256::digest(query.as_bytes()).into()
}

/// Lower-case hex SHA-256 of `query`, as APQ clients compute it.
pub fn sha256_hex(query: &str) -> String {
    hex(&sha256(query))
}

fn hex(hash: &DocumentHash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex(text: &str) -> Option<DocumentHash> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn coded(message: &str, code: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", code);
    error
}

/// A document ready to run: its text, hash and parsed form.
pub struct Prepared {
    /// SHA-256 of the text.
    pub hash: DocumentHash,
    /// The parsed document (a copy; the cache keeps its own).
    pub document: ExecutableDocument,
    /// Whether the document came from the cache, i.e. it validated before.
    pub cached: bool,
    /// The text to remember for APQ once it validated.
    pub register: Option<Arc<str>>,
}

/// Persisted queries, the allow-list, and parsed documents.
pub struct Documents {
    persisted: Mutex<ByteLru<DocumentHash, Arc<str>>>,
    parsed: Mutex<ByteLru<DocumentHash, ExecutableDocument>>,
    allowlist: Option<HashMap<DocumentHash, Arc<str>>>,
}

impl Documents {
    /// Caches of at most `max_bytes` each; strict mode when `allowlist` (hex hash → query) is
    /// given.
    pub fn new(max_bytes: usize, allowlist: Option<HashMap<String, String>>) -> Self {
        Self {
            persisted: Mutex::new(ByteLru::new(max_bytes)),
            parsed: Mutex::new(ByteLru::new(max_bytes)),
            allowlist: allowlist.map(|m| {
                m.into_iter().filter_map(|(h, q)| Some((parse_hex(&h.to_ascii_lowercase())?, Arc::from(q)))).collect()
            }),
        }
    }

    /// Whether strict mode is on.
    pub fn strict(&self) -> bool {
        self.allowlist.is_some()
    }

    /// Whether `query` may run in strict mode (always, without an allow-list).
    pub fn is_allowed(&self, query: &str) -> bool {
        self.allowlist.as_ref().is_none_or(|list| list.contains_key(&sha256(query)))
    }

    /// Fills in the query of an APQ request, enforces the allow-list, and returns the parsed
    /// document (from the cache when this text validated before). Errors carry their code.
    pub fn prepare(&self, request: &mut Request) -> Result<Prepared, ServerError> {
        let hash = match request.extensions.0.get("persistedQuery") {
            Some(Value::Object(pq)) => match pq.get("sha256Hash") {
                Some(Value::String(h)) => Some(h.to_ascii_lowercase()),
                _ => return Err(coded("persistedQuery needs a sha256Hash string", "BAD_REQUEST")),
            },
            _ => None,
        };
        let mut register = None;
        let key = match hash {
            Some(hash) if request.query.is_empty() => {
                let key = parse_hex(&hash).ok_or_else(|| coded("PersistedQueryNotFound", PERSISTED_QUERY_NOT_FOUND))?;
                let known = self.allowed(&key).or_else(|| self.lock_persisted().get(&key));
                let Some(query) = known else {
                    return Err(coded("PersistedQueryNotFound", PERSISTED_QUERY_NOT_FOUND));
                };
                request.query = query.to_string();
                key
            }
            Some(hash) => {
                let key = sha256(&request.query);
                if hex(&key) != hash {
                    return Err(coded("provided sha does not match query", PERSISTED_QUERY_HASH_MISMATCH));
                }
                self.check_allowed(&key)?;
                register = Some(Arc::from(request.query.as_str()));
                key
            }
            None => {
                let key = sha256(&request.query);
                self.check_allowed(&key)?;
                key
            }
        };
        let cached = self.parsed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key);
        let (document, cached) = match cached {
            Some(doc) => (doc, true),
            None => (async_graphql::parser::parse_query(&request.query)?, false),
        };
        Ok(Prepared { hash: key, document, cached, register })
    }

    /// The type of the operation `request` would run, without running or remembering anything
    /// (`None` when the document is unknown, does not parse, or has no such operation).
    pub fn operation_type(&self, request: &Request) -> Option<OperationType> {
        let text: Arc<str> = match request.extensions.0.get("persistedQuery") {
            Some(Value::Object(pq)) if request.query.is_empty() => match pq.get("sha256Hash") {
                Some(Value::String(h)) => {
                    let key = parse_hex(&h.to_ascii_lowercase())?;
                    self.allowed(&key).or_else(|| self.lock_persisted().get(&key))?
                }
                _ => return None,
            },
            _ => Arc::from(request.query.as_str()),
        };
        let cached = self.parsed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&sha256(&text));
        let document = match cached {
            Some(doc) => doc,
            None => async_graphql::parser::parse_query(&*text).ok()?,
        };
        let name = request.operation_name.as_deref();
        document
            .operations
            .iter()
            .find(|(n, _)| name.is_none() || n.map(|n| n.as_str()) == name)
            .map(|(_, op)| op.node.ty)
    }

    /// Remembers a document that validated: its parsed form and, for an APQ registration,
    /// its text.
    pub fn validated(
        &self,
        prepared_hash: DocumentHash,
        document: Option<ExecutableDocument>,
        register: Option<Arc<str>>,
    ) {
        if let Some(doc) = document {
            let weight = weight(&doc);
            self.parsed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).put(prepared_hash, doc, weight);
        }
        if let Some(text) = register {
            let weight = text.len() + 128;
            self.lock_persisted().put(prepared_hash, text, weight);
        }
    }

    fn allowed(&self, hash: &DocumentHash) -> Option<Arc<str>> {
        self.allowlist.as_ref().and_then(|a| a.get(hash).cloned())
    }

    fn check_allowed(&self, hash: &DocumentHash) -> Result<(), ServerError> {
        match &self.allowlist {
            Some(list) if !list.contains_key(hash) => {
                Err(coded("this server only runs operations from its allow-list", PERSISTED_QUERY_NOT_ALLOWED))
            }
            _ => Ok(()),
        }
    }

    fn lock_persisted(&self) -> std::sync::MutexGuard<'_, ByteLru<DocumentHash, Arc<str>>> {
        self.persisted.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Bytes held by the parsed-document cache and the persisted-query store.
    pub fn bytes_held(&self) -> (usize, usize) {
        let parsed = self.parsed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).bytes();
        (parsed, self.lock_persisted().bytes())
    }
}

/// Approximate heap size of a parsed document: a fixed cost per node of the tree.
fn weight(doc: &ExecutableDocument) -> usize {
    fn nodes(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| {
                1 + item.node.directives().len()
                    + match &item.node {
                        Selection::Field(f) => f.node.arguments.len() + nodes(&f.node.selection_set.node),
                        Selection::InlineFragment(f) => nodes(&f.node.selection_set.node),
                        Selection::FragmentSpread(_) => 0,
                    }
            })
            .sum()
    }
    let operations: usize = doc
        .operations
        .iter()
        .map(|(_, op)| 1 + op.node.variable_definitions.len() + nodes(&op.node.selection_set.node))
        .sum();
    let fragments: usize = doc.fragments.values().map(|f| 1 + nodes(&f.node.selection_set.node)).sum();
    1024 + 256 * (operations + fragments)
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

/// An Apollo persisted-query manifest for `documents` (name, whole `.graphql` text).
pub fn manifest(documents: &[(String, String)]) -> serde_json::Value {
    let operations: Vec<_> = documents
        .iter()
        .map(|(name, body)| serde_json::json!({ "id": sha256_hex(body), "name": name, "body": body }))
        .collect();
    serde_json::json!({ "format": "apollo-persisted-query-manifest", "version": 1, "operations": operations })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let hash = sha256("{ __typename }");
        assert_eq!(parse_hex(&hex(&hash)), Some(hash));
        assert_eq!(parse_hex("zz"), None);
    }
}
