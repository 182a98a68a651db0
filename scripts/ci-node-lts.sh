#!/usr/bin/env bash
# Run by .ci/run after the full suite: the current Node.js LTS (besides the oldest supported,
# 22, which the full suite runs on) gets a fast, meaningful subset — the unit tests and a few
# end-to-end files that start the server, its agents and the CLI — in a copy of the checkout
# with node_modules of its own: better-sqlite3 is compiled for that Node's ABI, against its
# headers. The JavaScript build (dist/) is Node-independent and copied, not rebuilt.
#   NODE_LTS=26 scripts/ci-node-lts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
major=${NODE_LTS:-26}
node_pkg=$(bash scripts/node-from-npm.sh "$major")

copy=$(mktemp -d /var/tmp/openbatch-node$major-XXXXXX)
trap 'rm -rf "$copy"' EXIT
# The tracked files as they are in this checkout, and the build made from them.
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$copy"
cp -a dist "$copy/dist"

cd "$copy"
export PATH="$node_pkg/bin:$PATH" npm_config_nodedir="$node_pkg"
echo "== node $(node --version): npm ci (better-sqlite3 for this Node's ABI)"
# --ignore-scripts: the build is copied; only better-sqlite3 needs compiling for this Node.
npm ci --ignore-scripts --no-audit --no-fund 2>&1 | tee npm-ci.log
if grep -q EBADENGINE npm-ci.log; then echo "npm ci on Node $major warns EBADENGINE: a dependency does not support it" >&2; exit 1; fi
npm rebuild better-sqlite3 >/dev/null
echo "== tests on node $(node --version) (a subset)"
node scripts/run-tests.mjs --store=sqlite api/ model/ scheduler/ cli/ logs/ triggers/ events/ compute/instanceTypes compute/slurmStates e2e/cli.test e2e/api.jobs e2e/arrays.test
