/**
 * Nextflow's AWS Batch executor (the nf-amazon plugin) replayed through @aws-sdk/client-batch:
 * the calls it makes, with the members it sends, and the answers read the way it reads them.
 * Its code is not copied: these are its calls, written out.
 *
 * - a job definition per container image, named `nf-<image>`, found by DescribeJobDefinitions
 *   (an ACTIVE revision whose parameters carry the same `nf-token`) or registered: image,
 *   command `true`, 1 vCPU and 1024 MiB (overridden per task), an awslogs log group, the
 *   aws-cli directory of the host as a read-only volume, tags `nextflow.io/*`;
 * - a task: SubmitJob with the definition as `name:revision`, containerOverrides (command
 *   `bash -o pipefail -c …`, MEMORY and VCPU, environment), tags with propagateTags, a timeout
 *   of at least 60 s, and with `maxSpotAttempts` the retry strategy
 *   `[RETRY on statusReason 'Host EC2*', EXIT on reason '*']`; an array of tasks with
 *   `arrayProperties.size`, its children addressed as `<jobId>:<index>`;
 * - polling: DescribeJobs of up to 100 ids at once; RUNNING, SUCCEEDED or FAILED means the
 *   task runs (it takes `container.taskArn` then); at the end `container.exitCode`, the error
 *   reason `statusReason - attempts[-1].container.reason`, and the output from the log group
 *   through `container.logStreamName`;
 * - kill: TerminateJob with reason "Job killed by NF", of the array's id for a child.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  DescribeJobDefinitionsCommand,
  DescribeJobsCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  TerminateJobCommand,
  type JobDetail,
} from '@aws-sdk/client-batch';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, waitForStatus } from '../helpers/fixtures.js';

const QUEUE = 'nf-queue';
const LOG_GROUP = '/nextflow/tasks';

describe("Nextflow's AWS Batch executor (nf-amazon), replayed through @aws-sdk/client-batch", () => {
  let t: TestServer;
  let logs: CloudWatchLogsClient;
  const root = tempDir('openbatch-nextflow-');
  /** aws.batch.cliPath: its directory's parent's parent is mounted read-only into every task */
  const cliHome = join(root, 'miniconda');
  const gate = join(root, 'gate');

  before(async () => {
    mkdirSync(join(cliHome, 'bin'), { recursive: true });
    // As /home/ec2-user is: a job user other than the owner may pass it.
    chmodSync(root, 0o755);
    t = await startTestServer({ hostVolumeRoots: [root], terminateGraceSeconds: 1 });
    logs = new CloudWatchLogsClient({ endpoint: t.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await createCe(t.client, 'nf-ce', { maxvCpus: 4 });
    await createQueue(t.client, QUEUE, ['nf-ce']);
  });
  after(async () => {
    logs.destroy();
    await t.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** resolveJobDefinition: an ACTIVE revision of `nf-<image>` with this nf-token, else a new one; `name:revision`. */
  async function resolveJobDefinition(image: string, token: string): Promise<string> {
    const name = `nf-${image.replace(/[^a-zA-Z0-9\-_]+/g, '-')}`;
    const found = await t.client.send(new DescribeJobDefinitionsCommand({ jobDefinitionName: name }));
    const active = (found.jobDefinitions ?? []).find((d) => d.status === 'ACTIVE' && d.parameters?.['nf-token'] === token);
    if (active) return `${name}:${active.revision}`;
    const created = await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: name,
        type: 'container',
        parameters: { 'nf-token': token },
        containerProperties: {
          image,
          command: ['true'],
          resourceRequirements: [
            { type: 'VCPU', value: '1' },
            { type: 'MEMORY', value: '1024' },
          ],
          logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-region': 'us-east-1', 'awslogs-group': LOG_GROUP } },
          mountPoints: [{ sourceVolume: 'aws-cli', containerPath: cliHome, readOnly: true }],
          volumes: [{ name: 'aws-cli', host: { sourcePath: cliHome } }],
        },
        tags: { 'nextflow.io/createdAt': new Date().toISOString(), 'nextflow.io/version': '25.04.0' },
      }),
    );
    return `${created.jobDefinitionName}:${created.revision}`;
  }

  /** newSubmitRequest + submit: the task's name normalised, its script run by bash with pipefail. */
  async function submitTask(definition: string, name: string, script: string, o: { arraySize?: number; maxSpotAttempts?: number; labels?: Record<string, string> } = {}): Promise<string> {
    const res = await t.client.send(
      new SubmitJobCommand({
        jobName: name.replace(/ /g, '_').replace(/[^a-zA-Z0-9_-]/g, ''),
        jobQueue: QUEUE,
        jobDefinition: definition,
        ...(o.labels ? { tags: o.labels, propagateTags: true } : {}),
        ...(o.maxSpotAttempts
          ? { retryStrategy: { attempts: o.maxSpotAttempts, evaluateOnExit: [{ action: 'RETRY', onStatusReason: 'Host EC2*' }, { action: 'EXIT', onReason: '*' }] } }
          : {}),
        timeout: { attemptDurationSeconds: 60 },
        containerOverrides: {
          command: ['bash', '-o', 'pipefail', '-c', script],
          resourceRequirements: [
            { type: 'MEMORY', value: '512' },
            { type: 'VCPU', value: '1' },
          ],
          environment: [{ name: 'NXF_DEBUG', value: '1' }],
        },
        ...(o.arraySize ? { arrayProperties: { size: o.arraySize } } : {}),
      }),
    );
    return res.jobId!;
  }

  /** The polling loop: DescribeJobs of every pending id at once, each task's taskArn taken when it runs, until all have ended. */
  async function pollUntilDone(ids: string[]): Promise<{ jobs: Map<string, JobDetail>; taskArns: Map<string, string | undefined> }> {
    const jobs = new Map<string, JobDetail>();
    const taskArns = new Map<string, string | undefined>();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const pending = ids.filter((id) => !['SUCCEEDED', 'FAILED'].includes(jobs.get(id)?.status ?? ''));
      if (pending.length === 0) return { jobs, taskArns };
      assert.ok(Date.now() < deadline, `tasks still pending: ${pending.map((id) => `${id} ${jobs.get(id)?.status}`).join(', ')}`);
      const res = await t.client.send(new DescribeJobsCommand({ jobs: pending.slice(0, 100) }));
      for (const job of res.jobs!) {
        jobs.set(job.jobId!, job);
        if (['RUNNING', 'SUCCEEDED', 'FAILED'].includes(job.status!) && !taskArns.get(job.jobId!)) taskArns.set(job.jobId!, job.container!.taskArn);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** errReason: the job's statusReason and its last attempt's container reason. */
  const errReason = (job: JobDetail) => [job.statusReason, job.attempts!.length ? job.attempts![job.attempts!.length - 1].container!.reason : undefined].filter(Boolean).join(' - ');

  /** getTaskLogStream: the task's output, from the log group of its definition. */
  async function taskOutput(jobId: string): Promise<string> {
    const job = (await t.client.send(new DescribeJobsCommand({ jobs: [jobId] }))).jobs![0];
    const res = await logs.send(new GetLogEventsCommand({ logGroupName: LOG_GROUP, logStreamName: job.container!.logStreamName!, startFromHead: true }));
    return res.events!.map((e) => e.message).join('\n');
  }

  test('job definitions found by nf-token or registered; tasks submitted, polled in one DescribeJobs, their exit codes, reasons and output read', async () => {
    const definition = await resolveJobDefinition('quay.io/biocontainers/samtools:1.17', 'token-a');
    assert.equal(definition, 'nf-quay-io-biocontainers-samtools-1-17:1');
    // Another run of the same pipeline finds it; other container options make another revision.
    assert.equal(await resolveJobDefinition('quay.io/biocontainers/samtools:1.17', 'token-a'), definition);
    assert.equal(await resolveJobDefinition('quay.io/biocontainers/samtools:1.17', 'token-b'), 'nf-quay-io-biocontainers-samtools-1-17:2');

    const ok = await submitTask(definition, 'ALIGN (sample 1)', 'echo "aligned $NXF_DEBUG"; test -d ' + cliHome, { labels: { pipeline: 'rnaseq' }, maxSpotAttempts: 5 });
    const failed = await submitTask(definition, 'SORT (sample 1)', 'echo sorting >&2; exit 3', { maxSpotAttempts: 5 });
    const { jobs, taskArns } = await pollUntilDone([ok, failed]);

    const good = jobs.get(ok)!;
    assert.equal(good.status, 'SUCCEEDED', `${errReason(good)} (exit ${good.container?.exitCode}): ${await taskOutput(ok)}`);
    assert.equal(good.jobName, 'ALIGN_sample_1');
    assert.equal(good.container!.exitCode, 0);
    assert.match(taskArns.get(ok) ?? '', /^arn:aws:ecs:us-east-1:\d{12}:task\//);
    assert.equal(good.tags?.pipeline, 'rnaseq');
    assert.equal(good.propagateTags, true);
    assert.equal(await taskOutput(ok), 'aligned 1');

    // A task that exits non-zero is not retried by Batch (EXIT on reason '*'): Nextflow's own error strategy decides.
    const bad = jobs.get(failed)!;
    assert.equal(bad.status, 'FAILED');
    assert.equal(bad.container!.exitCode, 3);
    assert.equal(bad.attempts!.length, 1);
    assert.equal(errReason(bad), 'Essential container in task exited');
    assert.equal(await taskOutput(failed), 'sorting');
  });

  test('an array of tasks: arrayProperties.size, each child polled as <jobId>:<index>', async () => {
    const definition = await resolveJobDefinition('ubuntu:24.04', 'token-array');
    const parent = await submitTask(definition, 'QUANT', 'echo "task $AWS_BATCH_JOB_ARRAY_INDEX"; exit $((AWS_BATCH_JOB_ARRAY_INDEX == 2 ? 4 : 0))', { arraySize: 3 });
    const children = [0, 1, 2].map((i) => `${parent}:${i}`);
    const { jobs } = await pollUntilDone(children);
    assert.deepEqual(
      children.map((id) => [jobs.get(id)!.status, jobs.get(id)!.container!.exitCode]),
      [
        ['SUCCEEDED', 0],
        ['SUCCEEDED', 0],
        ['FAILED', 4],
      ],
    );
    assert.equal(await taskOutput(children[1]), 'task 1');
  });

  test('kill: TerminateJob "Job killed by NF" fails a running task with that reason; a job already gone answers as AWS does', async () => {
    const definition = await resolveJobDefinition('ubuntu:24.04', 'token-array');
    const id = await submitTask(definition, 'LONG', `while [ ! -e ${gate} ]; do sleep 0.05; done`);
    try {
      await waitForStatus(t.client, id, ['RUNNING']);
      await t.client.send(new TerminateJobCommand({ jobId: id, reason: 'Job killed by NF' }));
      const job = await waitForStatus(t.client, id, ['FAILED']);
      assert.equal(job.statusReason, 'Job killed by NF');
      // The reaper terminates every task it started, including ones long gone.
      await t.client.send(new TerminateJobCommand({ jobId: '00000000-0000-0000-0000-000000000000', reason: 'Job killed by NF' }));
    } finally {
      writeFileSync(gate, '');
    }
  });
});
