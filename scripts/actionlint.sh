#!/usr/bin/env bash
# Checks the GitHub Actions workflow of examples/ci with actionlint, built once from the Go module
# proxy into .cache/bin (scripts/go-tool.sh). Exit status: actionlint's (0: no problem found).
set -euo pipefail
cd "$(dirname "$0")/.."
actionlint=$(bash scripts/go-tool.sh actionlint github.com/rhysd/actionlint/cmd/actionlint@v1.7.12)
"$actionlint" -color=false examples/ci/github-actions.yml
echo "actionlint: examples/ci/github-actions.yml: no problem found"
