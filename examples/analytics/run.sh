#!/bin/sh
# Runs the analytics example against an openbatch server (OPENBATCH_ENDPOINT, default
# http://127.0.0.1:8770): generates a day of trades for two desks, applies pipeline.yaml,
# submits each desk's array and report (as work/jobs.yaml, through apply), waits, and prints
# both reports.
#
#   examples/analytics/run.sh                          # 400 orders per desk, 8 partitions
#   ORDERS=2000 PARTITIONS=16 SEED=9 examples/analytics/run.sh
#
# Results: <desk>/report.json in the work folder beside this script (or in WORK=<dir>).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
openbatch() { node "$root/dist/src/cli/main.js" "$@"; }
orders=${ORDERS:-400} partitions=${PARTITIONS:-8} seed=${SEED:-5}
work=${WORK:-$here/work}
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)

/usr/bin/python3 "$here/generate.py" --seed "$seed" --orders "$orders" --partitions "$partitions" --out "$work"
# The jobs read the scripts and write their results through volumes of these two
# directories (pipeline.yaml), which the server must grant (hostVolumeRoots). A server running
# as root runs jobs as nobody: the work directory is theirs to write.
chmod -R a+rwX "$work"
echo "trades: $orders orders per desk (seed $seed), $partitions partitions each, in $work"
sed -e "s|@EXAMPLE@|$here|g" -e "s|@WORK@|$work|g" "$here/pipeline.yaml" > "$work/pipeline.yaml"
openbatch apply -f "$work/pipeline.yaml" --resources-only

# The run's jobs: a file for apply, since each names its share and its own directories.
{
  echo "jobs:"
  for desk in equities etf; do
    cat <<YAML
  - name: tca-$desk
    jobQueue: tca
    jobDefinition: tca-partition
    shareIdentifier: $desk
    arrayProperties: {size: $partitions}
    parameters: {desk: $desk}
  - name: report-$desk
    jobQueue: tca
    jobDefinition: tca-report
    shareIdentifier: $desk
    dependsOn: [tca-$desk]
    parameters: {desk: $desk, partitions: "$partitions"}
YAML
  done
} > "$work/jobs.yaml"
openbatch apply -f "$work/jobs.yaml" | tee "$work/submitted.txt"
for desk in equities etf; do
  id=$(sed -n "s/^job report-$desk: submitted (\([^,)]*\).*/\1/p" "$work/submitted.txt")
  openbatch logs -f "$id"
  # the job wrote /data/<desk>/report.json inside its sandbox: here it is the work folder's
  echo "$desk report: $work/$desk/report.json"
done
