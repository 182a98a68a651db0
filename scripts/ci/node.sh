# Sourced by .ci/run: Node.js. openbatch runs on a supported LTS, 22 or newer (Node 20 is end
# of life). Where the machine's node is older, the official binary is installed from the npm
# registry — the package node-linux-<arch>@<major> carries it with its headers, which
# node-gyp needs to build better-sqlite3 — into /opt/openbatch-node/<major>, and put first on
# PATH for the rest of the run (npm included: it runs on the node it finds).
node_want=22
node_have=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_have" -lt "$node_want" ]; then
  case "$(uname -m)" in
    x86_64) node_arch=x64 ;;
    aarch64) node_arch=arm64 ;;
    *) echo "no Node.js $node_want package for $(uname -m) on the npm registry; install Node.js $node_want or newer" >&2; exit 1 ;;
  esac
  node_dir=/opt/openbatch-node/$node_want
  node_pkg=$node_dir/node_modules/node-linux-$node_arch
  if [ ! -x "$node_pkg/bin/node" ]; then
    echo "installing Node.js $node_want from the npm registry (node-linux-$node_arch@$node_want)"
    npm install --prefix "$node_dir" --no-save --no-audit --no-fund --no-package-lock "node-linux-$node_arch@$node_want" >/dev/null
  fi
  export PATH="$node_pkg/bin:$PATH"
  export npm_config_nodedir="$node_pkg"
fi
