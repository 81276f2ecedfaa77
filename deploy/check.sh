#!/usr/bin/env bash
# Offline checks of everything under deploy/ and the workflows (no Docker engine or cluster
# needed): render every overlay and validate each object strictly against the Kubernetes
# schemas, compare deploy/install.yaml with the render, lint the Dockerfile and the
# workflows, validate the compose file, then run the container-contract smoke test.
#   deploy/check.sh                  all checks (the smoke test needs PostgreSQL: SMOKE_DATABASE_URL)
#   deploy/check.sh --render         rewrite deploy/install.yaml from the dev overlay
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${DEPLOY_CHECK_VENV:-target/deploy-check-venv}"
if [ ! -x "$venv/bin/kubectl" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r deploy/requirements-check.txt
fi
bin="$(cd "$venv/bin" && pwd)"
render() { "$bin/kubectl" kustomize "deploy/k8s/overlays/$1"; }

if [ "${1:-}" = "--render" ]; then
  { echo "# Rendered from deploy/k8s/overlays/dev by deploy/check.sh --render; do not edit."; render dev; } > deploy/install.yaml
  exit 0
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for overlay in dev prod; do
  render "$overlay" > "$out/$overlay.yaml"
  "$bin/kubernetes-validate" --strict --quiet "$out/$overlay.yaml"
  echo "overlay $overlay: $(grep -c '^kind:' "$out/$overlay.yaml") objects valid (strict)"
done
{ echo "# Rendered from deploy/k8s/overlays/dev by deploy/check.sh --render; do not edit."; cat "$out/dev.yaml"; } > "$out/install.yaml"
if ! diff -u deploy/install.yaml "$out/install.yaml"; then
  echo "deploy/install.yaml is stale: run deploy/check.sh --render" >&2
  exit 1
fi
echo "install.yaml: matches the dev overlay"
"$bin/hadolint" deploy/Dockerfile && echo "Dockerfile: hadolint clean"
(cd deploy && "$bin/docker-compose" -f compose.yaml config -q) && echo "compose.yaml: valid"
"$bin/actionlint" .github/workflows/*.yml && echo "workflows: actionlint clean"

if [ -n "${SMOKE_DATABASE_URL:-}" ]; then
  # Build the release binary exactly as the Dockerfile does.
  cargo build --release --locked --bin passenger-api
  "$bin/python" deploy/smoke.py "$out/dev.yaml" target/release/passenger-api "$SMOKE_DATABASE_URL"
else
  echo "NOTE: SMOKE_DATABASE_URL not set; container-contract smoke test skipped"
fi
