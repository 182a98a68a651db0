#!/bin/sh
# Runs the screening example against an openbatch server (OPENBATCH_ENDPOINT, default
# http://127.0.0.1:8770): generates the library, applies pipeline.yaml, submits the scoring
# array and the ranking job after it, waits, and prints the best candidates.
#
#   examples/screening/run.sh                    # 500 molecules, 8 chunks, top 20
#   MOLECULES=960 CHUNKS=16 TOP=50 SEED=11 examples/screening/run.sh
#
# Results: ranking.tsv (and scores/, library.smi) in the work folder beside this script, or in WORK=<dir>.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
openbatch() { node "$root/dist/src/cli/main.js" "$@"; }
molecules=${MOLECULES:-500} chunks=${CHUNKS:-8} top=${TOP:-20} seed=${SEED:-7}
work=${WORK:-$here/work}
rm -rf "$work/scores" "$work/ranking.tsv"
mkdir -p "$work"
work=$(cd "$work" && pwd)
# The jobs read the scripts and write their results through volumes of these two
# directories (pipeline.yaml), which the server must grant (hostVolumeRoots). A server running
# as root runs jobs as nobody: the work directory is theirs to write.
chmod 0777 "$work"

/usr/bin/python3 "$here/library.py" --seed "$seed" --count "$molecules" --out "$work/library.smi"
echo "library: $molecules molecules (seed $seed) in $work/library.smi"
sed -e "s|@EXAMPLE@|$here|g" -e "s|@WORK@|$work|g" "$here/pipeline.yaml" > "$work/pipeline.yaml"
openbatch apply -f "$work/pipeline.yaml" --resources-only
score=$(openbatch submit -n screen --queue screening --definition score-chunk --array-size "$chunks" \
  --param chunks="$chunks")
echo "scoring: array job $score ($chunks chunks)"
rank=$(openbatch submit -n rank --queue screening --definition rank-hits --depends-on "$score" \
  --param chunks="$chunks" --param top="$top")
echo "ranking: job $rank (after $score)"
openbatch logs -f "$rank"
echo "ranking: $work/ranking.tsv"
