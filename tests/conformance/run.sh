#!/usr/bin/env bash
# Conformance against a live server: the graphql-http audit suite (every MUST and SHOULD of the
# GraphQL-over-HTTP specification), schemathesis with every check on the routes described by
# GET /openapi.json, and schemathesis on /graphql. Runs on SQLite, and on PostgreSQL too when
# CONFORMANCE_DATABASE_URL points at a server where the user may create databases. Any MUST or
# SHOULD failure, or any schemathesis failure, fails the run.
#   tests/conformance/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${CONFORMANCE_VENV:-target/conformance-venv}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r tests/conformance/requirements.txt
fi
npm ci --prefix tests/conformance --no-audit --no-fund --silent
cargo build --bin passenger-api
binary=target/debug/passenger-api
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "${pg_db:-}" ]; then psql "$CONFORMANCE_DATABASE_URL" -q -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

check() { # backend database-url
  local name=$1 url=$2 port
  port=$(free_port)
  DATABASE_URL="$url" BIND="127.0.0.1:$port" LOG_LEVEL=warn PLAYGROUND_ASSETS_DIR=/nonexistent \
    "$binary" serve 2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null
  echo "--- $name: graphql-http audit"
  node tests/conformance/audit.mjs "http://127.0.0.1:$port/graphql"
  echo "--- $name: schemathesis, every check, on /openapi.json"
  "$venv/bin/schemathesis" --config-file tests/conformance/schemathesis.toml run "http://127.0.0.1:$port/openapi.json" --checks all \
    --max-examples "${CONFORMANCE_EXAMPLES:-100}" --seed "${CONFORMANCE_SEED:-1}" --no-color
  # The GraphQL schema cannot state the service's input rules (page sizes, cost, name lengths,
  # cursors), so a document that is valid by type may be refused with BAD_USER_INPUT or
  # GRAPHQL_VALIDATION_FAILED, by design: every check but positive data acceptance applies.
  echo "--- $name: schemathesis on /graphql"
  "$venv/bin/schemathesis" run "http://127.0.0.1:$port/graphql" --checks all \
    --exclude-checks positive_data_acceptance --max-examples "${CONFORMANCE_EXAMPLES:-100}" --seed "${CONFORMANCE_SEED:-1}" --no-color
  if grep -q '"level":"ERROR"' "$work/$name.log"; then
    echo "the server logged errors during the conformance run:" >&2
    grep '"level":"ERROR"' "$work/$name.log" | head -20 >&2
    exit 1
  fi
}

check sqlite "sqlite://$work/conformance.db"
if [ -n "${CONFORMANCE_DATABASE_URL:-}" ]; then
  pg_db="passenger_api_conformance_$$"
  psql "$CONFORMANCE_DATABASE_URL" -q -c "CREATE DATABASE $pg_db"
  check postgres "${CONFORMANCE_DATABASE_URL%/*}/$pg_db"
fi
echo "conformance: all passed"
