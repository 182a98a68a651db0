/**
 * Slurm's own time limit: a job Slurm ends for running past its time limit (here an operator
 * shortens it with scontrol; otherwise the backstop openbatch sets a minute above the attempt
 * timeout, when openbatch was not there to cancel it itself) fails with AWS's timeout reason.
 * Slurm checks time limits about every 30 s, so this test takes a minute or so.
 * Skipped, saying why, only where no Slurm cluster answers (CI starts one).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { BatchClient } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createQueue, submit, waitForStatus } from '../helpers/fixtures.js';
import { definition, holdSlurmNode, slurmExplain, slurmCe, slurmJobsNamed, slurmUnavailable } from '../helpers/slurm.js';
import { slurmJobName } from '../../src/compute/slurmProvider.js';

const skip = slurmUnavailable();
if (skip) console.log(`# Slurm time limit test skipped: ${skip}`);

describe('Slurm provider: Slurm time limit', { skip: skip ?? false }, () => {
  let t: TestServer;
  let client: BatchClient;
  let release: (() => Promise<void>) | undefined;
  before(async () => {
    release = await holdSlurmNode('shared');
    t = await startTestServer({ slurmPollSeconds: 0.5 });
    client = t.client;
    await slurmCe(client, 'slurm');
    await createQueue(client, 'sq', ['slurm']);
  });
  after(async () => {
    await t?.close();
    await release?.();
  });

  test('a job Slurm stops at its time limit fails with the timeout reason, unretried', async () => {
    await definition(client, 'overruns', ['sleep', '300'], { retries: 2 });
    const id = await submit(client, { jobQueue: 'sq', jobDefinition: 'overruns' });
    await waitForStatus(client, id, ['RUNNING'], 120_000, slurmExplain(t));
    const [slurmJob] = slurmJobsNamed(slurmJobName(id, 1));
    execFileSync('scontrol', ['update', `jobid=${slurmJob.id}`, 'timelimit=0:01']);
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], 150_000, slurmExplain(t));
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, 'Job attempt duration exceeded timeout');
    assert.equal(job.attempts?.length, 1, 'a timed-out attempt is not retried');
    assert.deepEqual(slurmJobsNamed(slurmJobName(id, 1)).map((j) => j.state), ['TIMEOUT']);
  });
});
