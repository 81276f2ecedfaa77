#!/usr/bin/env bash
# Starts passenger-api on a free port (a fresh SQLite file, or CLIENT_DATABASE_URL), then
# generates, type-checks and runs both typed clients' scenarios against it:
#   Rust:       examples/typed_client.rs  (graphql_client, checked at compile time)
#   TypeScript: clients/typescript        (GraphQL Code Generator client preset, tsc --strict)
#   Relay:      clients/relay             (relay-compiler fragments, run through relay-runtime)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --bin passenger-api --example typed_client

work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
database_url="${CLIENT_DATABASE_URL:-sqlite://$work/clients.db}"
target/debug/passenger-api --database-url "$database_url" --bind "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  python3 -c "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('$base/readyz', timeout=1).status == 200 else 1)" 2>/dev/null && break
  sleep 0.2
done

echo "=== Rust client (graphql_client) against $base ==="
target/debug/examples/typed_client "$base"

echo "=== TypeScript client (GraphQL Code Generator) against $base ==="
cd clients/typescript
npm ci --no-audit --no-fund --loglevel=error
npm run --silent generate
npm run --silent typecheck
npm run --silent build
node dist/scenario.js "$base"

echo "=== Relay (relay-compiler fragments, relay-runtime store) against $base ==="
cd ../relay
npm ci --no-audit --no-fund --loglevel=error
npm run --silent compile   # fails when schema.graphql stops being what Relay needs
node scenario.mjs "$base"
