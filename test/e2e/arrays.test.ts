/**
 * Array jobs and dependencies, as AWS Batch users rely on them, through the real SDK.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CancelJobCommand, ListJobsCommand, UpdateComputeEnvironmentCommand } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, describeJob, logLines, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

describe('array jobs and dependencies', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    await createCe(t.client, 'local', { maxvCpus: 2 });
    await createQueue(t.client, 'q', ['local']);
    await registerDefinition(t.client, 'index', { command: ['sh', '-c', 'echo "$AWS_BATCH_JOB_ARRAY_INDEX/$AWS_BATCH_JOB_ARRAY_SIZE"'] });
    await registerDefinition(t.client, 'fail-on-2', { command: ['sh', '-c', 'test "$AWS_BATCH_JOB_ARRAY_INDEX" != 2'] });
    await registerDefinition(t.client, 'ok', { command: ['true'] });
    await registerDefinition(t.client, 'bad', { command: ['false'] });
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

  test('an array with a failed child fails once every child has ended', async () => {
    const parent = await submit(t.client, { jobQueue: 'q', jobDefinition: 'fail-on-2', arrayProperties: { size: 4 } });
    const done = await waitForStatus(t.client, parent, ['SUCCEEDED', 'FAILED']);
    assert.equal(done.status, 'FAILED');
    assert.equal(done.arrayProperties?.statusSummary?.SUCCEEDED, 3);
    assert.equal(done.arrayProperties?.statusSummary?.FAILED, 1);
    assert.equal((await describeJob(t.client, `${parent}:2`)).status, 'FAILED');
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

  test('a failed dependency fails its dependents, transitively', async () => {
    const a = await submit(t.client, { jobQueue: 'q', jobDefinition: 'bad' });
    const b = await submit(t.client, { jobQueue: 'q', jobDefinition: 'ok', dependsOn: [{ jobId: a }] });
    const c = await submit(t.client, { jobQueue: 'q', jobDefinition: 'ok', dependsOn: [{ jobId: b }] });
    const cDone = await waitForStatus(t.client, c, ['SUCCEEDED', 'FAILED']);
    assert.equal(cDone.status, 'FAILED');
    assert.equal(cDone.statusReason, 'Dependent Job failed');
    assert.equal((await describeJob(t.client, b)).statusReason, 'Dependent Job failed');
    assert.equal(cDone.attempts?.length, 0);
  });

  test('SEQUENTIAL children run one after another in index order', async () => {
    const parent = await submit(t.client, { jobQueue: 'q', jobDefinition: 'index', arrayProperties: { size: 4 }, dependsOn: [{ type: 'SEQUENTIAL' }] });
    assert.equal((await waitForStatus(t.client, parent, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
    for (let i = 1; i < 4; i++) {
      const prev = await describeJob(t.client, `${parent}:${i - 1}`);
      const cur = await describeJob(t.client, `${parent}:${i}`);
      assert.ok(cur.startedAt! >= prev.stoppedAt!, `child ${i} started before child ${i - 1} stopped`);
    }
  });

  test('N_TO_N: child i waits for child i of the other array, and fails with it', async () => {
    const a = await submit(t.client, { jobQueue: 'q', jobDefinition: 'fail-on-2', arrayProperties: { size: 4 } });
    const b = await submit(t.client, { jobQueue: 'q', jobDefinition: 'index', arrayProperties: { size: 4 }, dependsOn: [{ jobId: a, type: 'N_TO_N' }] });
    const bDone = await waitForStatus(t.client, b, ['SUCCEEDED', 'FAILED']);
    assert.equal(bDone.status, 'FAILED');
    assert.equal(bDone.arrayProperties?.statusSummary?.SUCCEEDED, 3);
    const b2 = await describeJob(t.client, `${b}:2`);
    assert.equal(b2.status, 'FAILED');
    assert.equal(b2.statusReason, 'Dependent Job failed');
    for (const i of [0, 1, 3]) {
      const ai = await describeJob(t.client, `${a}:${i}`);
      const bi = await describeJob(t.client, `${b}:${i}`);
      assert.ok(bi.startedAt! >= ai.stoppedAt!, `child ${i} of the dependent array started before its counterpart stopped`);
    }
  });

  test('a job depending on an array parent waits for the whole array', async () => {
    const arr = await submit(t.client, { jobQueue: 'q', jobDefinition: 'index', arrayProperties: { size: 3 } });
    const after = await submit(t.client, { jobQueue: 'q', jobDefinition: 'ok', dependsOn: [{ jobId: arr }] });
    const done = await waitForStatus(t.client, after, ['SUCCEEDED', 'FAILED']);
    assert.equal(done.status, 'SUCCEEDED');
    for (let i = 0; i < 3; i++) assert.ok(done.startedAt! >= (await describeJob(t.client, `${arr}:${i}`)).stoppedAt!);
  });
});

describe('large arrays are expanded lazily', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    await createCe(t.client, 'off', { maxvCpus: 2, state: 'DISABLED' });
    await createQueue(t.client, 'parked', ['off']);
    await registerDefinition(t.client, 'ok', { command: ['true'] });
  });
  after(async () => t.close());

  test('a 10,000-child array is one row until its children are needed, and cancelling it ends every child', async () => {
    const parent = await submit(t.client, { jobQueue: 'parked', jobDefinition: 'ok', arrayProperties: { size: 10_000 } });
    const pending = await waitForStatus(t.client, parent, ['PENDING']);
    assert.equal(pending.arrayProperties?.size, 10_000);
    const total = Object.values(pending.arrayProperties?.statusSummary ?? {}).reduce((a, b) => a + b, 0);
    assert.equal(total, 10_000);
    const { n: rows } = await t.server.services.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('parent_id', '=', parent)
      .executeTakeFirstOrThrow();
    assert.ok(rows <= 512, `expected at most one window of child rows, found ${rows}`);

    await t.client.send(new CancelJobCommand({ jobId: parent, reason: 'not needed' }));
    const cancelled = await waitForStatus(t.client, parent, ['FAILED']);
    assert.equal(cancelled.statusReason, 'not needed');
    assert.equal(cancelled.arrayProperties?.statusSummary?.FAILED, 10_000);
    assert.equal((await describeJob(t.client, `${parent}:9999`)).statusReason, 'not needed');
    await t.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'off', state: 'ENABLED' }));
  });
});
