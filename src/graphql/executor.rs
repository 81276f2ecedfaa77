//! What happens to a GraphQL operation, in one place.
//!
//! Every transport — `POST /graphql` (single and batched), `GET /graphql`, both WebSocket
//! sub-protocols and the legacy REST routes — hands its operations to [`Executor`], which
//! applies, once per operation and in this order:
//!
//! 1. persisted queries (APQ) and the strict-mode allow-list;
//! 2. the parse, cached by the SHA-256 of the text (only documents that validated are kept,
//!    bounded in bytes);
//! 3. the method rule: only queries over `GET`;
//! 4. access control by operation type and caller;
//! 5. the document limits: selected fields, depth, cost, introspection's own budget, and the
//!    32-bit range of every `Int` argument;
//! 6. load shedding for operations no HTTP request accounts for (WebSocket);
//! 7. validation (complexity included) and execution by async-graphql, with no extension
//!    hooked into resolution. Every document is validated in full, except a committed
//!    operation of the REST shim whose text already passed (step 2 kept it): that one runs on
//!    [`Schemas::trusted`], with its variables built by the shim. Queries are cancelled at the
//!    time limit; mutations are given a deadline they check before committing, so a write
//!    that committed is never reported as failed and a write reported as timed out was
//!    rolled back;
//! 8. an `extensions.code` on every error, no error location that does not exist, and one
//!    metric per operation.

use std::any::TypeId;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Data, Request, Response, ServerError, Value};
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::Semaphore;

use super::access::{self, Caller};
use super::documents::{DocumentHash, Documents};
use super::fast::{Encoding, Preencoded};
use super::limits::{self, Limits};
use super::ranges::InputTypes;
use super::{AppSchema, GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, Schemas, error};
use crate::metrics::Metrics;
use crate::service::Deadline;

/// The transport an operation arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `POST /graphql`, alone or in a batch.
    Post,
    /// `GET /graphql?query=…`.
    Get,
    /// A WebSocket on `/graphql` (`graphql-transport-ws` or `graphql-ws`).
    WebSocket,
    /// One of the legacy REST routes, running a committed operation.
    Rest,
}

/// Who sent an operation, and how.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// What the caller may do.
    pub caller: Caller,
    /// Where the operation came from.
    pub transport: Transport,
    /// The text form the transport writes the response in, when it writes it itself with
    /// [`crate::json`]: lists of passengers may then arrive already written in it (see
    /// `fast::Preencoded`). `None` for values consumed as values.
    pub encoding: Option<Encoding>,
}

impl Call {
    /// A call whose response is consumed as values.
    pub fn new(caller: Caller, transport: Transport) -> Self {
        Self { caller, transport, encoding: None }
    }

    /// A call whose response the transport writes in `encoding`.
    pub fn encoded(caller: Caller, transport: Transport, encoding: Encoding) -> Self {
        Self { caller, transport, encoding: Some(encoding) }
    }
}

/// The type of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `query`.
    Query,
    /// `mutation`.
    Mutation,
    /// `subscription`.
    Subscription,
    /// Not determined: the document did not parse, or names no such operation.
    Unknown,
}

impl Kind {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Mutation => "mutation",
            Self::Subscription => "subscription",
            Self::Unknown => "unknown",
        }
    }
}

impl From<OperationType> for Kind {
    fn from(t: OperationType) -> Self {
        match t {
            OperationType::Query => Self::Query,
            OperationType::Mutation => Self::Mutation,
            OperationType::Subscription => Self::Subscription,
        }
    }
}

/// How an operation ended; the transport picks its status code from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It ran; the response may still carry field errors.
    Executed,
    /// Refused before anything ran: parse, validation, limits, persisted-query or allow-list
    /// errors. The response has no `data`.
    Rejected,
    /// The caller lacks the right to this operation type.
    Unauthenticated,
    /// A mutation or subscription sent with `GET`.
    MethodNotAllowed,
    /// A query that ran past the time limit was cancelled, or a mutation was rolled back at
    /// its deadline.
    TimedOut,
    /// Too many operations in flight; nothing ran.
    Overloaded,
}

/// The result of one operation.
pub struct Executed {
    /// The GraphQL response.
    pub response: Response,
    /// How it ended.
    pub outcome: Outcome,
    /// Its type.
    pub kind: Kind,
    /// Its name, when it has one.
    pub name: Option<String>,
    /// The SHA-256 of its document, once known.
    pub document: Option<DocumentHash>,
}

impl Executed {
    fn refused(outcome: Outcome, kind: Kind, name: Option<String>, error: ServerError) -> Self {
        Self { response: Response::from_errors(vec![error]), outcome, kind, name, document: None }
    }

    /// Whether the response is complete and error-free (what may be cached or replayed).
    pub fn is_clean(&self) -> bool {
        self.outcome == Outcome::Executed && self.response.errors.is_empty()
    }

    /// The response as GraphQL-over-HTTP JSON: `errors` when there are any, `data` only when
    /// the operation ran, `extensions` when there are any. Lists that arrived already written
    /// are copied as they are.
    pub fn write_json(&self, out: &mut String) {
        let response = &self.response;
        out.push('{');
        let mut first = true;
        let mut member = |out: &mut String, name: &str| {
            if !first {
                out.push(',');
            }
            first = false;
            out.push('"');
            out.push_str(name);
            out.push_str("\":");
        };
        if !response.errors.is_empty() {
            member(out, "errors");
            out.push_str(&serde_json::to_string(&response.errors).unwrap_or_else(|_| "[]".into()));
        }
        if self.outcome == Outcome::Executed {
            member(out, "data");
            out.reserve(crate::json::size_hint(&response.data) + 1);
            crate::json::write::<crate::json::Standard>(out, &response.data);
        }
        if !response.extensions.is_empty() {
            member(out, "extensions");
            out.push_str(&serde_json::to_string(&response.extensions).unwrap_or_else(|_| "{}".into()));
        }
        out.push('}');
    }
}

/// `error` with `extensions.code` set to `code` unless it has one.
fn ensure_code(mut error: ServerError, code: &str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

/// A response holding one error with `code`.
pub fn coded(code: &str, message: impl Into<String>) -> ServerError {
    ensure_code(ServerError::new(message, None), code)
}

/// Whether a response failed before execution (parse, validation, limits): no data at all.
pub fn is_request_error(response: &Response) -> bool {
    response.data == Value::Null && !response.errors.is_empty() && response.errors.iter().all(|e| e.path.is_empty())
}

/// `ok`, or the code of the first error of `response` (for metrics).
pub fn outcome_code(response: &Response) -> &str {
    match response.errors.first().and_then(|e| e.extensions.as_ref()).and_then(|x| x.get("code")) {
        Some(Value::String(code)) => code.as_str(),
        Some(_) => "UNKNOWN",
        None if response.errors.is_empty() => "ok",
        None => "UNKNOWN",
    }
}

/// Settings of the executor.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Document limits for data queries.
    pub limits: Limits,
    /// Time an operation may take.
    pub timeout: Duration,
}

impl Policy {
    /// The policy `config` describes.
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            limits: Limits {
                max_depth: config.graphql_max_depth,
                max_fields: config.graphql_max_fields,
                max_complexity: config.graphql_max_complexity,
            },
            timeout: config.request_timeout(),
        }
    }
}

struct Inner {
    schemas: Schemas,
    input_types: InputTypes,
    documents: Arc<Documents>,
    metrics: Arc<Metrics>,
    policy: Policy,
    inflight: Arc<Semaphore>,
}

/// The one executor; cheap to clone.
#[derive(Clone)]
pub struct Executor(Arc<Inner>);

/// What [`Executor::prepare`] hands on to execution.
struct Ready {
    request: Request,
    kind: Kind,
    name: Option<String>,
    hash: DocumentHash,
    /// The parsed document to keep once it validated (first sight only).
    keep: Option<ExecutableDocument>,
    register: Option<Arc<str>>,
    /// A committed operation of the REST shim whose text validated before: it runs on
    /// [`Schemas::trusted`].
    trusted: bool,
}

impl Executor {
    /// An executor over `schemas` (or one schema for every document). `inflight` is the same
    /// semaphore the HTTP layer sheds load with, so WebSocket operations count against the
    /// same limit.
    pub fn new(
        schemas: impl Into<Schemas>,
        documents: Arc<Documents>,
        metrics: Arc<Metrics>,
        policy: Policy,
        inflight: Arc<Semaphore>,
    ) -> Self {
        let schemas = schemas.into();
        let input_types = InputTypes::from_sdl(&schemas.checked.sdl());
        Self(Arc::new(Inner { schemas, input_types, documents, metrics, policy, inflight }))
    }

    /// An executor over `schemas` with the policy of `config` and caches and metrics of its own
    /// (tests and tools).
    pub fn standalone(schemas: impl Into<Schemas>, config: &crate::config::Config) -> Self {
        let documents = Arc::new(Documents::new(config.document_cache_max_bytes, None));
        let inflight = Arc::new(Semaphore::new(config.max_concurrent_requests.max(1)));
        Self::new(schemas, documents, Arc::new(Metrics::default()), Policy::from_config(config), inflight)
    }

    /// The schema every client's document runs on.
    pub fn schema(&self) -> &AppSchema {
        &self.0.schemas.checked
    }

    /// The documents (persisted queries, allow-list, parse cache).
    pub fn documents(&self) -> &Documents {
        &self.0.documents
    }

    /// Whether `request` would run a mutation (what an idempotency key applies to).
    pub fn writes(&self, request: &Request) -> bool {
        matches!(self.0.documents.operation_type(request), Some(async_graphql::parser::types::OperationType::Mutation))
    }

    /// Runs one query or mutation (a subscription sent here is refused by async-graphql as
    /// unsupported on this transport).
    pub async fn execute(&self, request: Request, call: Call) -> Executed {
        let executed = match self.prepare(request, call) {
            Ok(ready) => self.run(ready, call).await,
            Err(refused) => refused,
        };
        self.record(&executed);
        executed
    }

    fn record(&self, executed: &Executed) {
        let code = match executed.outcome {
            Outcome::TimedOut => "TIMEOUT",
            Outcome::Overloaded => "OVERLOADED",
            _ => outcome_code(&executed.response),
        };
        self.0.metrics.graphql(executed.name.as_deref(), executed.kind.as_str(), code);
    }

    /// Steps 6 and 7 for a prepared query or mutation.
    async fn run(&self, ready: Ready, call: Call) -> Executed {
        let _permit = match call.transport {
            Transport::WebSocket => match self.0.inflight.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    let error = coded("OVERLOADED", "the server is overloaded; retry shortly");
                    return Executed::refused(Outcome::Overloaded, ready.kind, ready.name, error);
                }
            },
            _ => None,
        };
        let Ready { request, kind, name, hash, keep, register, trusted } = ready;
        let schema = if trusted { &self.0.schemas.trusted } else { &self.0.schemas.checked };
        let timeout = self.0.policy.timeout;
        let response = if kind == Kind::Mutation {
            // Never cancelled half-way: the deadline is checked before committing.
            schema.execute(request.data(Deadline(Instant::now() + timeout))).await
        } else {
            match tokio::time::timeout(timeout, schema.execute(request)).await {
                Ok(response) => response,
                Err(_) => {
                    let message = format!("the request took longer than {} ms and was cancelled", timeout.as_millis());
                    let mut executed = Executed::refused(Outcome::TimedOut, kind, name, coded("TIMEOUT", message));
                    executed.document = Some(hash);
                    return executed;
                }
            }
        };
        let mut executed = self.finish(response, kind, name);
        executed.document = Some(hash);
        if executed.outcome != Outcome::Rejected {
            self.0.documents.validated(hash, keep, register);
        }
        if kind == Kind::Mutation && executed.response.errors.iter().any(|e| has_code(e, "TIMEOUT")) {
            executed.outcome = Outcome::TimedOut;
        }
        executed
    }

    /// Steps 1 to 5: everything decided before the schema runs.
    #[allow(clippy::result_large_err)] // the refusal is the answer, handed back at once
    fn prepare(&self, mut request: Request, call: Call) -> Result<Ready, Executed> {
        let name = request.operation_name.clone();
        let prepared = match self.0.documents.prepare(&mut request) {
            Ok(prepared) => prepared,
            Err(error) => {
                let error = ensure_code(error, GRAPHQL_PARSE_FAILED);
                return Err(Executed::refused(Outcome::Rejected, Kind::Unknown, name, error));
            }
        };
        let doc = &prepared.document;
        let selected = doc
            .operations
            .iter()
            .find(|(n, _)| name.is_none() || n.map(|n| n.as_str()) == name.as_deref())
            .map(|(n, op)| (n.map(|n| n.to_string()), op.node.ty));
        let (name, kind) = match selected {
            Some((Some(found), ty)) => (Some(found), Some(ty)),
            Some((None, ty)) => (name, Some(ty)),
            None => (name, None),
        };
        let operation_type = kind;
        let kind = kind.map_or(Kind::Unknown, Kind::from);
        if call.transport == Transport::Get && matches!(kind, Kind::Mutation | Kind::Subscription) {
            let error = coded("METHOD_NOT_ALLOWED", "only queries may be sent with GET; use POST for mutations");
            return Err(Executed::refused(Outcome::MethodNotAllowed, kind, name, error));
        }
        if let Some(ty) = operation_type {
            let introspection_only = limits::is_introspection_only(doc, name.as_deref());
            if let Err(error) = access::check(call.caller, ty, introspection_only) {
                return Err(Executed::refused(Outcome::Unauthenticated, kind, name, error));
            }
        }
        // The legacy routes run committed operations whose size MAX_PAGE_SIZE alone sets: a limit
        // meant for clients' documents must not turn a larger page size into failing routes.
        if call.transport != Transport::Rest
            && let Err(error) = limits::check(doc, name.as_deref(), &request.variables, self.0.policy.limits)
        {
            let error = ensure_code(error, GRAPHQL_VALIDATION_FAILED);
            return Err(Executed::refused(Outcome::Rejected, kind, name, error));
        }
        if let Err(error) = self.0.input_types.check(doc, name.as_deref(), &request.variables) {
            return Err(Executed::refused(Outcome::Rejected, kind, name, error));
        }
        let keep = (!prepared.cached).then(|| prepared.document.clone());
        // Only the shim's own documents skip full validation, and only once they have passed it.
        let trusted = call.transport == Transport::Rest && prepared.cached;
        if let Some(encoding) = call.encoding
            && super::fast::mergeless(&prepared.document, name.as_deref())
        {
            request = request.data(Preencoded(encoding));
        }
        request.set_parsed_query(prepared.document);
        let request = request.data(call.caller);
        Ok(Ready { request, kind, name, hash: prepared.hash, keep, register: prepared.register, trusted })
    }

    /// Step 8: codes on every error, valid locations, and the outcome.
    fn finish(&self, mut response: Response, kind: Kind, name: Option<String>) -> Executed {
        let rejected = is_request_error(&response);
        for err in &mut response.errors {
            let code = if rejected { GRAPHQL_VALIDATION_FAILED } else { error::BAD_USER_INPUT };
            let taken = std::mem::replace(err, ServerError::new("", None));
            *err = ensure_code(taken, code);
            // GraphQL positions start at line 1, column 1.
            err.locations.retain(|p| p.line > 0 && p.column > 0);
        }
        let outcome = if rejected { Outcome::Rejected } else { Outcome::Executed };
        Executed { response, outcome, kind, name, document: None }
    }

    /// Runs an operation sent over a WebSocket: subscriptions stream, queries and mutations
    /// answer once. `session` holds the connection's [`Caller`].
    pub fn stream(&self, request: Request, session: Arc<Data>) -> BoxStream<'static, Response> {
        let caller = session
            .get(&TypeId::of::<Caller>())
            .and_then(|d| d.downcast_ref::<Caller>())
            .copied()
            .unwrap_or(Caller { can_write: false, can_read: false });
        let call = Call::new(caller, Transport::WebSocket);
        match self.prepare(request, call) {
            Err(refused) => {
                self.record(&refused);
                stream::once(std::future::ready(refused.response)).boxed()
            }
            Ok(ready) if ready.kind == Kind::Subscription => {
                self.0.metrics.graphql(ready.name.as_deref(), ready.kind.as_str(), "ok");
                let this = self.clone();
                // The document is kept once its first response shows it validated.
                let mut pending = Some((ready.hash, ready.keep, ready.register));
                self.0
                    .schemas
                    .checked
                    .execute_stream_with_session_data(ready.request, session)
                    .map(move |response| {
                        let executed = this.finish(response, Kind::Subscription, None);
                        if let Some((hash, keep, register)) = pending.take()
                            && executed.outcome != Outcome::Rejected
                        {
                            this.0.documents.validated(hash, keep, register);
                        }
                        executed.response
                    })
                    .boxed()
            }
            Ok(ready) => {
                let this = self.clone();
                stream::once(async move {
                    let executed = this.run(ready, call).await;
                    this.record(&executed);
                    executed.response
                })
                .boxed()
            }
        }
    }
}

fn has_code(error: &ServerError, code: &str) -> bool {
    matches!(error.extensions.as_ref().and_then(|x| x.get("code")), Some(Value::String(c)) if c == code)
}

/// The executor as async-graphql's WebSocket server sees it.
#[derive(Clone)]
pub struct WebSocketExecutor(pub Executor);

impl async_graphql::Executor for WebSocketExecutor {
    async fn execute(&self, request: Request) -> Response {
        let call = Call::new(Caller { can_write: false, can_read: false }, Transport::WebSocket);
        self.0.execute(request, call).await.response
    }

    fn execute_stream(&self, request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        self.0.stream(request, session_data.unwrap_or_default())
    }
}
