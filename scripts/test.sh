#!/usr/bin/env bash
# crosslink's test command: install what is missing, build, build the local-cluster
# harness (Go, cached), then run every test with node's built-in runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx tsc -p tsconfig.json
node dist/test/harness/build.js
# Only *.test.js files: given a directory, node's runner would also run every helper module under it
# (test/harness/cli.js is the clusters CLI and exits 1 without arguments).
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
exec node --test --test-reporter=spec "${files[@]}"
