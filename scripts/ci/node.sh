# Sourced by .ci/run: Node.js. openbatch runs on a supported LTS, 22 or newer (Node 20 is end
# of life). Where the machine's node is older, the official binary is installed from the npm
# registry — the package node-linux-<arch>@<major> carries it with its headers, which
# node-gyp needs to build better-sqlite3 — into /opt/openbatch-node/<major>, and put first on
# PATH for the rest of the run (npm included: it runs on the node it finds).
node_want=22
node_have=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_have" -lt "$node_want" ]; then
  node_pkg=$(bash scripts/node-from-npm.sh "$node_want")
  export PATH="$node_pkg/bin:$PATH"
  export npm_config_nodedir="$node_pkg"
fi
