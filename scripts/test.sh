#!/usr/bin/env bash
# crosslink's test command: install what is missing, build, build the local-cluster
# harness (Go, cached), then run every test with node's built-in runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx tsc -p tsconfig.json
node dist/test/harness/build.js
exec node --test --test-reporter=spec dist/test/
