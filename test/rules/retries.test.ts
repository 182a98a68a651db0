/**
 * Retries as AWS Batch defines them (retryStrategy.attempts, evaluateOnExit), and TerminateJob,
 * on the in-process harness: the real control plane, agents whose jobs exit as the case says.
 * (That TerminateJob really stops a job's processes is the executor's: test/e2e/retries.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TerminateJobCommand, type EvaluateOnExit, type RetryStrategy } from '@aws-sdk/client-batch';
import { startHarness, type Harness } from '../harness/controlPlane.js';

/** Exits with the attempt's number: attempt 1 exits 1, attempt 2 exits 2, … */
const exitWithAttempt = (a: { env: Record<string, string> }) => ({ exitCode: Number(a.env.AWS_BATCH_JOB_ATTEMPT) });

describe('retries', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    // Each job's command says how it exits: ["exit", "<code for attempt 1>", "<code for attempt 2>", …] (the last
    // repeats), ["attempt"] with its attempt's number, ["sleep"] not for an hour.
    await h.queue('q', { vcpus: 2 }, (a) => {
      const codes = a.command.slice(1).map(Number);
      const n = Number(a.env.AWS_BATCH_JOB_ATTEMPT);
      if (a.command[0] === 'attempt') return exitWithAttempt(a);
      if (a.command[0] === 'sleep') return { runMs: 3_600_000 };
      return { exitCode: codes[Math.min(n, codes.length) - 1] ?? 0, runMs: 1_000 };
    });
  });
  after(async () => h.close());

  const cases: { name: string; exits: string[]; strategy?: RetryStrategy; submitStrategy?: RetryStrategy; status: string; attempts: number }[] = [
    { name: 'a failing job is retried up to retryStrategy.attempts', exits: ['exit', '1'], strategy: { attempts: 3 }, status: 'FAILED', attempts: 3 },
    { name: 'a job that fails once and then succeeds ends SUCCEEDED after two attempts', exits: ['exit', '1', '0'], strategy: { attempts: 5 }, status: 'SUCCEEDED', attempts: 2 },
    { name: 'without a retry strategy a job has one attempt', exits: ['exit', '3'], status: 'FAILED', attempts: 1 },
    {
      name: 'evaluateOnExit: the first matching rule decides, EXIT stops retrying',
      exits: ['exit', '7'],
      strategy: { attempts: 5, evaluateOnExit: [{ onExitCode: '7', action: 'EXIT' }, { onExitCode: '*', action: 'RETRY' }] as EvaluateOnExit[] },
      status: 'FAILED',
      attempts: 1,
    },
    {
      name: 'evaluateOnExit: RETRY on a matching statusReason pattern and exit code',
      exits: ['exit', '4'],
      strategy: { attempts: 3, evaluateOnExit: [{ onStatusReason: 'Essential*', onExitCode: '4', action: 'RETRY' }] as EvaluateOnExit[] },
      status: 'FAILED',
      attempts: 3,
    },
    {
      name: 'evaluateOnExit: a job is retried when no rule matches, as AWS does',
      exits: ['exit', '9'],
      strategy: { attempts: 2, evaluateOnExit: [{ onExitCode: '1', action: 'EXIT' }] as EvaluateOnExit[] },
      status: 'FAILED',
      attempts: 2,
    },
    {
      // What Nextflow's AWS Batch executor submits for every task when aws.batch.maxSpotAttempts is set.
      name: "Nextflow's rule (RETRY on statusReason 'Host EC2*', EXIT on reason '*'): a job that exits non-zero is not retried (an exit without a container reason matches reason '*')",
      exits: ['exit', '1', '0'],
      strategy: { attempts: 5, evaluateOnExit: [{ onStatusReason: 'Host EC2*', action: 'RETRY' }, { onReason: '*', action: 'EXIT' }] as EvaluateOnExit[] },
      status: 'FAILED',
      attempts: 1,
    },
    { name: "SubmitJob's retryStrategy overrides the definition's", exits: ['exit', '1'], strategy: { attempts: 1 }, submitStrategy: { attempts: 2 }, status: 'FAILED', attempts: 2 },
  ];
  for (const [i, c] of cases.entries()) {
    test(c.name, async () => {
      await h.definition(`d${i}`, { retryStrategy: c.strategy, containerProperties: { command: c.exits } });
      const id = await h.submit({ jobQueue: 'q', jobDefinition: `d${i}`, retryStrategy: c.submitStrategy });
      const job = await h.status(id, ['SUCCEEDED', 'FAILED']);
      assert.equal(job.status, c.status);
      assert.equal(job.attempts?.length, c.attempts);
    });
  }

  test('each attempt is recorded with its exit code, its own log stream and its times; the job has the last exit code', async () => {
    await h.definition('numbered', { retryStrategy: { attempts: 3 }, containerProperties: { command: ['attempt'] } });
    const job = await h.status(await h.submit({ jobQueue: 'q', jobDefinition: 'numbered' }), ['SUCCEEDED', 'FAILED']);
    assert.equal(job.status, 'FAILED');
    assert.deepEqual(job.attempts?.map((a) => a.container?.exitCode), [1, 2, 3]);
    assert.equal(job.container?.exitCode, 3);
    for (const a of job.attempts ?? []) assert.ok(a.container?.logStreamName && a.startedAt && a.stoppedAt);
    assert.equal(new Set(job.attempts?.map((a) => a.container?.logStreamName)).size, 3, 'each attempt has its own log stream');
  });

  test("an attempt whose agent goes silent past its lease fails as a lost host, and Nextflow's rule runs it again on another agent", async () => {
    const lh = await startHarness();
    try {
      const first = await lh.queue('lost', { vcpus: 1 }, () => ({ runMs: 60_000 }));
      await lh.definition('host-retry', {
        retryStrategy: { attempts: 3, evaluateOnExit: [{ onStatusReason: 'Host EC2*', action: 'RETRY' }, { onReason: '*', action: 'EXIT' }] },
      });
      const id = await lh.submit({ jobQueue: 'lost', jobDefinition: 'host-retry' });
      await lh.status(id, ['RUNNING']);
      const second = await lh.agent('lost-ce', 1, () => ({ runMs: 60_000 }));
      first.silence();
      const job = await lh.status(id, ['SUCCEEDED', 'FAILED']);
      assert.equal(job.status, 'SUCCEEDED');
      assert.equal(job.attempts?.length, 2);
      assert.equal(job.attempts?.[0].statusReason, `Host EC2 (instance ${first.instanceId}) terminated.`);
      assert.deepEqual([first.assignments.length, second.assignments.length], [1, 1], 'the second attempt ran on the other agent');
    } finally {
      await lh.close();
    }
  });

  test('TerminateJob fails a running job with the reason, isTerminated, and does not retry it', async () => {
    await h.definition('long', { retryStrategy: { attempts: 3 }, containerProperties: { command: ['sleep'] } });
    const id = await h.submit({ jobQueue: 'q', jobDefinition: 'long' });
    await h.status(id, ['RUNNING']);
    await h.client.send(new TerminateJobCommand({ jobId: id, reason: 'operator stopped it' }));
    const job = await h.status(id, ['FAILED', 'SUCCEEDED'], 60_000);
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, 'operator stopped it');
    assert.equal(job.isTerminated, true);
    assert.equal(job.attempts?.length, 1);
    assert.equal(job.attempts?.[0].container?.exitCode, 143);
  });
});
