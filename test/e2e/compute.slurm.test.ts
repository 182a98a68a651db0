/**
 * The Slurm provider against a real single-node Slurm cluster: jobs submitted with the AWS
 * SDK to a queue on a Slurm partition run under Slurm and report back as local jobs do.
 * Node failures and drains: compute.slurm.node.test.ts; how openbatch calls Slurm:
 * compute.slurm.calls.test.ts; restarts: compute.slurm.restart.test.ts.
 * Skipped, saying why, only where no Slurm cluster answers (CI starts one).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { ListJobsCommand, TerminateJobCommand, type BatchClient } from '@aws-sdk/client-batch';
import { CLI, startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, describeJob, jobUsage, logLines, submit, waitForStatus } from '../helpers/fixtures.js';
import { definition, holdSlurmNode, slurmExplain, slurmCe, slurmJobsNamed, slurmUnavailable } from '../helpers/slurm.js';
import { slurmJobName } from '../../src/compute/slurmProvider.js';

const skip = slurmUnavailable();
if (skip) console.log(`# Slurm provider tests skipped: ${skip}`);

const WAIT = 120_000;

describe('Slurm provider', { skip: skip ?? false }, () => {
  let t: TestServer;
  let client: BatchClient;
  let release: (() => Promise<void>) | undefined;
  before(async () => {
    release = await holdSlurmNode('shared');
    // timeDilation 60: a 60 s attempt timeout fires after 1 s.
    t = await startTestServer({ timeDilation: 60, slurmPollSeconds: 0.25 });
    client = t.client;
    await slurmCe(client, 'slurm');
    await createQueue(client, 'sq', ['slurm']);
    await createCe(client, 'local', { maxvCpus: 2 });
    await createQueue(client, 'lq', ['local']);
  });
  after(async () => {
    await t?.close();
    await release?.();
  });

  test('a job runs under Slurm with the AWS Batch environment, parameters and logs', async () => {
    await definition(client, 'hello', ['sh', '-c', 'echo "hello Ref::who from $AWS_BATCH_JOB_ID attempt $AWS_BATCH_JOB_ATTEMPT in $AWS_BATCH_JQ_NAME/$AWS_BATCH_CE_NAME slurm=$SLURM_JOB_ID"'], { parameters: { who: 'world' } });
    const id = await submit(client, { jobQueue: 'sq', jobDefinition: 'hello' });
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t));
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    assert.equal(job.container?.exitCode, 0);
    assert.equal(job.attempts?.length, 1);
    const lines = await logLines(t.url, job.container!.logStreamName!);
    assert.equal(lines.length, 1);
    assert.match(lines[0], new RegExp(`^hello world from ${id} attempt 1 in sq/slurm slurm=\\d+$`));
  });

  test("a job under Slurm records the CPU time of its command (its batch script's times)", async () => {
    // The busy loop keeps sh itself on the CPU: a sizeable figure whatever else the node does.
    await definition(client, 'busy', ['sh', '-c', 'i=0; while [ $i -lt 200000 ]; do i=$((i + 1)); done']);
    const id = await submit(client, { jobQueue: 'sq', jobDefinition: 'busy' });
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t));
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    const u = (await jobUsage(t.url, id))?.attempts[0];
    assert.equal(u?.source, 'slurm', JSON.stringify(u));
    assert.ok(u.cpuSeconds! > 0, `CPU ${u.cpuSeconds} s`);
    assert.equal(u.peakMemoryMiB, undefined, 'a figure the batch script does not give is absent');
  });

  test('a failing command fails the job with its exit code', async () => {
    await definition(client, 'fails', ['sh', '-c', 'echo bad >&2; exit 3']);
    const id = await submit(client, { jobQueue: 'sq', jobDefinition: 'fails' });
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t));
    assert.equal(job.status, 'FAILED');
    assert.equal(job.container?.exitCode, 3);
    assert.equal(job.statusReason, 'Essential container in task exited');
    assert.deepEqual(await logLines(t.url, job.container!.logStreamName!), ['bad']);
  });

  test('an array job runs every child under Slurm', async () => {
    await definition(client, 'indexed', ['sh', '-c', 'echo "index $AWS_BATCH_JOB_ARRAY_INDEX of $AWS_BATCH_JOB_ARRAY_SIZE"']);
    const id = await submit(client, { jobQueue: 'sq', jobDefinition: 'indexed', arrayProperties: { size: 3 } });
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t));
    assert.equal(job.status, 'SUCCEEDED');
    for (let i = 0; i < 3; i++) {
      const child = await describeJob(client, `${id}:${i}`);
      assert.equal(child.status, 'SUCCEEDED');
      assert.deepEqual(await logLines(t.url, child.container!.logStreamName!), [`index ${i} of 3`]);
    }
  });

  test('a Slurm job that depends on a local job starts after it succeeds', async () => {
    await definition(client, 'local-first', ['sh', '-c', 'sleep 1; echo local']);
    await definition(client, 'then-slurm', ['echo', 'slurm']);
    const first = await submit(client, { jobQueue: 'lq', jobDefinition: 'local-first' });
    const second = await submit(client, { jobQueue: 'sq', jobDefinition: 'then-slurm', dependsOn: [{ jobId: first }] });
    const done = await waitForStatus(client, second, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t));
    assert.equal(done.status, 'SUCCEEDED');
    const before = await describeJob(client, first);
    assert.equal(before.status, 'SUCCEEDED');
    assert.ok(done.startedAt! >= before.stoppedAt!, 'the Slurm job started after the local one stopped');
  });

  test('TerminateJob cancels the Slurm job and fails the job with the given reason', async () => {
    await definition(client, 'long', ['sleep', '300']);
    const id = await submit(client, { jobQueue: 'sq', jobDefinition: 'long' });
    await waitForStatus(client, id, ['RUNNING'], WAIT, slurmExplain(t));
    await client.send(new TerminateJobCommand({ jobId: id, reason: 'stopped by the test' }));
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t));
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, 'stopped by the test');
  });

  test('TerminateJob at the first sight of STARTING fails the job with the given reason, and the next job runs', async () => {
    await definition(client, 'long', ['sleep', '300']);
    const id = await submit(client, { jobQueue: 'sq', jobDefinition: 'long' });
    await waitForStatus(client, id, ['STARTING', 'RUNNING'], WAIT, slurmExplain(t));
    await client.send(new TerminateJobCommand({ jobId: id, reason: 'stopped while starting' }));
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t));
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, 'stopped while starting');
    await definition(client, 'quick', ['true']);
    const next = await submit(client, { jobQueue: 'sq', jobDefinition: 'quick' });
    assert.equal((await waitForStatus(client, next, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t))).status, 'SUCCEEDED');
  });

  test('an attempt past its timeout is cancelled with AWS timeout reason', async () => {
    await definition(client, 'too-slow', ['sleep', '300'], { timeout: 60 });
    const id = await submit(client, { jobQueue: 'sq', jobDefinition: 'too-slow' });
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t));
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, 'Job attempt duration exceeded timeout');
  });

  test('a Slurm job cancelled at the site (scancel outside openbatch) fails the job, saying so', async () => {
    await definition(client, 'site-cancelled', ['sleep', '300']);
    const id = await submit(client, { jobQueue: 'sq', jobDefinition: 'site-cancelled' });
    await waitForStatus(client, id, ['RUNNING'], WAIT, slurmExplain(t));
    const [slurmJob] = slurmJobsNamed(slurmJobName(id, 1));
    execFileSync('scancel', [slurmJob.id]);
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t));
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, `Slurm job ${slurmJob.id} was cancelled outside openbatch`);
  });

  test('rerun-failed of a Slurm array reruns the failed indices under Slurm, each told the index it reruns', async () => {
    const script = 'i=${OPENBATCH_ORIGINAL_ARRAY_INDEX:-$AWS_BATCH_JOB_ARRAY_INDEX}; echo "index=$i slurm=${SLURM_JOB_ID:+yes}"; [ -n "$OPENBATCH_ORIGINAL_ARRAY_INDEX" ] && exit 0; case $i in 1|3) exit 1;; esac';
    await definition(client, 'flaky-array', ['sh', '-c', script]);
    const original = await submit(client, { jobQueue: 'sq', jobDefinition: 'flaky-array', arrayProperties: { size: 4 } });
    assert.equal((await waitForStatus(client, original, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t))).status, 'FAILED');
    const out = await promisify(execFile)(process.execPath, [CLI, 'rerun-failed', original, '--json'], {
      env: { ...process.env, OPENBATCH_ENDPOINT: t.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
    });
    const rerun = JSON.parse(out.stdout) as { jobId: string; originalIndices: number[] };
    assert.deepEqual(rerun.originalIndices, [1, 3]);
    assert.equal((await waitForStatus(client, rerun.jobId, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(t))).status, 'SUCCEEDED');
    const children = (await client.send(new ListJobsCommand({ arrayJobId: rerun.jobId, jobStatus: 'SUCCEEDED' }))).jobSummaryList!;
    const lines: string[] = [];
    for (const c of children) lines.push(...(await logLines(t.url, (await describeJob(client, c.jobId!)).container!.logStreamName!)));
    assert.deepEqual(lines.sort(), ['index=1 slurm=yes', 'index=3 slurm=yes']);
  });
});
