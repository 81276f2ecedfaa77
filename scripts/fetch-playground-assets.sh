#!/usr/bin/env bash
# Downloads the GraphiQL playground's browser bundles from the npm registry into DEST
# (default: assets/playground), so the playground works with no internet access.
# The bundles are not committed; the container build and CI run this script.
set -euo pipefail
DEST="${1:-$(dirname "$0")/../assets/playground}"
GRAPHIQL_VERSION=4.0.3
REACT_VERSION=18.3.1

command -v npm >/dev/null || { echo "npm is required (apt-get install npm, or any Node.js install)" >&2; exit 1; }
mkdir -p "$DEST"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# npm pack checks each tarball against the registry's integrity hash.
(cd "$work" && npm pack --silent "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION" >/dev/null)
for package in "graphiql-$GRAPHIQL_VERSION" "react-$REACT_VERSION" "react-dom-$REACT_VERSION"; do
  mkdir -p "$work/$package"
  tar xzf "$work/$package.tgz" -C "$work/$package"
done
cp "$work/graphiql-$GRAPHIQL_VERSION/package/graphiql.min.js" "$DEST/graphiql.min.js"
cp "$work/graphiql-$GRAPHIQL_VERSION/package/graphiql.min.css" "$DEST/graphiql.min.css"
cp "$work/react-$REACT_VERSION/package/umd/react.production.min.js" "$DEST/react.production.min.js"
cp "$work/react-dom-$REACT_VERSION/package/umd/react-dom.production.min.js" "$DEST/react-dom.production.min.js"
echo "playground assets (graphiql $GRAPHIQL_VERSION, react $REACT_VERSION) in $DEST"
