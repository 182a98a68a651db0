/**
 * The Slurm provider when the site takes its node away: a drained node lets its running jobs
 * finish and takes no new ones until resumed; a node that goes down fails its attempts with
 * AWS's host-terminated reason, so retry strategies written for lost hosts (evaluateOnExit on
 * `Host EC2*`) retry them. This file holds the cluster's one node exclusively (the other
 * Slurm test files wait), as it drains it and takes it down.
 * Skipped, saying why, only where no Slurm cluster answers (CI starts one).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BatchClient } from '@aws-sdk/client-batch';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { createQueue, describeJob, logLines, submit, waitForStatus } from '../helpers/fixtures.js';
import { definition, holdSlurmNode, slurmExplain, slurmView, nodeState, setNodeState, slurmCe, slurmJobsNamed, slurmNode, slurmUnavailable } from '../helpers/slurm.js';
import { slurmJobName } from '../../src/compute/slurmProvider.js';

const skip = slurmUnavailable();
if (skip) console.log(`# Slurm node tests skipped: ${skip}`);

const WAIT = 120_000;

/** Polls `check` every 200 ms until it returns true; fails with `what` after `ms`. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = WAIT): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${slurmView()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('Slurm provider when the node is drained or lost', { skip: skip ?? false }, () => {
  let t: TestServer;
  let client: BatchClient;
  let node: string;
  let release: (() => Promise<void>) | undefined;
  const gates = tempDir('openbatch-slurm-gates-');
  before(async () => {
    release = await holdSlurmNode('exclusive');
    node = slurmNode();
    t = await startTestServer({ slurmPollSeconds: 0.25 });
    client = t.client;
    await slurmCe(client, 'slurm');
    await createQueue(client, 'sq', ['slurm']);
  });
  after(async () => {
    if (node) setNodeState(node, 'resume');
    await t?.close();
    await release?.();
  });

  test('a drained node lets its running job finish, and starts the next job only once resumed', async () => {
    const gate = join(gates, 'drain-gate');
    await definition(client, 'outlasts-drain', ['sh', '-c', `echo started; while [ ! -e ${gate} ]; do sleep 0.2; done; echo "finished after the drain"`]);
    await definition(client, 'after-resume', ['echo', 'ran after the resume']);
    const running = await submit(client, { jobQueue: 'sq', jobDefinition: 'outlasts-drain' });
    const started = await waitForStatus(client, running, ['RUNNING'], WAIT, slurmExplain(t));
    // Output comes back through the logs API while the job runs.
    await until('the first line in the log stream', async () => (await logLines(t.url, started.container!.logStreamName!)).includes('started'));

    setNodeState(node, 'drain', 'openbatch test: drained mid-job');
    try {
      await until('the node to drain', () => /drain|drng/.test(nodeState(node)), 30_000);
      const waiting = await submit(client, { jobQueue: 'sq', jobDefinition: 'after-resume' });
      writeFileSync(gate, '');
      const done = await waitForStatus(client, running, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t));
      assert.equal(done.status, 'SUCCEEDED', done.statusReason);
      assert.equal(done.attempts?.length, 1);
      assert.deepEqual(await logLines(t.url, done.container!.logStreamName!), ['started', 'finished after the drain']);
      // The drained node's CPUs are free now, yet Slurm starts nothing on it: the job waits
      // in Slurm, and openbatch shows it STARTING.
      await until('the next job to reach Slurm', () => slurmJobsNamed(slurmJobName(waiting, 1)).length === 1);
      await until('the node to be drained', () => /drained/.test(nodeState(node)), 30_000);
      assert.deepEqual(slurmJobsNamed(slurmJobName(waiting, 1)).map((j) => j.state), ['PENDING']);
      assert.equal((await describeJob(client, waiting)).status, 'STARTING');
      setNodeState(node, 'resume');
      const next = await waitForStatus(client, waiting, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t));
      assert.equal(next.status, 'SUCCEEDED', next.statusReason);
      assert.deepEqual(await logLines(t.url, next.container!.logStreamName!), ['ran after the resume']);
    } finally {
      setNodeState(node, 'resume');
    }
  });

  test('a node drained mid-job and then lost fails the attempt as a lost host; evaluateOnExit on Host EC2* retries it', async () => {
    await definition(
      client,
      'survivor',
      ['sh', '-c', 'if [ "$AWS_BATCH_JOB_ATTEMPT" = 1 ]; then echo "attempt 1 waits"; sleep 300; fi; echo "attempt $AWS_BATCH_JOB_ATTEMPT done"'],
      // Only a lost host is retried: any other failure ends the job.
      { retries: 3, evaluateOnExit: [{ onStatusReason: 'Host EC2*', action: 'RETRY' }, { onReason: '*', action: 'EXIT' }] },
    );
    const id = await submit(client, { jobQueue: 'sq', jobDefinition: 'survivor' });
    await waitForStatus(client, id, ['RUNNING'], WAIT, slurmExplain(t));
    setNodeState(node, 'drain', 'openbatch test: drained, then lost');
    try {
      await until('the node to drain', () => /drain|drng/.test(nodeState(node)), 30_000);
      setNodeState(node, 'down', 'openbatch test: node lost mid-job');
      const retried = await waitForStatus(client, id, ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t));
      assert.notEqual(retried.status, 'FAILED', retried.statusReason);
    } finally {
      setNodeState(node, 'resume');
    }
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t));
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    assert.equal(job.attempts?.length, 2);
    assert.match(job.attempts![0].statusReason!, /^Host EC2 \(instance .+\) terminated\.$/);
    // The lost attempt's output; what the shell and slurmstepd print as they are killed may follow.
    assert.equal((await logLines(t.url, job.attempts![0].container!.logStreamName!))[0], 'attempt 1 waits');
    assert.deepEqual(await logLines(t.url, job.attempts![1].container!.logStreamName!), ['attempt 2 done']);
  });
});
