/**
 * The local provider: instances launched for demand, within the host's budget, and moved
 * to where the work is.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DescribeComputeEnvironmentsCommand } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

let t: TestServer;
before(async () => {
  // A long scale-down delay: only the move of capacity between CEs can let the second CE run.
  t = await startTestServer({ hostVcpus: 2, scaleDownDelaySeconds: 3600 });
});
after(async () => t.close());

test('an idle instance of one compute environment gives way to demand in another when the host is full', async () => {
  await createCe(t.client, 'first', { maxvCpus: 2 });
  await createCe(t.client, 'second', { maxvCpus: 2 });
  await createQueue(t.client, 'q1', ['first']);
  await createQueue(t.client, 'q2', ['second']);
  await registerDefinition(t.client, 'ok', { command: ['true'] });
  await waitForStatus(t.client, await submit(t.client, { jobQueue: 'q1', jobDefinition: 'ok' }), ['SUCCEEDED']);
  const first = await t.client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: ['first'] }));
  assert.equal(first.computeEnvironments?.[0].computeResources?.desiredvCpus, 2, 'the first CE holds the whole host');
  const job = await waitForStatus(t.client, await submit(t.client, { jobQueue: 'q2', jobDefinition: 'ok' }), ['SUCCEEDED', 'FAILED'], 30_000);
  assert.equal(job.status, 'SUCCEEDED');
  const after = await t.client.send(new DescribeComputeEnvironmentsCommand({}));
  const desired = Object.fromEntries(after.computeEnvironments!.map((c) => [c.computeEnvironmentName, c.computeResources?.desiredvCpus]));
  assert.deepEqual(desired, { first: 0, second: 2 });
});
