#!/usr/bin/env bash
# Builds openbatch's container image with Podman, from nothing but Debian's package
# repositories and the npm registry (no image registry):
#   1. a Debian root file system made with debootstrap, imported as localhost/openbatch-debian
#      (made once; delete the image to make it anew);
#   2. Node.js: the official binary, from the npm registry's node-linux-<arch> package;
#   3. openbatch: `npm pack` of this checkout, installed globally into a staging prefix with
#      that Node (better-sqlite3 compiles against its headers, on this Debian);
#   4. Containerfile: the base plus node plus the prefix.
# Usage: scripts/container/build.sh [TAG]    (default localhost/openbatch:<version>). Needs
# root (debootstrap), podman, and npm with a C/C++ toolchain (better-sqlite3, the fork server).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
version=$(node -p "require('$root/package.json').version")
tag=${1:-localhost/openbatch:$version}
suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
base=localhost/openbatch-debian:$suite
node_major=${NODE_MAJOR:-22}

for tool in debootstrap podman npm; do
  command -v "$tool" >/dev/null || { echo "build.sh needs $tool (apt-get install $tool)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! podman image exists "$base"; then
  echo "== Debian $suite root file system (debootstrap)"
  debootstrap --variant=minbase --include=ca-certificates,bubblewrap,procps "$suite" "$work/rootfs" "$mirror" >/dev/null
  # Smaller and reproducible: no package lists or caches in the image.
  rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin
  tar -C "$work/rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$base" >/dev/null
  rm -rf "$work/rootfs"
fi

echo "== Node.js $node_major (from the npm registry)"
mkdir -p "$work/ctx"
nodedir=$(bash "$root/scripts/node-from-npm.sh" "$node_major")
cp "$nodedir/bin/node" "$work/ctx/node"

echo "== openbatch $version (npm pack, installed with that Node)"
(cd "$root" && npm pack --pack-destination "$work" >/dev/null)
PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" \
  npm install -g --prefix "$work/ctx/prefix" --no-audit --no-fund "$work/openbatch-$version.tgz" >/dev/null

echo "== image $tag"
podman build --build-arg "BASE=$base" -t "$tag" -f "$here/Containerfile" "$work/ctx"
