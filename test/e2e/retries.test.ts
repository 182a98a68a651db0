/**
 * Retries and termination with real processes: each attempt's exit code is the process's,
 * and TerminateJob stops the job's processes. The rules themselves (evaluateOnExit, overrides,
 * attempts, Nextflow's rule, a lost host) are tested on the in-process harness:
 * test/rules/retries.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { RegisterJobDefinitionCommand, TerminateJobCommand, type EvaluateOnExit } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, submit, waitForStatus } from '../helpers/fixtures.js';

async function definition(t: TestServer, name: string, command: string[], attempts: number, evaluateOnExit?: EvaluateOnExit[]): Promise<void> {
  await t.client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: name,
      type: 'container',
      retryStrategy: { attempts, evaluateOnExit },
      containerProperties: {
        image: 'busybox',
        command,
        resourceRequirements: [
          { type: 'VCPU', value: '1' },
          { type: 'MEMORY', value: '64' },
        ],
      },
    }),
  );
}

describe('retries and termination', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ terminateGraceSeconds: 1 });
    await createCe(t.client, 'local', { maxvCpus: 2 });
    await createQueue(t.client, 'q', ['local']);
  });
  after(async () => t.close());

  test('a failing job is retried up to retryStrategy.attempts, each attempt recorded', async () => {
    await definition(t, 'always-fails', ['sh', '-c', 'exit $AWS_BATCH_JOB_ATTEMPT'], 3);
    const id = await submit(t.client, { jobQueue: 'q', jobDefinition: 'always-fails' });
    const job = await waitForStatus(t.client, id, ['FAILED', 'SUCCEEDED']);
    assert.equal(job.status, 'FAILED');
    assert.deepEqual(job.attempts?.map((a) => a.container?.exitCode), [1, 2, 3]);
    assert.equal(job.container?.exitCode, 3);
    for (const a of job.attempts ?? []) assert.ok(a.container?.logStreamName && a.startedAt && a.stoppedAt);
    assert.equal(new Set(job.attempts?.map((a) => a.container?.logStreamName)).size, 3, 'each attempt has its own log stream');
  });

  test('TerminateJob stops a running job and its children processes, fails it with the reason, and does not retry', async () => {
    const marker = `sleep 298.${process.pid}`;
    await definition(t, 'long', ['sh', '-c', `${marker} & ${marker}`], 3);
    const id = await submit(t.client, { jobQueue: 'q', jobDefinition: 'long' });
    await waitForStatus(t.client, id, ['RUNNING']);
    await t.client.send(new TerminateJobCommand({ jobId: id, reason: 'operator stopped it' }));
    const job = await waitForStatus(t.client, id, ['FAILED', 'SUCCEEDED']);
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, 'operator stopped it');
    assert.equal(job.isTerminated, true);
    assert.equal(job.attempts?.length, 1);
    assert.equal(job.attempts?.[0].container?.exitCode, 143);
    let left = '';
    try {
      left = execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' });
    } catch {
      left = '';
    }
    assert.equal(left.trim(), '', 'a process of the terminated job is still running');
  });
});
