/** Shell scripts that jobs run to print how their own cgroup holds their CPU, on cgroup v1 or v2, in a container or not. */

/**
 * Prints "<cpu.shares> <cpu.cfs_quota_us>" (v1) or "<cpu.weight> <cpu.max quota>" (v2) of the
 * job's own cgroup: "2048 -1" or "79 max" for 2 vCPUs given as shares.
 */
export const CPU_SHARES_SCRIPT = [
  'p=$(grep -E "^[0-9]+:([^:]*,)?cpu(,[^:]*)?:" /proc/self/cgroup | head -n1 | cut -d: -f3)',
  'for d in "/sys/fs/cgroup/cpu$p" /sys/fs/cgroup/cpu; do',
  '  if [ -f "$d/cpu.shares" ]; then echo "$(cat $d/cpu.shares) $(cat $d/cpu.cfs_quota_us)"; exit 0; fi',
  'done',
  'p=$(grep "^0::" /proc/self/cgroup | cut -d: -f3)',
  'for d in "/sys/fs/cgroup$p" /sys/fs/cgroup; do',
  '  if [ -f "$d/cpu.weight" ]; then echo "$(cat $d/cpu.weight) $(cut -d" " -f1 $d/cpu.max)"; exit 0; fi',
  'done',
  'exit 1',
].join('\n');
