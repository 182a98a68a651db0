/**
 * Fair-share scheduling on the in-process harness: under contention, capacity is divided
 * between shares by weight over time, a lower weightFactor meaning more; within a share,
 * schedulingPriority first. With fake time the jobs' durations are exact, so the division is
 * measured, not sampled from a noisy machine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateSchedulingPolicyCommand, DescribeJobsCommand, UpdateComputeEnvironmentCommand, type JobDetail } from '@aws-sdk/client-batch';
import { startHarness, type Harness } from '../harness/controlPlane.js';
import { shell } from '../harness/shell.js';

async function describeAll(h: Harness, ids: string[]): Promise<JobDetail[]> {
  const out: JobDetail[] = [];
  for (let i = 0; i < ids.length; i += 100) out.push(...((await h.client.send(new DescribeJobsCommand({ jobs: ids.slice(i, i + 100) }))).jobs ?? []));
  return out;
}

describe('fair share', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.close());

  /** A fair-share queue on a 2-vCPU agent, disabled while the work is queued so that contention starts with every share waiting. */
  async function fairQueue(name: string, shares: { shareIdentifier: string; weightFactor: number }[]): Promise<void> {
    const policy = await h.client.send(new CreateSchedulingPolicyCommand({ name: `${name}-policy`, fairsharePolicy: { shareDecaySeconds: 600, shareDistribution: shares } }));
    await h.queue(name, { vcpus: 2, schedulingPolicyArn: policy.arn }, (a) => shell(a));
    await h.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: `${name}-ce`, state: 'DISABLED' }));
  }

  const cases = [
    { name: 'the share with weightFactor 1 gets about 3x the vCPU-seconds of the share with weightFactor 3', heavy: 1, light: 3, low: 2.5, high: 3.5 },
    { name: 'shares of equal weight get equal vCPU-seconds', heavy: 1, light: 1, low: 0.8, high: 1.25 },
  ];
  for (const [i, c] of cases.entries()) {
    test(c.name, async () => {
      const q = `shared${i}`;
      await fairQueue(q, [
        { shareIdentifier: 'heavy', weightFactor: c.heavy },
        { shareIdentifier: 'light', weightFactor: c.light },
      ]);
      // Durations vary (5-11 s), as real jobs' do: jobs that all ended together would free every slot at once.
      const jobs: { light: string[]; heavy: string[] } = { light: [], heavy: [] };
      for (let n = 0; n < 7; n++) await h.definition(`${q}-work-${n}`, { containerProperties: { command: ['sleep', String(5 + n)] } });
      // The light share submits first: a FIFO queue would run all of it before any heavy job.
      for (const share of ['light', 'heavy'] as const) {
        for (let n = 0; n < 40; n++) jobs[share].push(await h.submit({ jobQueue: q, jobDefinition: `${q}-work-${n % 7}`, shareIdentifier: share }));
      }
      await h.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: `${q}-ce`, state: 'ENABLED' }));
      // A share runs its jobs in submission order: once the last of each has ended, all have.
      const lasts = [jobs.light[39], jobs.heavy[39]];
      await h.until(async () => (await describeAll(h, lasts)).every((j) => j.status === 'SUCCEEDED'));
      assert.ok((await describeAll(h, [...jobs.light, ...jobs.heavy])).every((j) => j.status === 'SUCCEEDED'));
      const L = await describeAll(h, jobs.light);
      const H = await describeAll(h, jobs.heavy);
      // Contention lasts while both shares have work queued: until the first share starts its last job.
      const start = Math.min(...[...L, ...H].map((j) => j.startedAt!));
      const end = Math.min(Math.max(...L.map((j) => j.startedAt!)), Math.max(...H.map((j) => j.startedAt!)));
      const used = (js: JobDetail[]) => js.reduce((n, j) => n + Math.max(0, Math.min(j.stoppedAt!, end) - Math.max(j.startedAt!, start)), 0);
      const ratio = used(H) / used(L);
      assert.ok(ratio > c.low && ratio < c.high, `heavy/light vCPU-seconds under contention: ${ratio.toFixed(2)}, expected between ${c.low} and ${c.high}`);
    });
  }

  test('within a share, a higher schedulingPriority goes first, then submission order', async () => {
    const policy = await h.client.send(new CreateSchedulingPolicyCommand({ name: 'prio-policy', fairsharePolicy: { shareDistribution: [{ shareIdentifier: 'a', weightFactor: 1 }] } }));
    await h.queue('prio', { vcpus: 1, schedulingPolicyArn: policy.arn }, (a) => shell(a));
    await h.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'prio-ce', state: 'DISABLED' }));
    const low = await h.submit({ jobQueue: 'prio', shareIdentifier: 'a', schedulingPriorityOverride: 1 });
    const high = await h.submit({ jobQueue: 'prio', shareIdentifier: 'a', schedulingPriorityOverride: 9 });
    const alsoLow = await h.submit({ jobQueue: 'prio', shareIdentifier: 'a', schedulingPriorityOverride: 1 });
    await h.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'prio-ce', state: 'ENABLED' }));
    await h.until(async () => (await describeAll(h, [low, high, alsoLow])).every((j) => j.status === 'SUCCEEDED'));
    const started = (await describeAll(h, [low, high, alsoLow])).map((j) => [j.jobId, j.startedAt!] as const).sort((x, y) => x[1] - y[1]);
    assert.deepEqual(started.map(([id]) => id), [high, low, alsoLow]);
  });
});
