# Sourced by .ci/run: a single-node Slurm cluster on loopback for the Slurm provider's tests
# (test/e2e/compute.slurm*.test.ts) and the Slurm peer of the benchmarks.
apt_need slurm-wlm munge
bench/peers/slurm/cluster.sh start
on_exit 'bench/peers/slurm/cluster.sh stop'
eval "$(bench/peers/slurm/cluster.sh env)"
export SLURM_CONF
