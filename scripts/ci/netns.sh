# Network namespaces for the "remote machine" test (test/e2e/agents.netns.test.ts): agents in
# namespaces joined over a veth pair. Needs iproute2 and root; where namespaces cannot be made
# (no CAP_NET_ADMIN) the test skips itself and says why. The test removes what it makes; any
# namespace a killed run left behind (named obt<pid>m<n>) is removed when CI ends.
apt_need iproute2
on_exit 'for ns in $(ip netns list 2>/dev/null | awk "/^obt[0-9]+m[0-9]/ {print \$1}"); do ip netns del "$ns" 2>/dev/null; done'
