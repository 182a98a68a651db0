/**
 * Timeouts and jobStateTimeLimitActions, tested in seconds thanks to the server's time
 * dilation (×600: a 60 s timeout fires after 0.1 s, a 600 s limit after 1 s).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateJobQueueCommand, RegisterJobDefinitionCommand } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, describeJob, logLines, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

describe('time limits', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ timeDilation: 600, terminateGraceSeconds: 1 });
    await createCe(t.client, 'local', { maxvCpus: 2 });
    await createQueue(t.client, 'q', ['local']);
    await t.client.send(
      new CreateJobQueueCommand({
        jobQueueName: 'strict',
        priority: 1,
        computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'local' }],
        jobStateTimeLimitActions: [{ reason: 'MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT', state: 'RUNNABLE', maxTimeSeconds: 600, action: 'CANCEL' }],
      }),
    );
    await registerDefinition(t.client, 'huge', { command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '64' }, { type: 'MEMORY', value: '128' }] });
  });
  after(async () => t.close());

  test('a timed-out attempt that ignores SIGTERM is killed after terminateGraceSeconds, not a fixed 30 s', async () => {
    // Given 30 s, the job would finish its cleanup and print "cleaned up"; given the server's 1 s, it is killed first.
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'slow-cleanup',
        type: 'container',
        // 1,800 s is 3 s here: time for the shell to set its trap first, nearly always (see below).
        timeout: { attemptDurationSeconds: 1800 },
        containerProperties: {
          image: 'busybox',
          // The cleanup ignores further SIGTERMs (its sleep inherits that): only the SIGKILL after the grace ends it.
          command: ['sh', '-c', 'trap "echo got TERM; trap \\"\\" TERM; sleep 20; echo cleaned up; exit 0" TERM; echo ready; while :; do sleep 0.1; done'],
          resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }],
        },
      }),
    );
    const job = await waitForStatus(t.client, await submit(t.client, { jobQueue: 'q', jobDefinition: 'slow-cleanup' }), ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, 'Job attempt duration exceeded timeout');
    const lines = await logLines(t.url, job.container!.logStreamName!);
    // A SIGTERM before the trap is set ends the shell at once (143): "ready" says the trap was set.
    if (lines.includes('ready')) assert.ok(lines.includes('got TERM'), lines.join('\n'));
    assert.ok(!lines.includes('cleaned up'), `the job outlived the 1 s grace:\n${lines.join('\n')}`);
  });

  test('a job that can never fit says so at once, and waits when its queue has no time limit action', async () => {
    const id = await submit(t.client, { jobQueue: 'q', jobDefinition: 'huge' });
    await waitForStatus(t.client, id, ['RUNNABLE']);
    for (let i = 0; i < 100 && !(await describeJob(t.client, id)).statusReason; i++) await new Promise((r) => setTimeout(r, 20));
    assert.match((await describeJob(t.client, id)).statusReason ?? '', /^MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT/);
    // Two seconds at ×600 is twenty minutes: with no action configured it still waits.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await describeJob(t.client, id)).status, 'RUNNABLE');
  });

});
