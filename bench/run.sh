#!/usr/bin/env bash
# Load-test harness: builds the release binary, starts it against SQLite and PostgreSQL,
# seeds data, drives every scenario with wrk at 16 and 64 connections, runs pgbench with the
# equivalent SQL at the same concurrency in the same run, and prints one row per scenario.
#   bench/run.sh            full run (8 s per scenario, 1,000,000-row scale scenarios)
#   bench/run.sh --smoke    a few seconds per scenario on the 887 legacy rows (CI)
#   bench/run.sh --ratios   only the alternating rounds behind the ratio targets (about 7 min)
# PostgreSQL: BENCH_DATABASE_URL (default postgres://postgres:postgres@127.0.0.1:5432/postgres);
# the harness creates and drops its own database there. Only 127.0.0.1 is ever loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null || ! command -v pgbench >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq
  timeout 900 apt-get install -y -qq wrk postgresql-client >/dev/null
fi
cargo build --release --locked --bin passenger-api
exec python3 bench/harness.py "$@"
