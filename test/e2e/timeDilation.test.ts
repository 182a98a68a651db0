/**
 * Time dilation (server setting timeDilation) as a pipeline's tests use it: at ×60 a minute
 * passes in a second — here for the local provider's scale-down delay, with a real agent
 * process. Timeouts and jobStateTimeLimitActions under dilation, and that a job waiting for
 * capacity is never failed for it, are tested on the in-process harness
 * (test/rules/timeouts.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DescribeComputeEnvironmentsCommand } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

describe('time dilation ×60', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ timeDilation: 60, scaleDownDelaySeconds: 60, terminateGraceSeconds: 1, hostVcpus: 2 });
    await createCe(t.client, 'one', { maxvCpus: 1 });
    await createQueue(t.client, 'q', ['one']);
    await registerDefinition(t.client, 'quick', { command: ['true'] });
  });
  after(async () => t.close());

  test('an idle instance is scaled down after the dilated scaleDownDelaySeconds', async () => {
    await waitForStatus(t.client, await submit(t.client, { jobQueue: 'q', jobDefinition: 'quick' }), ['SUCCEEDED'], 60_000);
    const desiredVcpus = async () => (await t.client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: ['one'] }))).computeEnvironments![0].computeResources?.desiredvCpus;
    assert.equal(await desiredVcpus(), 1, 'the job ran on an instance of its own');
    const deadline = Date.now() + 30_000;
    let desired: number | undefined;
    do {
      await new Promise((r) => setTimeout(r, 200));
      desired = await desiredVcpus();
    } while (desired !== 0 && Date.now() < deadline);
    assert.equal(desired, 0, 'the idle instance went away well before a real minute');
  });
});
