# Sourced by .ci/run: Podman's Docker-compatible API service for the container executor's tests.
#
# What works on these machines (issue 6): Debian's podman with runc (crun refuses hybrid
# cgroup hosts), rlimits left as they are (raising them is not permitted in some sandboxes),
# a local image imported from a busybox-static rootfs (no registry is reachable), and
# `podman system service` answering the Docker Engine API on a unix socket. catatonit is the
# init Podman runs as a container's pid 1 for a job definition's initProcessEnabled (Debian's
# podman does not pull it in; without it such a container cannot be created).
# Exports OPENBATCH_TEST_DOCKER_HOST (unix://…) and OPENBATCH_TEST_IMAGE for the tests.
apt_need podman runc uidmap slirp4netns fuse-overlayfs busybox-static catatonit

podman_dir=$(mktemp -d -t openbatch-podman-XXXXXX)
cat > "$podman_dir/containers.conf" <<'CONF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$podman_dir/containers.conf"

# The test image: busybox-static's applets in an otherwise empty root, imported as a local image.
export OPENBATCH_TEST_IMAGE=localhost/openbatch-test/busybox:latest
if ! podman image exists "$OPENBATCH_TEST_IMAGE"; then
  mkdir -p "$podman_dir/rootfs/bin" "$podman_dir/rootfs/tmp" "$podman_dir/rootfs/etc"
  cp /bin/busybox "$podman_dir/rootfs/bin/busybox"
  for applet in $("$podman_dir/rootfs/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$podman_dir/rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' > "$podman_dir/rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$podman_dir/rootfs/etc/group"
  tar -C "$podman_dir/rootfs" -cf "$podman_dir/rootfs.tar" .
  podman import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' "$podman_dir/rootfs.tar" "$OPENBATCH_TEST_IMAGE" >/dev/null
fi

podman system service --time=0 "unix://$podman_dir/podman.sock" > "$podman_dir/service.log" 2>&1 &
podman_pid=$!
on_exit "kill $podman_pid 2>/dev/null; wait $podman_pid 2>/dev/null; rm -rf '$podman_dir'"
for _ in $(seq 1 100); do [ -S "$podman_dir/podman.sock" ] && break; sleep 0.1; done
[ -S "$podman_dir/podman.sock" ] || { cat "$podman_dir/service.log"; echo "podman service did not start"; exit 1; }
export OPENBATCH_TEST_DOCKER_HOST="unix://$podman_dir/podman.sock"
echo "podman service at $OPENBATCH_TEST_DOCKER_HOST, test image $OPENBATCH_TEST_IMAGE"
