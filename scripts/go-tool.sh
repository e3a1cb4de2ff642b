#!/usr/bin/env bash
# Builds a Go command from the module proxy into .cache/bin/NAME once and prints its path.
# Usage: scripts/go-tool.sh NAME MODULE@VERSION   (e.g. helm helm.sh/helm/v4/cmd/helm@v4.3.1)
# The build is skipped when .cache/bin/NAME.version already records MODULE@VERSION.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 NAME MODULE@VERSION" >&2; exit 2; }
name=$1 spec=$2
cd "$(dirname "$0")/.."
bin="$PWD/.cache/bin"
mkdir -p "$bin"
if [ -x "$bin/$name" ] && [ "$(cat "$bin/$name.version" 2>/dev/null)" = "$spec" ]; then
  echo "$bin/$name"
  exit 0
fi
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
start=$(date +%s)
GOBIN="$bin" GOFLAGS=-trimpath CGO_ENABLED=0 go install "$spec" >&2
echo "$spec" >"$bin/$name.version"
echo "go-tool: built $name ($spec) in $(($(date +%s) - start)) s" >&2
echo "$bin/$name"
