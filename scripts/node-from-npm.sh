#!/usr/bin/env bash
# Installs the official Node.js binary of a major release from the npm registry (the package
# node-linux-<arch>@<major> carries it, with the headers node-gyp builds native modules
# against) and prints the package's directory: its bin/node, and the value for
# npm_config_nodedir. Installed once into DIR (default /opt/openbatch-node/<major>).
#   node_pkg=$(scripts/node-from-npm.sh 26)
set -euo pipefail
major=$1
dir=${2:-/opt/openbatch-node/$major}
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "no Node.js $major package for $(uname -m) on the npm registry; install Node.js $major or newer" >&2; exit 1 ;;
esac
pkg=$dir/node_modules/node-linux-$arch
if [ ! -x "$pkg/bin/node" ]; then
  echo "installing Node.js $major from the npm registry (node-linux-$arch@$major)" >&2
  npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock "node-linux-$arch@$major" >/dev/null
fi
echo "$pkg"
