/**
 * An array and a dependency with real processes, through the real SDK: each child's process
 * sees its index, its output is its own log stream, and a dependent starts after its
 * dependency's process ended. The rules (failed children, SEQUENTIAL, N_TO_N, transitive
 * failures, lazy expansion, cancelling) are tested on the in-process harness:
 * test/rules/arrays.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ListJobsCommand } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, describeJob, logLines, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

describe('array jobs and dependencies', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    await createCe(t.client, 'local', { maxvCpus: 2 });
    await createQueue(t.client, 'q', ['local']);
    await registerDefinition(t.client, 'index', { command: ['sh', '-c', 'echo "$AWS_BATCH_JOB_ARRAY_INDEX/$AWS_BATCH_JOB_ARRAY_SIZE"'] });
    await registerDefinition(t.client, 'ok', { command: ['true'] });
  });
  after(async () => t.close());

  test('each child of an array runs with its index, and the parent succeeds when all do', async () => {
    const parent = await submit(t.client, { jobQueue: 'q', jobDefinition: 'index', arrayProperties: { size: 5 } });
    const done = await waitForStatus(t.client, parent, ['SUCCEEDED', 'FAILED']);
    assert.equal(done.status, 'SUCCEEDED');
    assert.equal(done.arrayProperties?.size, 5);
    assert.equal(done.arrayProperties?.statusSummary?.SUCCEEDED, 5);
    assert.deepEqual(done.attempts, []);
    const children = await t.client.send(new ListJobsCommand({ arrayJobId: parent, jobStatus: 'SUCCEEDED' }));
    assert.deepEqual(children.jobSummaryList?.map((j) => j.jobId).sort(), [0, 1, 2, 3, 4].map((i) => `${parent}:${i}`));
    for (let i = 0; i < 5; i++) {
      const child = await describeJob(t.client, `${parent}:${i}`);
      assert.equal(child.arrayProperties?.index, i);
      assert.deepEqual(await logLines(t.url, child.container!.logStreamName!), [`${i}/5`]);
    }
  });

  test('a job waits for its dependency and starts only after it succeeded', async () => {
    await registerDefinition(t.client, 'sleepy', { command: ['sleep', '0.3'] });
    const a = await submit(t.client, { jobQueue: 'q', jobDefinition: 'sleepy' });
    const b = await submit(t.client, { jobQueue: 'q', jobDefinition: 'ok', dependsOn: [{ jobId: a }] });
    const bDone = await waitForStatus(t.client, b, ['SUCCEEDED', 'FAILED']);
    const aDone = await describeJob(t.client, a);
    assert.equal(bDone.status, 'SUCCEEDED');
    assert.ok(bDone.startedAt! >= aDone.stoppedAt!, 'the dependent started before its dependency stopped');
  });

});
