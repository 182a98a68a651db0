/**
 * Time dilation (server setting timeDilation) as a pipeline's tests use it: at ×60 a minute
 * passes in a second for timeouts, scale-down delays and jobStateTimeLimitActions — and a job
 * waiting for capacity is never failed for it, however long it waits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateJobQueueCommand, DescribeComputeEnvironmentsCommand, RegisterJobDefinitionCommand, TerminateJobCommand } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, describeJob, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

describe('time dilation ×60', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ timeDilation: 60, scaleDownDelaySeconds: 60, terminateGraceSeconds: 1, hostVcpus: 2 });
    await createCe(t.client, 'one', { maxvCpus: 1 });
    await createQueue(t.client, 'q', ['one']);
    await t.client.send(
      new CreateJobQueueCommand({
        jobQueueName: 'strict',
        priority: 1,
        computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'one' }],
        jobStateTimeLimitActions: [
          { reason: 'MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT', state: 'RUNNABLE', maxTimeSeconds: 600, action: 'CANCEL' },
          { reason: 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY', state: 'RUNNABLE', maxTimeSeconds: 600, action: 'CANCEL' },
        ],
      }),
    );
    await registerDefinition(t.client, 'sleep-long', { command: ['sleep', '120'] });
    await registerDefinition(t.client, 'quick', { command: ['true'] });
  });
  after(async () => t.close());

  test('a 60 s timeout fires after about a second of real time', async () => {
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'minute',
        type: 'container',
        timeout: { attemptDurationSeconds: 60 },
        containerProperties: { image: 'busybox', command: ['sleep', '120'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
      }),
    );
    const job = await waitForStatus(t.client, await submit(t.client, { jobQueue: 'q', jobDefinition: 'minute' }), ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, 'Job attempt duration exceeded timeout');
    // Not a timing assertion: only that the minute did not pass in real time.
    assert.ok(job.stoppedAt! - job.startedAt! < 30_000, `ran ${job.stoppedAt! - job.startedAt!} ms`);
  });

  test('a job waiting for capacity is never cancelled for it, though it waits many dilated minutes', async () => {
    const blocker = await submit(t.client, { jobQueue: 'strict', jobDefinition: 'sleep-long' });
    await waitForStatus(t.client, blocker, ['RUNNING'], 60_000);
    const waiting = await submit(t.client, { jobQueue: 'strict', jobDefinition: 'quick' });
    await waitForStatus(t.client, waiting, ['RUNNABLE']);
    // Twelve seconds at ×60: twelve minutes RUNNABLE, past the queue's ten-minute limits.
    await new Promise((r) => setTimeout(r, 12_000));
    const still = await describeJob(t.client, waiting);
    assert.equal(still.status, 'RUNNABLE');
    assert.equal(still.statusReason, undefined);
    await t.client.send(new TerminateJobCommand({ jobId: blocker, reason: 'make room' }));
    assert.equal((await waitForStatus(t.client, waiting, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'SUCCEEDED');
  });

  test('an idle instance is scaled down after the dilated scaleDownDelaySeconds', async () => {
    const deadline = Date.now() + 30_000;
    let desired: number | undefined;
    do {
      await new Promise((r) => setTimeout(r, 200));
      const ce = (await t.client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: ['one'] }))).computeEnvironments![0];
      desired = ce.computeResources?.desiredvCpus;
    } while (desired !== 0 && Date.now() < deadline);
    assert.equal(desired, 0, 'the idle instance went away well before a real minute');
  });
});
