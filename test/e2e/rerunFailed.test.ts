/**
 * `openbatch rerun-failed` through the real CLI and server: a new array over exactly the
 * failed indices, each child seeing the index it reruns as AWS_BATCH_JOB_ARRAY_INDEX (a
 * single failed child too), the two jobs linked both ways; a second rerun refused unless
 * asked; the jobs that failed with the array submitted again behind the rerun.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { ListJobsCommand, ListTagsForResourceCommand } from '@aws-sdk/client-batch';
import { CLI, startTestServer, type TestServer } from '../helpers/server.js';
import { basicFarm, describeJob, logLines, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

const run = promisify(execFile);

// Fails indices 1, 3 and 4 on the first run (or the indices in $FAIL); a rerun child succeeds
// and prints the index it sees (AWS's variable, as a script written for AWS reads it) and its own.
const SCRIPT =
  'echo index=$AWS_BATCH_JOB_ARRAY_INDEX of=$AWS_BATCH_JOB_ARRAY_SIZE rerun=${OPENBATCH_RERUN_ARRAY_INDEX:--}/${OPENBATCH_RERUN_ARRAY_SIZE:--}; ' +
  '[ -n "$OPENBATCH_ORIGINAL_ARRAY_INDEX" ] && exit 0; case " ${FAIL:-1 3 4} " in *" $AWS_BATCH_JOB_ARRAY_INDEX "*) exit 1;; esac';

describe('openbatch rerun-failed', () => {
  let t: TestServer;
  const cli = async (...args: string[]) =>
    (await run(process.execPath, [CLI, ...args], { env: { ...process.env, OPENBATCH_ENDPOINT: t.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' } })).stdout;

  before(async () => {
    t = await startTestServer();
    await basicFarm(t.client, 'r', { maxvCpus: 2 });
    await registerDefinition(t.client, 'flaky-array', { command: ['sh', '-c', SCRIPT] });
  });
  after(async () => t.close());

  test('reruns exactly the failed indices, maps each new index to the original, links both ways', async () => {
    const original = await submit(t.client, { jobQueue: 'r-q', jobDefinition: 'flaky-array', jobName: 'sweep', arrayProperties: { size: 6 }, tags: { project: 'x' } });
    assert.equal((await waitForStatus(t.client, original, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'FAILED');

    const answer = JSON.parse(await cli('rerun-failed', original, '--json')) as { jobId: string; arraySize: number; originalIndices: number[] };
    assert.deepEqual(answer.originalIndices, [1, 3, 4]);
    assert.equal(answer.arraySize, 3);
    const rerun = await waitForStatus(t.client, answer.jobId, ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(rerun.status, 'SUCCEEDED');
    assert.equal(rerun.arrayProperties?.size, 3);
    assert.equal(rerun.jobDefinition, (await describeJob(t.client, original)).jobDefinition, 'the same definition');
    assert.equal(rerun.jobName, 'sweep');

    const children = (await t.client.send(new ListJobsCommand({ arrayJobId: answer.jobId, jobStatus: 'SUCCEEDED' }))).jobSummaryList!;
    const seen = new Map<number, string[]>();
    for (const c of children) {
      const d = await describeJob(t.client, c.jobId!);
      seen.set(d.arrayProperties!.index!, await logLines(t.url, d.container!.logStreamName!));
    }
    assert.deepEqual([...seen.entries()].sort((a, b) => a[0] - b[0]), [
      [0, ['index=1 of=6 rerun=0/3']],
      [1, ['index=3 of=6 rerun=1/3']],
      [2, ['index=4 of=6 rerun=2/3']],
    ]);

    const newTags = (await t.client.send(new ListTagsForResourceCommand({ resourceArn: rerun.jobArn }))).tags!;
    assert.equal(newTags['openbatch:rerun-of'], original);
    assert.equal(newTags['openbatch:rerun-indices'], '1,3-4');
    assert.equal(newTags.project, 'x', 'the original tags come along');
    const oldTags = (await t.client.send(new ListTagsForResourceCommand({ resourceArn: (await describeJob(t.client, original)).jobArn }))).tags!;
    assert.equal(oldTags['openbatch:rerun-by'], answer.jobId);
    // `openbatch describe` shows the links, each way.
    assert.match(await cli('describe', original), new RegExp(`^rerun by +${answer.jobId}$`, 'm'));
    assert.match(await cli('describe', answer.jobId), new RegExp(`^rerun of +${original} \\(failed children 1,3-4\\)$`, 'm'));

    // The rerun itself has no failures left to rerun.
    await assert.rejects(cli('rerun-failed', answer.jobId), (e: Error & { stderr?: string }) => /has no failed children to rerun/.test(e.stderr ?? ''));
  });

  test('a second rerun of the same array is refused unless asked with --again', async () => {
    const original = await submit(t.client, { jobQueue: 'r-q', jobDefinition: 'flaky-array', jobName: 'twice', arrayProperties: { size: 4 } });
    await waitForStatus(t.client, original, ['FAILED'], 60_000);
    const first = JSON.parse(await cli('rerun-failed', original, '--json')) as { jobId: string };
    await assert.rejects(cli('rerun-failed', original), (e: Error & { stderr?: string }) =>
      new RegExp(`array job '${original}' was already rerun by ${first.jobId}: .*openbatch rerun-failed --again`).test(e.stderr ?? ''),
    );
    const second = JSON.parse(await cli('rerun-failed', original, '--again', '--json')) as { jobId: string; originalIndices: number[] };
    assert.notEqual(second.jobId, first.jobId);
    assert.deepEqual(second.originalIndices, [1, 3]);
  });

  test('a single failed child is rerun as one job that still sees its index', async () => {
    const original = await submit(t.client, {
      jobQueue: 'r-q', jobDefinition: 'flaky-array', jobName: 'one', arrayProperties: { size: 4 },
      containerOverrides: { environment: [{ name: 'FAIL', value: '2' }] },
    });
    await waitForStatus(t.client, original, ['FAILED'], 60_000);
    const text = await cli('rerun-failed', original, '--wait');
    assert.match(text, /^as +a single job \(AWS_BATCH_JOB_ARRAY_INDEX=2\)$/m);
    const id = /^job +(\S+)/m.exec(text)![1];
    const job = await describeJob(t.client, id);
    assert.equal(job.status, 'SUCCEEDED');
    assert.equal(job.arrayProperties, undefined);
    assert.deepEqual(await logLines(t.url, job.container!.logStreamName!), ['index=2 of= rerun=-/-']);
  });

  test('--with-dependents submits again the jobs that failed with the array, behind the rerun', async () => {
    const original = await submit(t.client, { jobQueue: 'r-q', jobDefinition: 'flaky-array', jobName: 'stage1', arrayProperties: { size: 5 } });
    const gather = await submit(t.client, { jobQueue: 'r-q', jobDefinition: 'r-def', jobName: 'gather', dependsOn: [{ jobId: original }] });
    const report = await submit(t.client, { jobQueue: 'r-q', jobDefinition: 'r-def', jobName: 'report', dependsOn: [{ jobId: gather }] });
    const unrelated = await submit(t.client, { jobQueue: 'r-q', jobDefinition: 'r-def', jobName: 'unrelated' });
    for (const id of [original, gather, report]) assert.equal((await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'FAILED');
    await waitForStatus(t.client, unrelated, ['SUCCEEDED'], 60_000);

    const a = JSON.parse(await cli('rerun-failed', original, '--with-dependents', '--json')) as { jobId: string; dependents: { originalJobId: string; jobId: string; jobName: string }[] };
    assert.deepEqual(a.dependents.map((d) => [d.originalJobId, d.jobName]), [[gather, 'gather'], [report, 'report']]);
    const [newGather, newReport] = a.dependents.map((d) => d.jobId);
    assert.deepEqual((await describeJob(t.client, newGather)).dependsOn, [{ jobId: a.jobId }]);
    assert.deepEqual((await describeJob(t.client, newReport)).dependsOn, [{ jobId: newGather }]);
    assert.equal((await waitForStatus(t.client, newReport, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'SUCCEEDED');
    const tags = (await t.client.send(new ListTagsForResourceCommand({ resourceArn: (await describeJob(t.client, newGather)).jobArn }))).tags!;
    assert.equal(tags['openbatch:resubmit-of'], gather);
  });

  test('a job that is not an array is refused', async () => {
    const plain = await submit(t.client, { jobQueue: 'r-q', jobDefinition: 'r-def' });
    await assert.rejects(cli('rerun-failed', plain), (e: Error & { stderr?: string }) => /is not an array job/.test(e.stderr ?? ''));
  });
});
