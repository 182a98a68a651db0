/**
 * How Slurm's final states read as attempt ends (compute/slurmStates.ts), as a table of
 * cases, including those a single-node test cluster cannot produce (OUT_OF_MEMORY needs
 * cgroups, BOOT_FAIL and PREEMPTED need a cloud or preemption set up). The e2e tests
 * (test/e2e/compute.slurm*.test.ts) cover the states the test cluster can reach.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { attemptEndOf, OUT_OF_MEMORY_REASON, phaseOf } from '../../src/compute/slurmStates.js';
import type { SlurmJobState } from '../../src/compute/slurmCli.js';

const job = (state: string, o: Partial<SlurmJobState> = {}): SlurmJobState => ({ slurmJobId: '42', name: 'ob.j.1', state, reason: '', exitStatus: null, nodes: 'node7', ...o });
const end = (state: string, o: Partial<SlurmJobState> = {}, stop: string | null = null, exitFile: number | null = null) => {
  const e = attemptEndOf(job(state, o), stop, exitFile, 'i-slurm', 1000);
  return { exitCode: e.exitCode, reason: e.reason, statusReason: e.statusReason, timedOut: e.timedOut ?? false };
};

describe('Slurm states', () => {
  test('waiting, running and final phases', () => {
    for (const s of ['PENDING', 'CONFIGURING', 'REQUEUED']) assert.equal(phaseOf(s), 'waiting', s);
    for (const s of ['RUNNING', 'COMPLETING', 'SUSPENDED']) assert.equal(phaseOf(s), 'running', s);
    for (const s of ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE']) assert.equal(phaseOf(s), 'final', s);
  });

  test('COMPLETED and FAILED carry the exit code the batch script wrote, else the wait status', () => {
    assert.deepEqual(end('COMPLETED'), { exitCode: 0, reason: null, statusReason: undefined, timedOut: false });
    assert.equal(end('FAILED', {}, null, 3).exitCode, 3);
    assert.equal(end('FAILED', {}, null, 3).reason, null);
    // No exit file (the script was killed first): code 2 << 8 as a wait status, or 128 + the signal.
    assert.equal(end('FAILED', { exitStatus: 2 << 8 }).exitCode, 2);
    assert.equal(end('FAILED', { exitStatus: 9 }).exitCode, 137);
    // A script that never ran still fails, with a reason saying so.
    assert.equal(end('FAILED', { reason: 'NonZeroExitCode' }).reason, 'Slurm job 42 failed: NonZeroExitCode');
  });

  test("Slurm's time limit is AWS's timeout", () => {
    for (const s of ['TIMEOUT', 'DEADLINE']) assert.equal(end(s).timedOut, true, s);
  });

  test('a lost node is a terminated host, named after the Slurm node, so retry strategies on Host EC2* apply', () => {
    for (const s of ['NODE_FAIL', 'BOOT_FAIL', 'PREEMPTED']) {
      const e = end(s, {}, null, 0);
      assert.equal(e.statusReason, 'Host EC2 (instance node7) terminated.', s);
      assert.equal(e.exitCode, null, `${s}: no exit code, even if the script wrote one`);
    }
    assert.equal(end('NODE_FAIL', { nodes: '' }).statusReason, 'Host EC2 (instance i-slurm) terminated.');
  });

  test("OUT_OF_MEMORY is AWS's OutOfMemoryError with exit code 137", () => {
    assert.deepEqual(end('OUT_OF_MEMORY'), { exitCode: 137, reason: OUT_OF_MEMORY_REASON, statusReason: OUT_OF_MEMORY_REASON, timedOut: false });
  });

  test('CANCELLED reads as what openbatch asked for, or as a cancel at the site', () => {
    assert.equal(end('CANCELLED', {}, 'timeout').timedOut, true);
    assert.deepEqual(end('CANCELLED', {}, 'terminate'), { exitCode: null, reason: null, statusReason: undefined, timedOut: false });
    assert.equal(end('CANCELLED').statusReason, 'Slurm job 42 was cancelled outside openbatch');
    // Cancelled at the site before its script wrote an exit code, while Slurm still says 0: no exit code, not a success.
    assert.equal(end('CANCELLED', { exitStatus: 0 }).exitCode, null);
    assert.equal(end('CANCELLED', { exitStatus: 15 }).exitCode, 143);
    assert.equal(end('CANCELLED', { exitStatus: 0 }, null, 143).exitCode, 143);
  });
});
