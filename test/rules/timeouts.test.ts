/**
 * Attempt timeouts and jobStateTimeLimitActions, and the server's time dilation, on the
 * in-process harness: minutes of the server's time pass in milliseconds, so every limit is
 * checked on both sides of its boundary. (A timed-out process that ignores SIGTERM is killed
 * after the grace: the executor's, test/e2e/timeLimits.test.ts; a job that can never fit a
 * managed compute environment: the same file.)
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { TerminateJobCommand, UpdateComputeEnvironmentCommand } from '@aws-sdk/client-batch';
import { REASONS, WAIT_REASONS } from '../../src/model/reasons.js';
import { startHarness, type Harness } from '../harness/controlPlane.js';
import { shell } from '../harness/shell.js';

const harnesses: Harness[] = [];
after(async () => {
  for (const h of harnesses) await h.close();
});
async function harness(dilation = 1): Promise<Harness> {
  const h = await startHarness({ timeDilation: dilation });
  harnesses.push(h);
  return h;
}

describe('attempt timeouts', () => {
  const cases = [
    { name: 'an attempt over its timeout is stopped and fails with the timeout reason, unretried', dilation: 1, timeout: 60, runs: 100, ranMs: 60_000 },
    { name: 'with time dilation ×60, a 60 s timeout fires after 1 s of the server\'s time', dilation: 60, timeout: 60, runs: 100, ranMs: 1_000 },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const h = await harness(c.dilation);
      await h.queue('q', { vcpus: 1 }, (a) => shell(a));
      await h.definition('slow', { timeout: { attemptDurationSeconds: c.timeout }, retryStrategy: { attempts: 3 }, containerProperties: { command: ['sleep', String(c.runs)] } });
      const job = await h.status(await h.submit({ jobQueue: 'q', jobDefinition: 'slow' }), ['SUCCEEDED', 'FAILED']);
      assert.deepEqual([job.status, job.statusReason, job.attempts?.length, job.attempts?.[0].container?.exitCode], ['FAILED', REASONS.timeout, 1, 143]);
      assert.equal(job.stoppedAt! - job.startedAt!, c.ranMs);
    });
  }

  test("SubmitJob's timeout overrides the definition's", async () => {
    const h = await harness();
    await h.queue('q', { vcpus: 1 }, (a) => shell(a));
    await h.definition('roomy', { timeout: { attemptDurationSeconds: 600 }, containerProperties: { command: ['sleep', '100'] } });
    const job = await h.status(await h.submit({ jobQueue: 'q', jobDefinition: 'roomy', timeout: { attemptDurationSeconds: 60 } }), ['SUCCEEDED', 'FAILED']);
    assert.deepEqual([job.status, job.statusReason, job.stoppedAt! - job.startedAt!], ['FAILED', REASONS.timeout, 60_000]);
  });

  test("each child of an array has the whole timeout for its own attempt, however long the array takes", async () => {
    const h = await harness();
    // One vCPU: the children run one after another, the array for about three minutes.
    await h.queue('q', { vcpus: 1 }, (a) => shell(a));
    await h.definition('fifty', { timeout: { attemptDurationSeconds: 60 }, containerProperties: { command: ['sleep', '50'] } });
    const parent = await h.submit({ jobQueue: 'q', jobDefinition: 'fifty', arrayProperties: { size: 3 } });
    assert.equal((await h.status(parent, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
    const children = await Promise.all([0, 1, 2].map((i) => h.job(`${parent}:${i}`)));
    assert.deepEqual(children.map((c) => [c.status, c.stoppedAt! - c.startedAt!]), Array(3).fill(['SUCCEEDED', 50_000]));
    assert.ok(Math.max(...children.map((c) => c.stoppedAt!)) - Math.min(...children.map((c) => c.startedAt!)) >= 150_000, 'the array ran longer than one timeout');
  });

  test('an attempt within its timeout is not stopped', async () => {
    const h = await harness();
    await h.queue('q', { vcpus: 1 }, (a) => shell(a));
    await h.definition('in-time', { timeout: { attemptDurationSeconds: 60 }, containerProperties: { command: ['sleep', '59'] } });
    assert.equal((await h.status(await h.submit({ jobQueue: 'q', jobDefinition: 'in-time' }), ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
  });
});

describe('jobStateTimeLimitActions', () => {
  const limit = { reason: 'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE', state: 'RUNNABLE', maxTimeSeconds: 600, action: 'CANCEL' };

  for (const dilation of [10, 600]) {
    test(`a job stuck RUNNABLE with the listed reason is cancelled after maxTimeSeconds, not before (time dilation ×${dilation})`, async () => {
      const h = await harness(dilation);
      await h.queue('strict', { vcpus: 1, timeLimitActions: [limit] }, (a) => shell(a));
      await h.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'strict-ce', state: 'DISABLED' }));
      const id = await h.submit({ jobQueue: 'strict' });
      await h.status(id, ['RUNNABLE']);
      await h.until(async () => (await h.job(id)).statusReason !== undefined);
      assert.equal((await h.job(id)).statusReason, WAIT_REASONS.noEnabledCe);
      const since = h.time.now();
      const limitMs = (limit.maxTimeSeconds * 1000) / dilation;
      await h.run(limitMs - 1_000 - (h.time.now() - since));
      assert.equal((await h.job(id)).status, 'RUNNABLE', 'cancelled before its limit');
      await h.run(2_000);
      const job = await h.job(id);
      assert.deepEqual([job.status, job.attempts?.length], ['FAILED', 0]);
      assert.match(job.statusReason ?? '', /jobStateTimeLimitActions: RUNNABLE with reason MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE for more than 600 seconds/);
    });
  }

  test('a job waiting for capacity is never cancelled for it, though it waits past every limit', async () => {
    const h = await harness(60);
    const capacityLimit = { reason: 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY', state: 'RUNNABLE', maxTimeSeconds: 600, action: 'CANCEL' };
    await h.queue('strict', { vcpus: 1, timeLimitActions: [capacityLimit, limit] }, (a) => shell(a));
    await h.definition('long', { containerProperties: { command: ['sleep', '36000'] } });
    const blocker = await h.submit({ jobQueue: 'strict', jobDefinition: 'long' });
    await h.status(blocker, ['RUNNING']);
    const waiting = await h.submit({ jobQueue: 'strict' });
    await h.status(waiting, ['RUNNABLE']);
    // A minute at ×60: an hour as the limits count it, six times the ten minutes.
    await h.run(60_000);
    const still = await h.job(waiting);
    assert.deepEqual([still.status, still.statusReason], ['RUNNABLE', undefined]);
    await h.client.send(new TerminateJobCommand({ jobId: blocker, reason: 'make room' }));
    assert.equal((await h.status(waiting, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
  });
});
