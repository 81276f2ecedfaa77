//! Configuration: one clap-derived struct, read from flags or the environment.
//!
//! Every option is documented once here; those docs are what `passenger-api --help` prints and
//! what the README's configuration table lists. Every flag has an environment variable of the
//! same name in upper case, so containers configure the service with the environment only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The default database: an SQLite file in the working directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://passenger-api.db";

/// Command line of the `passenger-api` binary.
#[derive(Debug, Parser)]
#[command(name = "passenger-api", version, about, long_about = None)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub config: Config,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP server (the default).
    Serve,
    /// Apply pending database migrations (adopting a legacy database in place) and exit.
    Migrate {
        /// Undo the adoption instead: drop everything passenger-api added to a PostgreSQL
        /// database and rename its table back, leaving the `titanic` table exactly as the
        /// legacy DDL made it, with every row. The rollback step of a cut-over; stop every
        /// passenger-api replica first.
        #[arg(long)]
        down_to_legacy: bool,
    },
    /// Print the GraphQL schema (SDL) and exit.
    Schema,
    /// Load the bundled historical passengers (887, in CSV order), import a legacy CSV file,
    /// or generate synthetic passengers.
    Seed(SeedArgs),
    /// Print an Apollo persisted-query manifest (the allow-list format) for .graphql files.
    PersistedQueries {
        /// GraphQL documents, one operation each (a client's committed operations).
        #[arg(required_unless_present = "include_legacy_routes")]
        files: Vec<PathBuf>,
        /// Also list the operations of the legacy REST routes, so they keep working in strict
        /// mode (without them the legacy routes answer 403).
        #[arg(long)]
        include_legacy_routes: bool,
    },
}

/// Arguments of `passenger-api seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// CSV file in the legacy format (header
    /// `Survived,Pclass,Name,Sex,Age,Siblings_Spouses_Aboard,Parents_Children_Aboard,Fare`);
    /// without it, the bundled historical passengers are loaded.
    #[arg(conflicts_with = "synthetic")]
    pub file: Option<PathBuf>,
    /// Generate this many plausible random passengers instead of reading a file.
    #[arg(long, value_name = "N")]
    pub synthetic: Option<u64>,
    /// Do nothing when the table already holds rows (for start-up scripts).
    #[arg(long, env = "SEED_IF_EMPTY")]
    pub if_empty: bool,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// JSON when standard error is not a terminal, human-readable otherwise.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Pretty,
}

/// All settings of the service.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database URL: `sqlite://FILE` (created if missing) or `postgres://USER:PASS@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true, hide_env_values = true)]
    pub database_url: String,

    /// Maximum number of pooled database connections.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    pub db_max_connections: u32,

    /// PostgreSQL connections the pool keeps open while idle (at most `DB_MAX_CONNECTIONS`),
    /// so that a request after a quiet spell, or one that needs a second connection at once
    /// (a long list's snapshot), does not wait for a new connection's handshake.
    #[arg(long, env = "DB_MIN_CONNECTIONS", default_value_t = 2, global = true)]
    pub db_min_connections: u32,

    /// Seconds to wait for a pooled database connection before failing the request.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_SECS", default_value_t = 5, global = true)]
    pub db_acquire_timeout_secs: u64,

    /// Address and port the HTTP server listens on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080", global = true)]
    pub bind: SocketAddr,

    /// Do not apply database migrations when the server starts.
    #[arg(long, env = "NO_MIGRATE", global = true)]
    pub no_migrate: bool,

    /// Do not load the bundled historical passengers into an SQLite database that `serve`
    /// creates (by default a new SQLite file starts with the 887 passengers; an existing
    /// database, or a PostgreSQL one, is never seeded implicitly).
    #[arg(long, env = "NO_SEED", global = true)]
    pub no_seed: bool,

    /// Log filter, in `tracing` syntax (`info`, `passenger_api=debug,warn`, ...).
    #[arg(long, env = "LOG_LEVEL", default_value = "info", global = true)]
    pub log_level: String,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto, global = true)]
    pub log_format: LogFormat,

    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT before the process exits.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", default_value_t = 30, global = true)]
    pub shutdown_timeout_secs: u64,

    /// Largest `first`/`last` a `passengers` page may ask for.
    #[arg(long, env = "MAX_PAGE_SIZE", default_value_t = 1000, global = true)]
    pub max_page_size: u32,

    /// Deepest nesting of fields a GraphQL data query may have (introspection is judged by a
    /// bound of its own: the standard introspection query of graphql-js always passes).
    #[arg(long, env = "GRAPHQL_MAX_DEPTH", default_value_t = 12, global = true)]
    pub graphql_max_depth: usize,

    /// Highest estimated cost a GraphQL operation may have: every value returned counts 1, a
    /// lookup 2, a page read 10, a write 10, a full-table count or aggregate 5000; lists count
    /// their items (a page its size, `namesakes` its `first`).
    #[arg(long, env = "GRAPHQL_MAX_COMPLEXITY", default_value_t = 50_000, global = true)]
    pub graphql_max_complexity: u64,

    /// Most fields (aliases included) a GraphQL document may select in total.
    #[arg(long, env = "GRAPHQL_MAX_FIELDS", default_value_t = 2000, global = true)]
    pub graphql_max_fields: usize,

    /// Most operations one batched GraphQL request may carry.
    #[arg(long, env = "GRAPHQL_MAX_BATCH", default_value_t = 10, global = true)]
    pub graphql_max_batch: usize,

    /// Largest request body, in bytes, on any route (413 beyond it).
    #[arg(long, env = "BODY_LIMIT_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub body_limit_bytes: usize,

    /// Milliseconds a GraphQL request may run before it is cancelled and answered with a
    /// `TIMEOUT` error (HTTP 503).
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 30_000, global = true)]
    pub request_timeout_ms: u64,

    /// Seconds the answer of a write sent with an `Idempotency-Key` is kept: a retry with the
    /// key within this time gets the first answer and writes nothing.
    #[arg(long, env = "IDEMPOTENCY_TTL_SECS", default_value_t = 24 * 60 * 60, global = true)]
    pub idempotency_ttl_secs: u64,

    /// Most subscriptions open at once across all WebSocket connections.
    #[arg(long, env = "MAX_SUBSCRIPTIONS", default_value_t = 1000, global = true)]
    pub max_subscriptions: usize,

    /// Events buffered per subscriber; one that falls further behind is disconnected with a
    /// `SUBSCRIBER_LAGGED` error (writers never wait for subscribers).
    #[arg(long, env = "EVENT_BUFFER", default_value_t = 1024, global = true)]
    pub event_buffer: usize,

    /// Bytes the parsed-document cache and the persisted-query (APQ) store may each hold; only
    /// documents that validated are kept, least recently used evicted first.
    #[arg(long, env = "DOCUMENT_CACHE_MAX_BYTES", default_value_t = 8 * 1024 * 1024, global = true)]
    pub document_cache_max_bytes: usize,

    /// Bytes the response cache may hold (whole answers to queries, dropped the moment the
    /// data changes; least recently used evicted first). `0` turns the cache off.
    #[arg(long, env = "RESPONSE_CACHE_MAX_BYTES", default_value_t = 32 * 1024 * 1024, global = true)]
    pub response_cache_max_bytes: usize,

    /// Strict mode: a JSON allow-list of operations (`{"<sha256>": "<query>"}` or an Apollo
    /// persisted-query manifest, see `passenger-api persisted-queries`); only those run.
    #[arg(long, env = "PERSISTED_QUERIES_ALLOWLIST", global = true)]
    pub persisted_queries_allowlist: Option<PathBuf>,

    /// Directory holding the playground's GraphiQL and React bundles
    /// (`scripts/fetch-playground-assets.sh` fills it); without them the page uses a CDN.
    #[arg(long, env = "PLAYGROUND_ASSETS_DIR", default_value = "assets/playground", global = true)]
    pub playground_assets_dir: PathBuf,

    /// API tokens (comma-separated) that writes require as `Authorization: Bearer <token>`.
    /// Without any token configured, writes are open (a warning is logged at start).
    #[arg(long, env = "API_TOKENS", global = true, hide_env_values = true)]
    pub api_tokens: Option<Secret>,

    /// File with one API token per line (blank lines and `#` comments ignored), e.g. a
    /// mounted Kubernetes Secret; combined with `API_TOKENS`.
    #[arg(long, env = "API_TOKENS_FILE", global = true)]
    pub api_tokens_file: Option<PathBuf>,

    /// Require a token for reads too (queries, subscriptions, the legacy GET routes).
    #[arg(long, env = "PROTECT_READS", global = true)]
    pub protect_reads: bool,

    /// Origins allowed to call the API from a browser (comma-separated, e.g.
    /// `https://app.example.com`); none by default, so only same-origin pages can.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',', global = true)]
    pub cors_allowed_origins: Vec<String>,

    /// Requests per second allowed per client (token, else IP address); 0 turns rate
    /// limiting off (the default). Excess requests get 429 with `Retry-After`.
    #[arg(long, env = "RATE_LIMIT_PER_SECOND", default_value_t = 0.0, global = true)]
    pub rate_limit_per_second: f64,

    /// Burst a client may send above its rate.
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 50, global = true)]
    pub rate_limit_burst: u32,

    /// Requests handled at once; more are shed immediately with 503 instead of queueing.
    #[arg(long, env = "MAX_CONCURRENT_REQUESTS", default_value_t = 1024, global = true)]
    pub max_concurrent_requests: usize,

    /// Seconds between turning `/readyz` to 503 on SIGTERM and stopping to accept
    /// connections (time for load balancers to notice).
    #[arg(long, env = "SHUTDOWN_DELAY_SECS", default_value_t = 0, global = true)]
    pub shutdown_delay_secs: u64,

    /// Disable GraphQL introspection (and with it the playground's schema explorer).
    #[arg(long, env = "DISABLE_INTROSPECTION", global = true)]
    pub disable_introspection: bool,
}

/// A secret string: parsed from the command line or environment, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl Config {
    /// Whether API tokens are configured (inline or by file).
    pub fn tokens_configured(&self) -> bool {
        self.api_tokens.as_ref().is_some_and(|t| t.0.split(',').any(|t| !t.trim().is_empty()))
            || self.api_tokens_file.is_some()
    }

    /// Every configured API token: `API_TOKENS` plus the lines of `API_TOKENS_FILE`.
    pub fn load_tokens(&self) -> std::io::Result<Vec<String>> {
        let mut tokens: Vec<String> = self
            .api_tokens
            .iter()
            .flat_map(|t| t.0.split(','))
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        if let Some(path) = &self.api_tokens_file {
            let text = std::fs::read_to_string(path)?;
            tokens.extend(
                text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned),
            );
        }
        Ok(tokens)
    }

    /// [`Self::shutdown_delay_secs`] as a duration.
    pub fn shutdown_delay(&self) -> Duration {
        Duration::from_secs(self.shutdown_delay_secs)
    }

    /// Configuration with every default, pointing at `database_url`; used by tests and tools.
    pub fn with_database_url(database_url: impl Into<String>) -> Self {
        let mut config = Cli::parse_from(["passenger-api"]).config;
        config.database_url = database_url.into();
        config
    }

    /// [`Self::idempotency_ttl_secs`] as a duration.
    pub fn idempotency_ttl(&self) -> Duration {
        Duration::from_secs(self.idempotency_ttl_secs)
    }

    /// [`Self::db_acquire_timeout_secs`] as a duration.
    pub fn db_acquire_timeout(&self) -> Duration {
        Duration::from_secs(self.db_acquire_timeout_secs)
    }

    /// [`Self::shutdown_timeout_secs`] as a duration.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }

    /// [`Self::request_timeout_ms`] as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_arguments_means_serve_on_the_embedded_sqlite_file() {
        let cli = Cli::parse_from(["passenger-api"]);
        assert!(cli.command.is_none());
        assert_eq!(cli.config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(cli.config.bind.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn options_are_accepted_after_the_subcommand() {
        let cli = Cli::parse_from(["passenger-api", "serve", "--bind", "0.0.0.0:9000", "--no-migrate"]);
        assert!(matches!(cli.command, Some(Command::Serve)));
        assert_eq!(cli.config.bind.port(), 9000);
        assert!(cli.config.no_migrate);
    }

    #[test]
    fn seed_takes_a_file_a_synthetic_count_or_nothing_for_the_bundled_data() {
        let cli = Cli::try_parse_from(["passenger-api", "seed"]).unwrap();
        let Some(Command::Seed(args)) = cli.command else { panic!("not seed") };
        assert!(args.file.is_none() && args.synthetic.is_none());
        assert!(Cli::try_parse_from(["passenger-api", "seed", "x.csv", "--synthetic", "3"]).is_err());
        let cli = Cli::try_parse_from(["passenger-api", "seed", "--synthetic", "10", "--if-empty"]).unwrap();
        let Some(Command::Seed(args)) = cli.command else { panic!("not seed") };
        assert_eq!(args.synthetic, Some(10));
        assert!(args.if_empty);
    }
}
