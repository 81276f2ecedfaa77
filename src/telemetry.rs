//! Logging setup: `tracing` with JSON lines in production and pretty lines on a terminal.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt};

use crate::config::LogFormat;

/// Installs the global subscriber. `filter` uses `tracing`'s `EnvFilter` syntax; an invalid
/// filter falls back to `info` rather than silencing the service.
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // `try_init` fails only when a subscriber is already installed (tests); keep that one.
    let _ = if json { builder.json().flatten_event(true).try_init() } else { builder.try_init() };
}
