/**
 * Array jobs behind ordinary dependencies, and agents whose jobs print a lot: cases the crash
 * suite found (test/crash), kept here as plain regressions.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DescribeJobsCommand } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
  await createCe(t.client, 'ce', { maxvCpus: 2 });
  await createQueue(t.client, 'q', ['ce']);
  await registerDefinition(t.client, 'echo', { command: ['sh', '-c', 'echo "$AWS_BATCH_JOB_ID"'] });
  await registerDefinition(t.client, 'slow-fail', { command: ['sh', '-c', 'sleep 1; exit 2'] });
  await registerDefinition(t.client, 'slow-ok', { command: ['sleep', '1'] });
  await registerDefinition(t.client, 'loud', { command: ['sh', '-c', "head -c 6000000 /dev/zero | tr '\\0' x | fold -w 3000; echo done"] });
});
after(async () => t.close());

test('an array waiting on a job that later succeeds runs its children, not itself', async () => {
  const first = await submit(t.client, { jobQueue: 'q', jobDefinition: 'slow-ok' });
  const array = await submit(t.client, { jobQueue: 'q', jobDefinition: 'echo', arrayProperties: { size: 3 }, dependsOn: [{ jobId: first }] });
  const parent = await waitForStatus(t.client, array, ['SUCCEEDED', 'FAILED'], 60_000);
  assert.equal(parent.status, 'SUCCEEDED');
  assert.deepEqual(parent.attempts ?? [], [], 'the array parent itself ran');
  const children = await t.client.send(new DescribeJobsCommand({ jobs: [0, 1, 2].map((i) => `${array}:${i}`) }));
  assert.deepEqual(children.jobs?.map((j) => [j.status, j.attempts?.length]), [['SUCCEEDED', 1], ['SUCCEEDED', 1], ['SUCCEEDED', 1]]);
});

test('an array whose dependency fails answers for every child: FAILED, Dependent Job failed', async () => {
  const first = await submit(t.client, { jobQueue: 'q', jobDefinition: 'slow-fail' });
  const array = await submit(t.client, { jobQueue: 'q', jobDefinition: 'echo', arrayProperties: { size: 3 }, dependsOn: [{ jobId: first }] });
  assert.equal((await waitForStatus(t.client, array, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'FAILED');
  const children = await t.client.send(new DescribeJobsCommand({ jobs: [0, 1, 2].map((i) => `${array}:${i}`) }));
  assert.deepEqual(children.jobs?.map((j) => [j.status, j.statusReason]), [0, 1, 2].map(() => ['FAILED', 'Dependent Job failed']));
  // Submitted after its dependency already failed: the same.
  const late = await submit(t.client, { jobQueue: 'q', jobDefinition: 'echo', arrayProperties: { size: 2 }, dependsOn: [{ jobId: first }] });
  assert.equal((await waitForStatus(t.client, late, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'FAILED');
  const lateChildren = await t.client.send(new DescribeJobsCommand({ jobs: [`${late}:0`, `${late}:1`] }));
  assert.deepEqual(lateChildren.jobs?.map((j) => j.status), ['FAILED', 'FAILED']);
});

test('a job that prints megabytes at once still has its exit reported', async () => {
  const id = await submit(t.client, { jobQueue: 'q', jobDefinition: 'loud' });
  const job = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 90_000);
  assert.equal(job.status, 'SUCCEEDED', job.statusReason);
});
