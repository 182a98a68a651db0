/**
 * Jobs really run: through the real SDK, a real server and real child processes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RegisterJobDefinitionCommand } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, logLines, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

describe('jobs run as real processes', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    await createCe(t.client, 'local', { maxvCpus: 2 });
    await createQueue(t.client, 'q', ['local']);
  });
  after(async () => t.close());

  test('a job that exits 0 goes through RUNNING to SUCCEEDED with its output kept', async () => {
    await registerDefinition(t.client, 'hello', { command: ['echo', 'Ref::greeting'] });
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'hello',
        type: 'container',
        parameters: { greeting: 'hi' },
        containerProperties: {
          image: 'busybox',
          command: ['echo', 'Ref::greeting'],
          resourceRequirements: [
            { type: 'VCPU', value: '1' },
            { type: 'MEMORY', value: '512' },
          ],
        },
      }),
    );
    const id = await submit(t.client, { jobName: 'h1', jobQueue: 'q', jobDefinition: 'hello' });
    const job = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED']);
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    assert.equal(job.container?.exitCode, 0);
    assert.ok(job.startedAt && job.stoppedAt && job.startedAt <= job.stoppedAt);
    assert.ok(job.container?.logStreamName?.startsWith('hello/default/'));
    assert.equal(job.attempts?.length, 1);
    assert.equal(job.attempts?.[0].container?.exitCode, 0);
    assert.deepEqual(await logLines(t.url, job.container!.logStreamName!), ['hi']);
  });

  test('a job that exits 3 FAILS with exit code 3 and the essential-container reason', async () => {
    await registerDefinition(t.client, 'fail3', { command: ['sh', '-c', 'echo about to fail >&2; exit 3'] });
    const id = await submit(t.client, { jobQueue: 'q', jobDefinition: 'fail3' });
    const job = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED']);
    assert.equal(job.status, 'FAILED');
    assert.equal(job.container?.exitCode, 3);
    assert.equal(job.statusReason, 'Essential container in task exited');
    assert.equal(job.attempts?.[0].container?.exitCode, 3);
    assert.deepEqual(await logLines(t.url, job.container!.logStreamName!), ['about to fail']);
  });

  test('parameters, overrides and the AWS_BATCH_* environment reach the job', async () => {
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'envdump',
        type: 'container',
        parameters: { who: 'default', what: 'thing' },
        containerProperties: {
          image: 'busybox',
          command: ['sh', '-c', 'echo "$0 $1|$GREETING|$AWS_BATCH_JOB_ID|$AWS_BATCH_JOB_ATTEMPT|$AWS_BATCH_JQ_NAME|$AWS_BATCH_CE_NAME"', 'Ref::who', 'Ref::what'],
          environment: [{ name: 'GREETING', value: 'from-definition' }],
          resourceRequirements: [
            { type: 'VCPU', value: '1' },
            { type: 'MEMORY', value: '128' },
          ],
        },
      }),
    );
    const id = await submit(t.client, {
      jobQueue: 'q',
      jobDefinition: 'envdump',
      parameters: { who: 'submitter' },
      containerOverrides: { environment: [{ name: 'GREETING', value: 'from-override' }] },
    });
    const job = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED']);
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    assert.deepEqual(job.parameters, { who: 'submitter', what: 'thing' });
    assert.deepEqual(job.container?.command?.slice(-2), ['submitter', 'thing']);
    assert.deepEqual(await logLines(t.url, job.container!.logStreamName!), [`submitter thing|from-override|${id}|1|q|local`]);
  });

  test('a command that cannot start fails the job with a CannotStartContainerError reason', async () => {
    await registerDefinition(t.client, 'nosuch', { command: ['/no/such/program'] });
    const id = await submit(t.client, { jobQueue: 'q', jobDefinition: 'nosuch' });
    const job = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED']);
    assert.equal(job.status, 'FAILED');
    assert.match(job.attempts?.[0].container?.reason ?? '', /^CannotStartContainerError/);
  });
});

describe('capacity', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => t.close());

  test('a compute environment with maxvCpus 1 never runs two 1-vCPU jobs at once', async () => {
    await createCe(t.client, 'one', { maxvCpus: 1 });
    await createQueue(t.client, 'q1', ['one']);
    // Each job records its start and end; overlapping intervals would mean two ran at once.
    await registerDefinition(t.client, 'interval', { command: ['sh', '-c', 'echo start $(date +%s%N); sleep 0.2; echo end $(date +%s%N)'] });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await submit(t.client, { jobQueue: 'q1', jobDefinition: 'interval' }));
    const jobs = [];
    for (const id of ids) jobs.push(await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED']));
    const intervals = [];
    for (const j of jobs) {
      assert.equal(j.status, 'SUCCEEDED', j.statusReason);
      const [s, e] = (await logLines(t.url, j.container!.logStreamName!)).map((m) => BigInt(m.split(' ')[1]));
      intervals.push([s, e]);
    }
    intervals.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    for (let i = 1; i < intervals.length; i++) assert.ok(intervals[i][0] >= intervals[i - 1][1], 'two jobs overlapped on a 1-vCPU compute environment');
  });
});
