/**
 * `openbatch rerun-failed` through the real CLI and server: a new array over exactly the
 * failed indices, each child told the index it reruns, the two jobs linked both ways.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { ListJobsCommand, ListTagsForResourceCommand } from '@aws-sdk/client-batch';
import { CLI, startTestServer, type TestServer } from '../helpers/server.js';
import { basicFarm, describeJob, logLines, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

const run = promisify(execFile);

// Fails indices 1, 3 and 4 on the first run; a rerun child succeeds and prints what it reran.
const SCRIPT = 'i=${OPENBATCH_ORIGINAL_ARRAY_INDEX:-$AWS_BATCH_JOB_ARRAY_INDEX}; echo index=$i; [ -n "$OPENBATCH_ORIGINAL_ARRAY_INDEX" ] && exit 0; case $i in 1|3|4) exit 1;; esac';

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
      [0, ['index=1']],
      [1, ['index=3']],
      [2, ['index=4']],
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

  test('a job that is not an array is refused', async () => {
    const plain = await submit(t.client, { jobQueue: 'r-q', jobDefinition: 'r-def' });
    await assert.rejects(cli('rerun-failed', plain), (e: Error & { stderr?: string }) => /is not an array job/.test(e.stderr ?? ''));
  });
});
