/**
 * Array jobs and dependencies as AWS Batch users rely on them, on the in-process harness
 * (the real control plane and SDK; agents whose jobs do what their command says, see
 * harness/shell.ts). Real processes running an array: test/e2e/arrays.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CancelJobCommand, CreateComputeEnvironmentCommand, CreateJobQueueCommand, DescribeJobsCommand, ListJobsCommand, TerminateJobCommand, type JobDetail, type SubmitJobCommandInput } from '@aws-sdk/client-batch';
import { arrayStatusSummary, getJob } from '../../src/store/jobs.js';
import { dependencyNeighbourhood } from '../../src/store/jobReports.js';
import { startHarness, type Harness } from '../harness/controlPlane.js';
import { shell } from '../harness/shell.js';
import { logLines } from '../helpers/fixtures.js';

let h: Harness;
before(async () => {
  h = await startHarness();
  await h.queue('q', { vcpus: 2 }, (a) => shell(a));
  const cmd = (...command: string[]) => ({ containerProperties: { command } });
  await h.definition('index', cmd('echo', '$AWS_BATCH_JOB_ARRAY_INDEX/$AWS_BATCH_JOB_ARRAY_SIZE'));
  await h.definition('fail-on-2', cmd('exit-at-index', '2', '1'));
  await h.definition('ok', cmd('true'));
  await h.definition('bad', cmd('exit', '1'));
  await h.definition('slow-ok', cmd('sleep', '5'));
  await h.definition('slow-fail', cmd('sleep', '5', ';', 'exit', '2'));
});
after(async () => h.close());

const submit = (definition: string, more: Partial<SubmitJobCommandInput> = {}) => h.submit({ jobQueue: 'q', jobDefinition: definition, ...more });
const done = (id: string) => h.status(id, ['SUCCEEDED', 'FAILED']);
async function jobs(ids: string[]): Promise<JobDetail[]> {
  return (await h.client.send(new DescribeJobsCommand({ jobs: ids }))).jobs ?? [];
}
const children = (parent: string, n: number) => [...Array(n).keys()].map((i) => `${parent}:${i}`);

describe('array jobs', () => {
  test('each child runs with its index and the array size, and the parent succeeds when all do, running nothing itself', async () => {
    const parent = await submit('index', { arrayProperties: { size: 5 } });
    const p = await done(parent);
    assert.equal(p.status, 'SUCCEEDED');
    assert.equal(p.arrayProperties?.size, 5);
    assert.equal(p.arrayProperties?.statusSummary?.SUCCEEDED, 5);
    assert.deepEqual(p.attempts, []);
    const listed = await h.client.send(new ListJobsCommand({ arrayJobId: parent, jobStatus: 'SUCCEEDED' }));
    assert.deepEqual(listed.jobSummaryList?.map((j) => j.jobId).sort(), children(parent, 5));
    for (const [i, child] of (await jobs(children(parent, 5))).entries()) {
      assert.equal(child.arrayProperties?.index, i);
      assert.deepEqual(await logLines(h.server.url, child.container!.logStreamName!), [`${i}/5`]);
    }
  });

  test('an array with a failed child fails once every child has ended', async () => {
    const parent = await submit('fail-on-2', { arrayProperties: { size: 4 } });
    const p = await done(parent);
    assert.equal(p.status, 'FAILED');
    assert.equal(p.statusReason, 'Array Child Job failed');
    assert.deepEqual([p.arrayProperties?.statusSummary?.SUCCEEDED, p.arrayProperties?.statusSummary?.FAILED], [3, 1]);
    assert.equal((await jobs([`${parent}:2`]))[0].status, 'FAILED');
  });

  test('each child is retried on its own: children that fail their first attempt run again, and the array succeeds', async () => {
    await h.definition('fail-first', { retryStrategy: { attempts: 2 }, containerProperties: { command: ['exit-before-attempt', '2'] } });
    const parent = await submit('fail-first', { arrayProperties: { size: 3 } });
    const p = await done(parent);
    assert.equal(p.status, 'SUCCEEDED');
    assert.deepEqual(p.attempts, []);
    for (const child of await jobs(children(parent, 3))) {
      assert.deepEqual([child.status, child.attempts?.map((a) => a.container?.exitCode)], ['SUCCEEDED', [1, 0]]);
    }
  });

  test('TerminateJob of an array stops its running children and fails the waiting ones, all with the reason', async () => {
    // Two vCPUs and no work queued on the agent: two children run, the rest wait.
    await h.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'two', type: 'UNMANAGED', unmanagedvCpus: 2, tags: { 'openbatch:prefetch': '0' } }));
    await h.agent('two', 2, (a) => shell(a));
    await h.client.send(new CreateJobQueueCommand({ jobQueueName: 'two', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'two' }] }));
    await h.definition('hour', { containerProperties: { command: ['sleep', '3600'] } });
    const parent = await h.submit({ jobQueue: 'two', jobDefinition: 'hour', arrayProperties: { size: 5 } });
    await h.until(async () => (await jobs(children(parent, 5))).filter((c) => c.status === 'RUNNING').length === 2);
    await h.client.send(new TerminateJobCommand({ jobId: parent, reason: 'not needed' }));
    const p = await done(parent);
    assert.deepEqual([p.status, p.statusReason], ['FAILED', 'not needed']);
    await h.until(async () => (await jobs(children(parent, 5))).every((c) => c.status === 'FAILED'));
    const ended = await jobs(children(parent, 5));
    assert.deepEqual(ended.map((c) => c.statusReason), Array(5).fill('not needed'));
    assert.deepEqual(ended.map((c) => c.attempts?.[0]?.container?.exitCode ?? 'never ran').sort(), [143, 143, 'never ran', 'never ran', 'never ran']);
  });

  test('SEQUENTIAL children run one after another in index order', async () => {
    const parent = await submit('index', { arrayProperties: { size: 4 }, dependsOn: [{ type: 'SEQUENTIAL' }] });
    assert.equal((await done(parent)).status, 'SUCCEEDED');
    const c = await jobs(children(parent, 4));
    for (let i = 1; i < 4; i++) assert.ok(c[i].startedAt! >= c[i - 1].stoppedAt!, `child ${i} started before child ${i - 1} stopped`);
  });

  test('N_TO_N: child i waits for child i of the other array, and fails with it', async () => {
    const a = await submit('fail-on-2', { arrayProperties: { size: 4 } });
    const b = await submit('index', { arrayProperties: { size: 4 }, dependsOn: [{ jobId: a, type: 'N_TO_N' }] });
    const bDone = await done(b);
    assert.equal(bDone.status, 'FAILED');
    assert.equal(bDone.arrayProperties?.statusSummary?.SUCCEEDED, 3);
    const [as, bs] = [await jobs(children(a, 4)), await jobs(children(b, 4))];
    assert.deepEqual([bs[2].status, bs[2].statusReason, bs[2].attempts?.length], ['FAILED', 'Dependent Job failed', 0]);
    for (const i of [0, 1, 3]) assert.ok(bs[i].startedAt! >= as[i].stoppedAt!, `child ${i} of the dependent array started before its counterpart stopped`);
  });

  test('a 10,000-child array is one row until its children are needed, and cancelling it answers for every child', async () => {
    await h.queue('parked', { vcpus: 1 }, (a) => shell(a, 3_600_000));
    const blocker = await h.submit({ jobQueue: 'parked' });
    await h.status(blocker, ['RUNNING']);
    const parent = await h.submit({ jobQueue: 'parked', arrayProperties: { size: 10_000 } });
    const pending = await h.status(parent, ['PENDING']);
    assert.equal(pending.arrayProperties?.size, 10_000);
    assert.equal(Object.values(pending.arrayProperties?.statusSummary ?? {}).reduce((x, y) => x + y, 0), 10_000);
    const row = (await getJob(h.store.store.db, parent))!;
    assert.ok((row.array_materialized ?? 0) <= 512, `expected at most one window of child rows, found ${row.array_materialized}`);
    await h.client.send(new CancelJobCommand({ jobId: parent, reason: 'not needed' }));
    const cancelled = await h.status(parent, ['FAILED']);
    assert.equal(cancelled.statusReason, 'not needed');
    assert.equal(cancelled.arrayProperties?.statusSummary?.FAILED, 10_000);
    assert.deepEqual(await arrayStatusSummary(h.store.store.db, (await getJob(h.store.store.db, parent))!), { STARTING: 0, FAILED: 10_000, RUNNING: 0, SUCCEEDED: 0, RUNNABLE: 0, SUBMITTED: 0, PENDING: 0 });
    const last = (await jobs([`${parent}:9999`]))[0];
    assert.deepEqual([last.status, last.statusReason, last.isCancelled], ['FAILED', 'not needed', true]);
  });
});

describe('dependencies', () => {
  test('a job waits for its dependency and starts only after it succeeded', async () => {
    const a = await submit('slow-ok');
    const b = await submit('ok', { dependsOn: [{ jobId: a }] });
    await h.run(100);
    assert.equal((await h.job(b)).status, 'PENDING', 'a job whose dependency runs waits PENDING');
    const bDone = await done(b);
    assert.equal(bDone.status, 'SUCCEEDED');
    assert.ok(bDone.startedAt! >= (await h.job(a)).stoppedAt!, 'the dependent started before its dependency stopped');
  });

  test('a failed dependency fails its dependents, transitively, without running them', async () => {
    const a = await submit('bad');
    const b = await submit('ok', { dependsOn: [{ jobId: a }] });
    const c = await submit('ok', { dependsOn: [{ jobId: b }] });
    const cDone = await done(c);
    assert.deepEqual([cDone.status, cDone.statusReason, cDone.attempts?.length], ['FAILED', 'Dependent Job failed', 0]);
    assert.equal((await h.job(b)).statusReason, 'Dependent Job failed');
  });

  test('a job submitted after its dependency failed fails at once, and one after it succeeded runs', async () => {
    const bad = await submit('bad');
    const ok = await submit('ok');
    await done(bad);
    await done(ok);
    const afterBad = await done(await submit('ok', { dependsOn: [{ jobId: bad }] }));
    const afterOk = await done(await submit('ok', { dependsOn: [{ jobId: ok }] }));
    assert.deepEqual([afterBad.status, afterBad.statusReason, afterOk.status], ['FAILED', 'Dependent Job failed', 'SUCCEEDED']);
  });

  test('a job with two dependencies waits for both: one that succeeded does not start it', async () => {
    const short = await submit('slow-ok');
    await h.definition('slower-ok', { containerProperties: { command: ['sleep', '30'] } });
    const long = await submit('slower-ok');
    const both = await submit('ok', { dependsOn: [{ jobId: short }, { jobId: long }] });
    await done(short);
    assert.equal((await h.job(both)).status, 'PENDING', 'still waits for the other dependency');
    const [l, b] = [await done(long), await done(both)];
    assert.equal(b.status, 'SUCCEEDED');
    assert.ok(b.startedAt! >= l.stoppedAt!, 'started after its last dependency ended');
  });

  test('cancelling a waiting job fails the jobs that depend on it, without running them', async () => {
    await h.definition('hour', { containerProperties: { command: ['sleep', '3600'] } });
    const blocker = await submit('hour');
    const middle = await submit('ok', { dependsOn: [{ jobId: blocker }] });
    const last = await submit('ok', { dependsOn: [{ jobId: middle }] });
    await h.status(last, ['PENDING']);
    await h.client.send(new CancelJobCommand({ jobId: middle, reason: 'changed my mind' }));
    const [m, l] = [await done(middle), await done(last)];
    assert.deepEqual([m.status, m.statusReason, m.isCancelled], ['FAILED', 'changed my mind', true]);
    assert.deepEqual([l.status, l.statusReason, l.attempts?.length], ['FAILED', 'Dependent Job failed', 0]);
    await h.client.send(new TerminateJobCommand({ jobId: blocker, reason: 'done with it' }));
    await done(blocker);
  });

  test('a job depending on an array parent waits for the whole array', async () => {
    const arr = await submit('index', { arrayProperties: { size: 3 } });
    const next = await done(await submit('ok', { dependsOn: [{ jobId: arr }] }));
    assert.equal(next.status, 'SUCCEEDED');
    for (const c of await jobs(children(arr, 3))) assert.ok(next.startedAt! >= c.stoppedAt!);
  });

  test('an array waiting on a job that later succeeds runs its children, not itself', async () => {
    const first = await submit('slow-ok');
    const array = await submit('index', { arrayProperties: { size: 3 }, dependsOn: [{ jobId: first }] });
    const parent = await done(array);
    assert.equal(parent.status, 'SUCCEEDED');
    assert.deepEqual(parent.attempts, [], 'the array parent itself ran');
    assert.deepEqual((await jobs(children(array, 3))).map((j) => [j.status, j.attempts?.length]), [['SUCCEEDED', 1], ['SUCCEEDED', 1], ['SUCCEEDED', 1]]);
  });

  test('an array whose dependency fails answers for every child: FAILED, Dependent Job failed, also when submitted after', async () => {
    const first = await submit('slow-fail');
    const array = await submit('index', { arrayProperties: { size: 3 }, dependsOn: [{ jobId: first }] });
    assert.equal((await done(array)).status, 'FAILED');
    assert.deepEqual((await jobs(children(array, 3))).map((j) => [j.status, j.statusReason]), [0, 1, 2].map(() => ['FAILED', 'Dependent Job failed']));
    const late = await submit('index', { arrayProperties: { size: 2 }, dependsOn: [{ jobId: first }] });
    assert.equal((await done(late)).status, 'FAILED');
    assert.deepEqual((await jobs(children(late, 2))).map((j) => j.status), ['FAILED', 'FAILED']);
  });

  test("the dashboard's dependency graph stays at the level of submitted jobs; a child's graph shows its children's edges", async () => {
    const x = await submit('ok');
    const a = await submit('ok', { arrayProperties: { size: 2 }, dependsOn: [{ jobId: x }] });
    const b = await submit('ok', { arrayProperties: { size: 2 }, dependsOn: [{ jobId: a, type: 'N_TO_N' }] });
    const seq = await submit('ok', { arrayProperties: { size: 2 }, dependsOn: [{ type: 'SEQUENTIAL' }] });
    const c = await submit('ok', { dependsOn: [{ jobId: a }, { jobId: seq }] });
    await done(c);
    await done(b);
    const edges = async (id: string) => (await dependencyNeighbourhood(h.store.store.db, id)).edges.map((e) => `${e.from}>${e.to}`).sort();
    assert.deepEqual(await edges(x), [`${x}>${a}`, `${a}>${b}`, `${a}>${c}`].sort());
    assert.deepEqual(await edges(a), [`${a}>${b}`, `${a}>${c}`, `${x}>${a}`].sort());
    assert.deepEqual(await edges(seq), [`${seq}>${c}`]);
    assert.deepEqual(await edges(`${seq}:0`), [`${seq}:0>${seq}:1`]);
  });

  test('a single job may depend on another with type SEQUENTIAL: a plain dependency, shown as sent', async () => {
    const a = await submit('slow-ok');
    const b = await submit('ok', { dependsOn: [{ jobId: a, type: 'SEQUENTIAL' }] });
    const bDone = await done(b);
    assert.equal(bDone.status, 'SUCCEEDED');
    assert.deepEqual(bDone.dependsOn, [{ jobId: a, type: 'SEQUENTIAL' }]);
    assert.ok(bDone.startedAt! >= (await h.job(a)).stoppedAt!);
  });
});
