#!/usr/bin/env bash
# A single-node Slurm cluster on loopback, for openbatch's tests and benchmarks.
#
#   cluster.sh start    write the configuration (munge key, slurm.conf sized to this machine),
#                       start munged, slurmctld and slurmd, wait until the node is idle
#   cluster.sh stop     stop the three daemons this script started (by their pid files)
#   cluster.sh status   exit 0 when the cluster answers and its node is usable
#   cluster.sh env      print the shell exports client commands need (SLURM_CONF)
#
# Idempotent: `start` on a running cluster only checks it; `stop` on a stopped one does nothing.
# Everything lives in one state directory (OPENBATCH_SLURM_DIR, default /tmp/openbatch-slurm,
# whatever TMPDIR says: the daemons and their ports are one per machine, and the test runner
# gives each run a TMPDIR of its own): its own munge key and socket, slurm.conf, spool and logs,
# so the machine's /etc/slurm and /etc/munge are never touched. Runs as root (the daemons'
# SlurmUser is root), without systemd: the daemons are started directly.
# Settings and why: README.md beside this script.
set -euo pipefail

DIR="${OPENBATCH_SLURM_DIR:-/tmp/openbatch-slurm}"
CONF="$DIR/etc/slurm.conf"
SOCKET="$DIR/munge/munge.socket"
PARTITION="${OPENBATCH_SLURM_PARTITION:-batch}"
# Ports of their own, so a site's Slurm on the standard 6817/6818 is left alone.
CTLD_PORT="${OPENBATCH_SLURM_CTLD_PORT:-16817}"
SLURMD_PORT="${OPENBATCH_SLURM_SLURMD_PORT:-16818}"
NODE="$(hostname -s)"

need() { command -v "$1" >/dev/null 2>&1 || { echo "cluster.sh: $1 not found (apt-get install slurm-wlm munge)" >&2; exit 2; }; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }

write_config() {
  mkdir -p "$DIR"/{etc,munge,spool/ctld,spool/d,log,run}
  chmod 700 "$DIR/munge"
  if [ ! -s "$DIR/munge/munge.key" ]; then
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$DIR/munge/munge.key"
  fi
  local cpus mem
  cpus="$(nproc)"
  # Leave 512 MiB to the system; Slurm refuses a node whose RealMemory exceeds what it finds.
  mem=$(( $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) - 512 ))
  cat >"$CONF.new" <<CONF
# Written by openbatch's bench/peers/slurm/cluster.sh; see README.md beside it.
ClusterName=openbatch
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$DIR/spool/ctld
SlurmdSpoolDir=$DIR/spool/d
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=error
SlurmdDebug=error
# No cgroups here (containers, no systemd): track processes by parent pid, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
# Throughput (Slurm's high-throughput guide):
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerParameters=defer,batch_sched_delay=0,default_queue_depth=10000,sched_max_job_start=0,max_rpc_cnt=150
MaxJobCount=200000
MaxArraySize=100001
MinJobAge=60
MessageTimeout=30
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  mv "$CONF.new" "$CONF"
}

start() {
  need munged; need slurmctld; need slurmd; need sinfo
  if status >/dev/null 2>&1; then echo "slurm: already running ($CONF)"; return 0; fi
  write_config
  if ! alive "$DIR/run/munged.pid"; then
    munged --force --key-file="$DIR/munge/munge.key" --socket="$SOCKET" --pid-file="$DIR/run/munged.pid" \
      --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munge.seed"
  fi
  # -i: ignore state from an earlier run (jobs of a previous cluster are gone with it).
  if ! alive "$DIR/run/slurmctld.pid"; then SLURM_CONF="$CONF" slurmctld -i -f "$CONF"; fi
  if ! alive "$DIR/run/slurmd.pid"; then SLURM_CONF="$CONF" slurmd -f "$CONF"; fi
  for _ in $(seq 1 60); do
    if status >/dev/null 2>&1; then echo "slurm: running ($CONF)"; return 0; fi
    sleep 0.5
  done
  echo "slurm: the cluster did not become ready; logs in $DIR/log" >&2
  tail -n 20 "$DIR"/log/*.log >&2 || true
  return 1
}

stop() {
  local p
  for p in slurmd slurmctld munged; do
    if alive "$DIR/run/$p.pid"; then
      kill "$(cat "$DIR/run/$p.pid")" 2>/dev/null || true
      for _ in $(seq 1 40); do alive "$DIR/run/$p.pid" || break; sleep 0.25; done
      if alive "$DIR/run/$p.pid"; then kill -9 "$(cat "$DIR/run/$p.pid")" 2>/dev/null || true; fi
    fi
    rm -f "$DIR/run/$p.pid"
  done
  echo "slurm: stopped"
}

status() {
  [ -f "$CONF" ] || return 1
  local state
  state="$(SLURM_CONF="$CONF" timeout 10 sinfo -h -n "$NODE" -o '%T' 2>/dev/null | head -n1)"
  case "$state" in idle*|mixed*|allocated*|completing*) echo "slurm: node $NODE $state"; return 0 ;; esac
  # A node left down or drained by an earlier run or test comes back.
  if [ -n "$state" ]; then SLURM_CONF="$CONF" scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true; fi
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
