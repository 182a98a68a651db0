/**
 * Fair-share scheduling through the real SDK: under contention, capacity is divided between
 * shares by weight over time, lower weightFactor meaning more.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateJobQueueCommand, CreateSchedulingPolicyCommand, DescribeJobsCommand, UpdateComputeEnvironmentCommand, type JobDetail } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(async () => t.close());

test('the share with weightFactor 1 gets about 3x the vCPU-seconds of the share with weightFactor 3', async () => {
  // Disabled while the work is queued, so contention starts with both shares waiting.
  await createCe(t.client, 'fs', { maxvCpus: 2, state: 'DISABLED' });
  const policy = await t.client.send(
    new CreateSchedulingPolicyCommand({
      name: 'fair',
      fairsharePolicy: { shareDecaySeconds: 600, shareDistribution: [{ shareIdentifier: 'heavy', weightFactor: 1 }, { shareIdentifier: 'light', weightFactor: 3 }] },
    }),
  );
  await t.client.send(
    new CreateJobQueueCommand({ jobQueueName: 'shared', priority: 1, schedulingPolicyArn: policy.arn, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'fs' }] }),
  );
  // Durations vary a little (0.15-0.24 s, from the job id), as real jobs do: jobs that all end
  // together would free every slot at once, pass after pass.
  await registerDefinition(t.client, 'work', { command: ['sh', '-c', 'sleep 0.$((15 + $(echo "$AWS_BATCH_JOB_ID" | tr -dc 0-9 | cut -c1-1)))'] });
  // The light share submits first: a FIFO queue would run all of it before any heavy job.
  const light: string[] = [];
  const heavy: string[] = [];
  for (let i = 0; i < 60; i++) light.push(await submit(t.client, { jobQueue: 'shared', jobDefinition: 'work', shareIdentifier: 'light' }));
  for (let i = 0; i < 60; i++) heavy.push(await submit(t.client, { jobQueue: 'shared', jobDefinition: 'work', shareIdentifier: 'heavy' }));
  await t.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'fs', state: 'ENABLED' }));
  for (const id of [...light, ...heavy]) await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 120_000);

  const describe = async (ids: string[]) => {
    const out: JobDetail[] = [];
    for (let i = 0; i < ids.length; i += 100) out.push(...((await t.client.send(new DescribeJobsCommand({ jobs: ids.slice(i, i + 100) }))).jobs ?? []));
    return out;
  };
  const L = await describe(light);
  const H = await describe(heavy);
  // Contention lasts while both shares have work queued: until the first share starts its last job.
  const start = Math.min(...[...L, ...H].map((j) => j.startedAt!));
  const end = Math.min(Math.max(...L.map((j) => j.startedAt!)), Math.max(...H.map((j) => j.startedAt!)));
  const used = (jobs: JobDetail[]) => jobs.reduce((n, j) => n + Math.max(0, Math.min(j.stoppedAt!, end) - Math.max(j.startedAt!, start)), 0);
  const ratio = used(H) / used(L);
  assert.ok(ratio > 2 && ratio < 4.5, `heavy/light vCPU-seconds ratio under contention was ${ratio.toFixed(2)}, expected about 3`);
});
