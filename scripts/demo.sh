#!/usr/bin/env bash
# crosslink's main job on local clusters it starts itself: two real kube-apiservers
# (east, west) seeded like clusters with Linkerd's multicluster extension, then
# validate the east-west example, diff, apply, and diff again (nothing to do).
# The clusters are stopped at the end unless KEEP_CLUSTERS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx tsc -p tsconfig.json
node dist/test/harness/build.js

ROOT=$PWD
DIR=$ROOT/.clusters/demo
xl() { echo; echo "\$ crosslink $*"; node "$ROOT/bin/crosslink.js" "$@"; }
clusters() { node "$ROOT/dist/test/harness/cli.js" "$@"; }
clusters down --dir "$DIR" >/dev/null 2>&1 || true
clusters up east west --dir "$DIR"
[ "${KEEP_CLUSTERS:-}" = 1 ] || trap 'clusters down --dir "$DIR"' EXIT

# The example's anchor is replaced by the one these clusters were seeded with.
rm -rf "$DIR/topology" && cp -r examples/east-west "$DIR/topology"
cp "$DIR/trust-anchor.crt" "$DIR/topology/anchors/root.crt"
export KUBECONFIG="$DIR/kubeconfig"
cd "$DIR/topology"

xl validate multicluster.yaml
set +e
xl diff; code=$?; echo "(diff exit $code: 2 = changes pending)"
set -e
xl apply --yes
xl diff; echo "(diff exit $?: 0 = in sync)"
