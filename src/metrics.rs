//! Prometheus metrics, kept in process and rendered in the text exposition format at
//! `GET /metrics`.
//!
//! Label sets are few and bounded (route templates, methods, status codes, operation names,
//! statement kinds), so a small map per metric is enough: reads take a read lock, a new label
//! set takes the write lock once. Operation names are bounded without losing the ones that
//! matter: the names the service knows (the REST shim's operations, the allow-list's) always
//! keep their own label; other names get one until [`MAX_OPERATION_NAMES`] are tracked, and
//! later ones count as `other`.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];
/// Most distinct client-chosen GraphQL operation names tracked; later ones count as `other`.
pub const MAX_OPERATION_NAMES: usize = 200;

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Counter(RwLock<BTreeMap<Labels, AtomicU64>>);

impl Counter {
    fn inc(&self, labels: Labels) {
        if let Some(c) = self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&labels) {
            c.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut map = self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(labels).or_default().fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (labels, value) in self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            let _ = writeln!(out, "{name}{} {}", render_labels(labels, None), value.load(Ordering::Relaxed));
        }
    }
}

#[derive(Default)]
struct Buckets {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

#[derive(Default)]
struct Histogram(RwLock<BTreeMap<Labels, Buckets>>);

impl Histogram {
    fn observe(&self, labels: Labels, elapsed: Duration) {
        let record = |b: &Buckets| {
            let secs = elapsed.as_secs_f64();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if secs <= *bound {
                    b.counts[i].fetch_add(1, Ordering::Relaxed);
                }
            }
            b.count.fetch_add(1, Ordering::Relaxed);
            b.sum_micros.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        };
        if let Some(b) = self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&labels) {
            return record(b);
        }
        let mut map = self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        record(map.entry(labels).or_default());
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (labels, b) in self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            for (i, bound) in BUCKETS.iter().enumerate() {
                let le = format!("{bound}");
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {}",
                    render_labels(labels, Some(&le)),
                    b.counts[i].load(Ordering::Relaxed)
                );
            }
            let count = b.count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{} {count}", render_labels(labels, Some("+Inf")));
            let sum = b.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "{name}_sum{} {sum}", render_labels(labels, None));
            let _ = writeln!(out, "{name}_count{} {count}", render_labels(labels, None));
        }
    }
}

fn render_labels(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() { String::new() } else { format!("{{{}}}", parts.join(",")) }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// A point-in-time reading of gauges that live elsewhere (pool, subscriptions).
#[derive(Debug, Default, Clone, Copy)]
pub struct Gauges {
    /// Connections open in the pool.
    pub pool_size: u64,
    /// Connections idle in the pool.
    pub pool_idle: u64,
    /// Largest pool size.
    pub pool_max: u64,
    /// Requests waiting for a connection (estimate: database requests in flight beyond the
    /// connections in use).
    pub pool_waiting: u64,
    /// Open subscriptions.
    pub subscriptions: u64,
    /// Bytes held by the parsed-document cache.
    pub documents_bytes: u64,
    /// Bytes held by the persisted-query store.
    pub persisted_bytes: u64,
    /// Clients the rate limiter tracks.
    pub rate_limited_clients: u64,
    /// Answers served from the response cache (counter).
    pub cache_hits: u64,
    /// Response-cache lookups that found nothing fresh (counter).
    pub cache_misses: u64,
    /// Response-cache entries evicted by the byte bound (counter).
    pub cache_evictions: u64,
    /// Bytes the response cache holds.
    pub cache_bytes: u64,
    /// Entries the response cache holds.
    pub cache_entries: u64,
    /// Response-cache invalidations by source (counter).
    pub cache_invalidations: [(&'static str, u64); 4],
}

/// Every metric of the service.
#[derive(Default)]
pub struct Metrics {
    http_requests: Counter,
    http_latency: Histogram,
    graphql_operations: Counter,
    db_statements: Counter,
    db_latency: Histogram,
    /// Operation names with a label of their own: known ones, then the first client ones.
    operation_names: RwLock<(HashSet<String>, usize)>,
    /// Database-touching requests in flight (for the waiting estimate).
    pub db_requests_in_flight: AtomicU64,
}

impl Metrics {
    /// Records one HTTP request.
    pub fn http(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let labels = vec![("route", route.to_owned()), ("method", method.to_owned()), ("status", status.to_string())];
        self.http_requests.inc(labels);
        self.http_latency.observe(vec![("route", route.to_owned()), ("method", method.to_owned())], elapsed);
    }

    /// Gives `names` (operations the service itself knows) a label of their own for good.
    pub fn known_operations<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        let mut guard = self.operation_names.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.0.extend(names.into_iter().map(str::to_owned));
    }

    /// The label of operation `name`: its own, or `other` once the client names are used up.
    fn operation_label(&self, name: Option<&str>) -> String {
        let name: String = name.unwrap_or("anonymous").chars().take(64).collect();
        if self.operation_names.read().unwrap_or_else(std::sync::PoisonError::into_inner).0.contains(&name) {
            return name;
        }
        let mut guard = self.operation_names.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (names, client_names) = &mut *guard;
        if names.contains(&name) {
            name
        } else if *client_names < MAX_OPERATION_NAMES {
            *client_names += 1;
            names.insert(name.clone());
            name
        } else {
            "other".to_owned()
        }
    }

    /// Records one GraphQL operation and its outcome (`ok` or the first error code).
    pub fn graphql(&self, name: Option<&str>, kind: &str, outcome: &str) {
        let name = self.operation_label(name);
        self.graphql_operations.inc(vec![("operation", name), ("type", kind.to_owned()), ("code", outcome.to_owned())]);
    }

    /// Records one SQL statement.
    pub fn statement(&self, sql: &str, failed: bool, elapsed: Duration) {
        let kind = sql.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let kind = match kind.as_str() {
            "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "BEGIN" | "COMMIT" | "ROLLBACK" => kind,
            _ => "OTHER".to_owned(),
        };
        self.db_statements.inc(vec![("kind", kind.clone()), ("failed", failed.to_string())]);
        self.db_latency.observe(vec![("kind", kind)], elapsed);
    }

    /// The exposition text.
    pub fn render(&self, gauges: Gauges) -> String {
        let mut out = String::with_capacity(8192);
        let _ = writeln!(
            out,
            "# HELP passenger_api_build_info Build information.\n# TYPE passenger_api_build_info gauge\npassenger_api_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        self.http_requests.render(
            &mut out,
            "passenger_api_http_requests_total",
            "HTTP requests by route template, method and status.",
        );
        self.http_latency.render(&mut out, "passenger_api_http_request_duration_seconds", "HTTP request latency.");
        self.graphql_operations.render(
            &mut out,
            "passenger_api_graphql_operations_total",
            "GraphQL operations by name, type and outcome (ok or error code).",
        );
        self.db_statements.render(&mut out, "passenger_api_db_statements_total", "SQL statements by kind and failure.");
        self.db_latency.render(&mut out, "passenger_api_db_statement_duration_seconds", "SQL statement latency.");
        for (name, help, value) in [
            ("passenger_api_db_pool_connections", "Connections open in the pool.", gauges.pool_size),
            ("passenger_api_db_pool_idle", "Idle connections in the pool.", gauges.pool_idle),
            ("passenger_api_db_pool_in_use", "Connections in use.", gauges.pool_size.saturating_sub(gauges.pool_idle)),
            ("passenger_api_db_pool_max", "Largest pool size.", gauges.pool_max),
            ("passenger_api_db_pool_waiting", "Requests waiting for a connection (estimate).", gauges.pool_waiting),
            ("passenger_api_subscriptions_open", "Open GraphQL subscriptions.", gauges.subscriptions),
            ("passenger_api_document_cache_bytes", "Bytes held by the parsed-document cache.", gauges.documents_bytes),
            (
                "passenger_api_persisted_queries_bytes",
                "Bytes held by the persisted-query store.",
                gauges.persisted_bytes,
            ),
            ("passenger_api_rate_limited_clients", "Clients the rate limiter tracks.", gauges.rate_limited_clients),
            ("passenger_api_response_cache_bytes", "Bytes the response cache holds.", gauges.cache_bytes),
            ("passenger_api_response_cache_entries", "Entries the response cache holds.", gauges.cache_entries),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        }
        for (name, help, value) in [
            ("passenger_api_response_cache_hits_total", "Answers served from the response cache.", gauges.cache_hits),
            (
                "passenger_api_response_cache_misses_total",
                "Response-cache lookups that found nothing fresh.",
                gauges.cache_misses,
            ),
            (
                "passenger_api_response_cache_evictions_total",
                "Response-cache entries evicted by the byte bound.",
                gauges.cache_evictions,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        }
        let name = "passenger_api_response_cache_invalidations_total";
        let _ = writeln!(out, "# HELP {name} Times the response cache was emptied, by what told it the data changed.");
        let _ = writeln!(out, "# TYPE {name} counter");
        for (source, value) in gauges.cache_invalidations {
            let _ = writeln!(out, "{name}{{source=\"{source}\"}} {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let m = Metrics::default();
        m.http("/graphql", "POST", 200, Duration::from_millis(3));
        m.http("/graphql", "POST", 200, Duration::from_millis(30));
        m.graphql(Some("Q"), "query", "ok");
        m.statement("select 1", false, Duration::from_micros(200));
        let text = m.render(Gauges { pool_size: 3, pool_idle: 1, pool_max: 16, ..Gauges::default() });
        assert!(
            text.contains("passenger_api_http_requests_total{route=\"/graphql\",method=\"POST\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains(
            "passenger_api_http_request_duration_seconds_bucket{route=\"/graphql\",method=\"POST\",le=\"0.005\"} 1"
        ));
        assert!(
            text.contains("passenger_api_http_request_duration_seconds_count{route=\"/graphql\",method=\"POST\"} 2")
        );
        assert!(text.contains("passenger_api_graphql_operations_total{operation=\"Q\",type=\"query\",code=\"ok\"} 1"));
        assert!(text.contains("passenger_api_db_statements_total{kind=\"SELECT\",failed=\"false\"} 1"));
        assert!(text.contains("passenger_api_db_pool_in_use 2"));
    }

    #[test]
    fn known_operations_keep_their_label_past_the_cap() {
        let m = Metrics::default();
        m.known_operations(["LegacyGetPassenger"]);
        for i in 0..(MAX_OPERATION_NAMES + 50) {
            m.graphql(Some(&format!("Client{i}")), "query", "ok");
        }
        m.graphql(Some("LegacyGetPassenger"), "query", "ok");
        m.graphql(Some("Client0"), "query", "ok");
        let text = m.render(Gauges::default());
        assert!(text.contains("operation=\"LegacyGetPassenger\",type=\"query\",code=\"ok\"} 1"), "{text}");
        assert!(text.contains("operation=\"Client0\",type=\"query\",code=\"ok\"} 2"));
        assert!(text.contains("operation=\"other\",type=\"query\",code=\"ok\"} 50"));
        assert!(!text.contains(&format!("Client{}\"", MAX_OPERATION_NAMES)));
    }
}
