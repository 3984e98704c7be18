#!/usr/bin/env bash
# Prints the folder holding onnxruntime-node for the export tests, installing it from npm
# on first use into the cache that ../shared/bench/ort_peer.sh uses (same pinned version,
# same --ignore-scripts: the CPU runtime ships in the npm tarball).
set -euo pipefail
ORT_NODE_VERSION="${ORT_NODE_VERSION:-1.30.0}"
CACHE_ROOT="${STARFACE_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/starface-bench}"
ORT_DIR="$CACHE_ROOT/onnxruntime-node-$ORT_NODE_VERSION"
if [ ! -f "$ORT_DIR/.installed" ]; then
  mkdir -p "$CACHE_ROOT"
  TMP="$(mktemp -d "$CACHE_ROOT/.install.XXXXXX")"
  trap 'rm -rf "$TMP"' EXIT
  printf '{"name":"starface-test-ort","private":true,"version":"0.0.0"}\n' > "$TMP/package.json"
  ( cd "$TMP" && CI=true npm install --no-audit --no-fund --no-progress --ignore-scripts \
      --save-exact "onnxruntime-node@$ORT_NODE_VERSION" </dev/null 1>&2 )
  ( cd "$TMP" && node -e "require('onnxruntime-node')" ) 1>&2
  date -u +%FT%TZ > "$TMP/.installed"
  rm -rf "$ORT_DIR"
  mv "$TMP" "$ORT_DIR"
  trap - EXIT
fi
echo "$ORT_DIR"
