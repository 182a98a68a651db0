/**
 * How the Slurm provider talks to Slurm, seen through a slurmBinDir whose commands record
 * their arguments and run the real ones: jobs are followed with squeue calls that ask for all
 * of the service user's jobs at once (never one call per job), each attempt is one sbatch,
 * and stopping many jobs at once is one scancel naming them all — including a job still
 * waiting in Slurm.
 * Skipped, saying why, only where no Slurm cluster answers (CI starts one).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { TerminateJobCommand, type BatchClient } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createQueue, describeJob, submit, waitForStatus } from '../helpers/fixtures.js';
import { definition, holdSlurmNode, slurmExplain, recordingSlurmBin, slurmCe, slurmUnavailable } from '../helpers/slurm.js';

const skip = slurmUnavailable();
if (skip) console.log(`# Slurm call tests skipped: ${skip}`);

const WAIT = 120_000;

describe('Slurm provider: calls to Slurm', { skip: skip ?? false }, () => {
  let t: TestServer;
  let client: BatchClient;
  let release: (() => Promise<void>) | undefined;
  let bin: ReturnType<typeof recordingSlurmBin>;
  before(async () => {
    release = await holdSlurmNode('shared');
    bin = recordingSlurmBin();
    t = await startTestServer({ slurmPollSeconds: 0.25, slurmBinDir: bin.dir });
    client = t.client;
    await slurmCe(client, 'slurm');
    await createQueue(client, 'sq', ['slurm']);
  });
  after(async () => {
    await t?.close();
    // What this file submitted to Slurm ends with it, even when a test failed before its own
    // TerminateJob: a Slurm job outlives the control plane, and would hold the node for the next file.
    const ids = (bin?.calls() ?? []).filter((c) => c[0] === 'sbatch').map((c) => c[c.length - 1].split(';')[0]);
    if (ids.length) spawnSync('scancel', ids, { stdio: 'ignore' });
    await release?.();
  });

  test('an array of 4: one sbatch per child, squeue for all jobs at once, one scancel for all when terminated', async () => {
    await definition(client, 'waits', ['sleep', '300']);
    const parent = await submit(client, { jobQueue: 'sq', jobDefinition: 'waits', arrayProperties: { size: 4 } });
    // Every child reaches Slurm (those the node cannot run yet wait there, STARTING here).
    const submitted = () => bin.calls().filter((c) => c[0] === 'sbatch');
    const deadline = Date.now() + WAIT;
    while (submitted().length < 4) {
      assert.ok(Date.now() < deadline, `only ${submitted().length} of 4 children reached sbatch`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // Slurm starts the children in an order of its own (on a 2-CPU node, 3 and 2 first, say): any of them.
    const runDeadline = Date.now() + WAIT;
    while (!(await Promise.all([0, 1, 2, 3].map((i) => describeJob(client, `${parent}:${i}`)))).some((c) => c.status === 'RUNNING')) {
      assert.ok(Date.now() < runDeadline, `no child of the array reached RUNNING\n${slurmExplain(t)()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const slurmIds = submitted().map((c) => c[c.length - 1].split(';')[0]);
    assert.equal(new Set(slurmIds).size, 4);

    await client.send(new TerminateJobCommand({ jobId: parent, reason: 'the whole array stopped' }));
    const done = await waitForStatus(client, parent, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t));
    assert.equal(done.status, 'FAILED');
    for (let i = 0; i < 4; i++) {
      const child = await describeJob(client, `${parent}:${i}`);
      assert.equal(child.status, 'FAILED');
      assert.equal(child.statusReason, 'the whole array stopped');
    }

    const calls = bin.calls();
    assert.equal(calls.filter((c) => c[0] === 'sbatch').length, 4, 'one sbatch per attempt, none twice');
    const squeues = calls.filter((c) => c[0] === 'squeue');
    assert.ok(squeues.length > 0);
    for (const c of squeues) {
      assert.ok(c.includes('--me'), `squeue asks for all of the user's jobs: ${c.join(' ')}`);
      assert.ok(!c.some((a) => a === '-j' || a.startsWith('--jobs')), `squeue never names jobs: ${c.join(' ')}`);
    }
    const scancels = calls.filter((c) => c[0] === 'scancel');
    assert.equal(scancels.length, 1, `one scancel: ${scancels.map((c) => c.join(' ')).join('; ')}`);
    assert.deepEqual(scancels[0].slice(1).sort(), [...slurmIds].sort());
  });
});
