/**
 * The Slurm peer of the benchmarks still runs: a tiny run through plain sbatch, openbatch
 * and the Slurm provider, with every figure present. Skipped, saying why, where no Slurm
 * cluster can start. No timing is asserted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slurmPeer } from '../../bench/workloads/slurm.js';
import { holdSlurmNode, slurmUnavailable } from '../helpers/slurm.js';

const skip = slurmUnavailable();
if (skip) console.log(`# Slurm peer bench test skipped: ${skip}`);

test('the same jobs through Slurm, openbatch and the Slurm provider', { skip: skip ?? false }, async () => {
  const release = await holdSlurmNode('shared');
  const r = await slurmPeer({ jobs: 3, cpuJobs: 2, chain: 2, fan: 2, cores: 2, submitConcurrency: 2 }).finally(release);
  assert.equal(r.skipped, undefined, r.skipped);
  for (const [what, x] of [
    ['Slurm one by one', r.slurm!.oneByOne.jobsPerSecond],
    ['Slurm array', r.slurm!.array.jobsPerSecond],
    ['Slurm cpu', r.slurm!.cpu.jobsPerSecond],
    ['Slurm chain', r.slurm!.chain!.jobsPerSecond],
    ['Slurm fan', r.slurm!.fan!.jobsPerSecond],
    ['openbatch one by one', r.openbatch!.oneByOne.jobsPerSecond],
    ['openbatch array', r.openbatch!.array.jobsPerSecond],
    ['openbatch cpu', r.openbatch!.cpu.jobsPerSecond],
    ['provider one by one', r.provider!.oneByOne.jobsPerSecond],
    ['provider array', r.provider!.array.jobsPerSecond],
    ['ratio', r.ratios!.oneByOne],
    ['provider ratio', r.providerRatios!.oneByOne],
  ] as const) {
    assert.ok(Number.isFinite(x) && x > 0, `${what} = ${x}`);
  }
  assert.match(r.version!, /slurm/i);
});
