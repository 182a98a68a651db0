/**
 * The job operations' API surface through the real SDK over HTTP: ListJobs with its default
 * status and its filters, and the bulk CancelJobs / TerminateJobs. (Jobs running to the end
 * are in jobs.run.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CancelJobCommand,
  CreateJobQueueCommand,
  CreateSchedulingPolicyCommand,
  CancelJobsCommand,
  DescribeJobsCommand,
  ListJobsCommand,
  TerminateJobCommand,
  SubmitJobCommand,
  TerminateJobsCommand,
  type BatchClient,
  type JobSummary,
  type ListJobsCommandInput,
} from '@aws-sdk/client-batch';
import { batchClient, startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, describeJob, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { rejectsClient } from '../helpers/apiErrors.js';

async function listJobs(client: BatchClient, input: ListJobsCommandInput): Promise<JobSummary[]> {
  return (await client.send(new ListJobsCommand(input))).jobSummaryList ?? [];
}

function names(list: JobSummary[]): string[] {
  return list.map((j) => j.jobName!);
}

/** Lets the wall clock move on, so that jobs submitted after it have a later createdAt. */
async function nextMillisecond(after: number): Promise<void> {
  while (Date.now() <= after) await new Promise((r) => setTimeout(r, 1));
}

describe('jobs: listing and bulk stop', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    await createCe(t.client, 'on', { maxvCpus: 1 });
    await createQueue(t.client, 'run-q', ['on']);
    // Jobs in wait-q stay RUNNABLE: its only compute environment places nothing.
    await createCe(t.client, 'off', { state: 'DISABLED' });
    await createQueue(t.client, 'wait-q', ['off']);
    await registerDefinition(t.client, 'noop');
    await registerDefinition(t.client, 'sleeper', { command: ['sleep', '120'] });
  });
  after(async () => t.close());

  test('ListJobs without jobStatus lists only RUNNING jobs, as AWS does', async () => {
    const running = await submit(t.client, { jobName: 'long', jobQueue: 'run-q', jobDefinition: 'sleeper' });
    await waitForStatus(t.client, running, ['RUNNING']);
    // The one vCPU is taken: this one waits.
    const waiting = await submit(t.client, { jobName: 'next', jobQueue: 'run-q', jobDefinition: 'sleeper' });
    await waitForStatus(t.client, waiting, ['RUNNABLE']);

    const listed = await listJobs(t.client, { jobQueue: 'run-q' });
    assert.deepEqual(listed.map((j) => j.jobId), [running]);
    assert.equal(listed[0].status, 'RUNNING');
    assert.equal(listed[0].jobName, 'long');
    assert.equal(typeof listed[0].createdAt, 'number');
    assert.equal(typeof listed[0].startedAt, 'number');
    assert.match(listed[0].jobArn ?? '', /^arn:aws:batch:us-east-1:000000000000:job\//);
    assert.match(listed[0].jobDefinition ?? '', /job-definition\/sleeper:1$/);
    assert.deepEqual((await listJobs(t.client, { jobQueue: 'run-q', jobStatus: 'RUNNABLE' })).map((j) => j.jobId), [waiting]);
  });

  test('TerminateJobs stops a running and a waiting job at once; both FAIL with the reason', async () => {
    const [running] = (await listJobs(t.client, { jobQueue: 'run-q' })).map((j) => j.jobId!);
    const [waiting] = (await listJobs(t.client, { jobQueue: 'run-q', jobStatus: 'RUNNABLE' })).map((j) => j.jobId!);
    const res = await t.client.send(new TerminateJobsCommand({ jobs: [running, waiting], reason: 'maintenance window' }));
    assert.deepEqual([...(res.successful ?? [])].sort(), [running, waiting].sort());
    assert.deepEqual(res.errors ?? [], []);
    const r = await waitForStatus(t.client, running, ['FAILED', 'SUCCEEDED']);
    const w = await waitForStatus(t.client, waiting, ['FAILED', 'SUCCEEDED']);
    assert.equal(r.status, 'FAILED');
    assert.equal(r.statusReason, 'maintenance window');
    assert.equal(r.isTerminated, true);
    assert.equal(w.status, 'FAILED');
    assert.equal(w.statusReason, 'maintenance window');
  });

  test('CancelJobs cancels every listed waiting job; each FAILS with the reason and isCancelled', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await submit(t.client, { jobName: `c${i}`, jobQueue: 'wait-q', jobDefinition: 'noop' }));
    const res = await t.client.send(new CancelJobsCommand({ jobs: ids, reason: 'not needed' }));
    assert.deepEqual([...(res.successful ?? [])].sort(), [...ids].sort());
    assert.deepEqual(res.errors ?? [], []);
    for (const id of ids) {
      const job = await waitForStatus(t.client, id, ['FAILED']);
      assert.equal(job.statusReason, 'not needed');
      assert.equal(job.isCancelled, true);
    }
  });

  test(
    'CancelJobs and TerminateJobs treat a job that cannot be found as processed, as AWS documents',
    async () => {
      const ghost = '00000000-0000-4000-8000-000000000000';
      const cancelled = await t.client.send(new CancelJobsCommand({ jobs: [ghost], reason: 'r' }));
      assert.deepEqual(cancelled.successful, [ghost]);
      assert.deepEqual(cancelled.errors ?? [], []);
      const terminated = await t.client.send(new TerminateJobsCommand({ jobs: [ghost], reason: 'r' }));
      assert.deepEqual(terminated.successful, [ghost]);
      assert.deepEqual(terminated.errors ?? [], []);
    },
  );

  test('CancelJob and TerminateJob of a job id that names no job answer 200 {}, as AWS does', async () => {
    const ghost = '00000000-0000-4000-8000-00000000beef';
    const cancelled = await t.client.send(new CancelJobCommand({ jobId: ghost, reason: 'cleanup' }));
    const terminated = await t.client.send(new TerminateJobCommand({ jobId: `arn:aws:batch:us-east-1:000000000000:job/${ghost}`, reason: 'cleanup' }));
    assert.equal(cancelled.$metadata.httpStatusCode, 200);
    assert.equal(terminated.$metadata.httpStatusCode, 200);
  });

  test('DescribeJobs leaves out an empty job id, as it does an unknown one', async () => {
    const id = await submit(t.client, { jobName: 'described', jobQueue: 'wait-q', jobDefinition: 'noop' });
    const res = await t.client.send(new DescribeJobsCommand({ jobs: ['', id, 'no-such-job'] }));
    assert.deepEqual(res.jobs?.map((j) => j.jobId), [id]);
    assert.deepEqual((await t.client.send(new DescribeJobsCommand({ jobs: [''] }))).jobs, []);
  });

  test('a single job may depend on another with type SEQUENTIAL: a plain dependency, shown as sent', async () => {
    const first = await submit(t.client, { jobName: 'first', jobQueue: 'wait-q', jobDefinition: 'noop' });
    const second = await submit(t.client, { jobName: 'second', jobQueue: 'wait-q', jobDefinition: 'noop', dependsOn: [{ jobId: first, type: 'SEQUENTIAL' }] });
    const waiting = await waitForStatus(t.client, second, ['PENDING']);
    assert.deepEqual(waiting.dependsOn, [{ jobId: first, type: 'SEQUENTIAL' }]);
    await t.client.send(new CancelJobCommand({ jobId: first, reason: 'not needed' }));
    const failed = await waitForStatus(t.client, second, ['FAILED']);
    assert.equal(failed.statusReason, 'Dependent Job failed');
    await rejectsClient(
      submit(t.client, { jobName: 'lone', jobQueue: 'wait-q', jobDefinition: 'noop', dependsOn: [{ type: 'SEQUENTIAL' }] }),
      /dependsOn\[0\]: a SEQUENTIAL dependency without a jobId orders the children of an array job/,
    );
  });

  test('CancelJobs and TerminateJobs take 1 to 50 jobs and a reason of at most 1024 characters', async () => {
    const ids = Array.from({ length: 51 }, (_, i) => `job-${i}`);
    await rejectsClient(t.client.send(new CancelJobsCommand({ jobs: ids, reason: 'r' })), /jobs .*50.*\(got 51\)/);
    await rejectsClient(t.client.send(new TerminateJobsCommand({ jobs: [], reason: 'r' })), /jobs .*\(got 0\)/);
    const id = await submit(t.client, { jobName: 'long-reason', jobQueue: 'wait-q', jobDefinition: 'noop' });
    await rejectsClient(t.client.send(new CancelJobsCommand({ jobs: [id], reason: 'x'.repeat(1025) })), /reason must be 1-1024 characters long \(got 1025\)/);
    await rejectsClient(t.client.send(new TerminateJobsCommand({ jobs: [id], reason: '' })), /reason must be 1-1024 characters long \(got 0\)|reason must not be empty/);
    assert.equal((await describeJob(t.client, id)).isCancelled, undefined);
  });

  test('a job submitted with a client in eu-west-1 has an ARN in eu-west-1, and is found by it', async () => {
    const eu = batchClient(t.url, undefined, 'eu-west-1');
    try {
      const res = await eu.send(new SubmitJobCommand({ jobName: 'dublin-job', jobQueue: 'wait-q', jobDefinition: 'noop' }));
      assert.equal(res.jobArn, `arn:aws:batch:eu-west-1:000000000000:job/${res.jobId}`);
      const job = await describeJob(t.client, res.jobArn!);
      assert.equal(job.jobId, res.jobId);
      assert.equal(job.jobArn, res.jobArn);
    } finally {
      eu.destroy();
    }
  });

  describe('ListJobs filters', () => {
    const created = new Map<string, number>();
    before(async () => {
      for (const name of ['render-a', 'Render-B', 'other']) {
        const id = await submit(t.client, { jobName: name, jobQueue: 'wait-q', jobDefinition: 'noop' });
        created.set(name, (await describeJob(t.client, id)).createdAt!);
      }
      await nextMillisecond(Math.max(...created.values()));
      for (const name of ['render-late', 'late']) {
        const id = await submit(t.client, { jobName: name, jobQueue: 'wait-q', jobDefinition: 'noop' });
        created.set(name, (await describeJob(t.client, id)).createdAt!);
      }
    });

    test('JOB_NAME with a trailing * matches by prefix, ignoring case, newest first, whatever the status', async () => {
      const listed = await listJobs(t.client, { jobQueue: 'wait-q', filters: [{ name: 'JOB_NAME', values: ['render*'] }] });
      assert.deepEqual(names(listed), ['render-late', 'Render-B', 'render-a']);
      const ignoringStatus = await listJobs(t.client, { jobQueue: 'wait-q', jobStatus: 'SUCCEEDED', filters: [{ name: 'JOB_NAME', values: ['RENDER*'] }] });
      assert.deepEqual(names(ignoringStatus), ['render-late', 'Render-B', 'render-a']);
    });

    test('JOB_NAME without * matches the whole name only', async () => {
      assert.deepEqual(names(await listJobs(t.client, { jobQueue: 'wait-q', filters: [{ name: 'JOB_NAME', values: ['render-b'] }] })), ['Render-B']);
      assert.deepEqual(await listJobs(t.client, { jobQueue: 'wait-q', filters: [{ name: 'JOB_NAME', values: ['render'] }] }), []);
    });

    test('AFTER_CREATED_AT lists exactly the jobs created after the given epoch milliseconds', async () => {
      const threshold = Math.max(created.get('render-a')!, created.get('Render-B')!, created.get('other')!);
      const all = await listJobs(t.client, { jobQueue: 'wait-q', filters: [{ name: 'JOB_NAME', values: ['*'] }] });
      const expected = all.filter((j) => j.createdAt! > threshold).map((j) => j.jobName);
      const listed = await listJobs(t.client, { jobQueue: 'wait-q', filters: [{ name: 'AFTER_CREATED_AT', values: [String(threshold)] }] });
      assert.deepEqual(names(listed), expected);
      assert.ok(names(listed).includes('render-late') && names(listed).includes('late'));
      assert.ok(!names(listed).includes('other'));
    });

    test('BEFORE_CREATED_AT lists exactly the jobs created before the given epoch milliseconds', async () => {
      const threshold = Math.min(created.get('render-late')!, created.get('late')!);
      const listed = await listJobs(t.client, { jobQueue: 'wait-q', filters: [{ name: 'BEFORE_CREATED_AT', values: [String(threshold)] }] });
      assert.ok(listed.every((j) => j.createdAt! < threshold));
      for (const n of ['render-a', 'Render-B', 'other']) assert.ok(names(listed).includes(n), `${n} missing`);
      assert.ok(!names(listed).includes('late'));
    });

    test('JOB_DEFINITION matches the definition name across revisions', async () => {
      const listed = await listJobs(t.client, { jobQueue: 'wait-q', filters: [{ name: 'JOB_DEFINITION', values: ['noop'] }] });
      assert.ok(listed.length >= 5);
      assert.ok(listed.every((j) => /job-definition\/noop:\d+$/.test(j.jobDefinition ?? '')));
      assert.deepEqual(await listJobs(t.client, { jobQueue: 'wait-q', filters: [{ name: 'JOB_DEFINITION', values: ['sleeper'] }] }), []);
    });

    test('SHARE_IDENTIFIER lists the jobs of a share (a trailing * by prefix), newest first, in the given status', async () => {
      const policy = await t.client.send(new CreateSchedulingPolicyCommand({ name: 'shares' }));
      await t.client.send(new CreateJobQueueCommand({ jobQueueName: 'fair-q', priority: 1, schedulingPolicyArn: policy.arn, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'off' }] }));
      for (const [jobName, shareIdentifier] of [['b1', 'blue1'], ['r1', 'red'], ['b2', 'blue2']]) {
        await waitForStatus(t.client, await submit(t.client, { jobName, jobQueue: 'fair-q', jobDefinition: 'noop', shareIdentifier }), ['RUNNABLE']);
      }
      const shareFilter = (value: string, jobStatus?: 'RUNNABLE' | 'RUNNING') => listJobs(t.client, { jobQueue: 'fair-q', jobStatus, filters: [{ name: 'SHARE_IDENTIFIER', values: [value] }] });
      assert.deepEqual(names(await shareFilter('blue*', 'RUNNABLE')), ['b2', 'b1']);
      assert.deepEqual(names(await shareFilter('red', 'RUNNABLE')), ['r1']);
      assert.deepEqual(names(await shareFilter('blue', 'RUNNABLE')), [], 'without * the whole identifier must match');
      assert.deepEqual(names(await shareFilter('blue*')), [], 'jobStatus (default RUNNING) applies with SHARE_IDENTIFIER');
    });

    test('an unknown filter name, a non-numeric time and two filters at once are refused, naming the member', async () => {
      await rejectsClient(listJobs(t.client, { jobQueue: 'wait-q', filters: [{ name: 'COLOUR', values: ['x'] }] }), /filters\[0\]\.name must be one of JOB_NAME/);
      await rejectsClient(
        listJobs(t.client, { jobQueue: 'wait-q', filters: [{ name: 'AFTER_CREATED_AT', values: ['yesterday'] }] }),
        /filters\[0\]\.values\[0\] 'yesterday' is invalid: use a time in milliseconds/,
      );
      await rejectsClient(
        listJobs(t.client, {
          jobQueue: 'wait-q',
          filters: [
            { name: 'JOB_NAME', values: ['a'] },
            { name: 'JOB_NAME', values: ['b'] },
          ],
        }),
        /filters must have at most 1 entry \(got 2\)/,
      );
    });

    test('ListJobs needs exactly one of jobQueue, arrayJobId and multiNodeJobId', async () => {
      await rejectsClient(listJobs(t.client, {}), /one of jobQueue, arrayJobId, multiNodeJobId is required/);
      await rejectsClient(listJobs(t.client, { jobQueue: 'wait-q', arrayJobId: 'x' }), /only one of jobQueue, arrayJobId, multiNodeJobId/);
      await rejectsClient(listJobs(t.client, { jobQueue: 'nope' }), /jobQueue 'nope' does not exist/);
    });
  });
});
