/**
 * Workload 7 — compute: scale-up latency and throughput through 1, 2 and 8 local instances.
 *
 * Scale-up: a CE with no instance (minvCpus 0, maxvCpus 1, a 1-vCPU type) gets one job of
 * `true`; the figure is the job's startedAt − createdAt, both server timestamps: RUNNABLE
 * demand → an instance launched, its agent started, registered and taking the job. Between
 * rounds the instance is scaled down (scaleDownDelaySeconds 6 under timeDilation 60: 0.1 s)
 * and the next round waits until it is gone. Limit: starting the agent's program alone,
 * `node <cli> agent --help` spawn → exit (the agent's program loaded, nothing run), the floor of any new instance here.
 *
 * Throughput: N jobs of `true` (1 vCPU) submitted 16 at a time to a CE whose 8 vCPUs are
 * already launched (minvCpus = maxvCpus = 8) as 1 × c5.2xlarge, 2 × c5.xlarge or
 * 8 × c6g.medium. jobs/s = N ÷ (last stoppedAt − first createdAt), server timestamps. The
 * host budget is set to 8 vCPUs whatever the machine has: the jobs are trivial, the figure
 * is what the control plane and agents sustain, and the ratio between the three says what
 * spreading work over more agents costs or gains.
 */
import { spawnSync } from 'node:child_process';
import { CreateComputeEnvironmentCommand, DescribeJobsCommand, RegisterJobDefinitionCommand, SubmitJobCommand, type JobDetail } from '@aws-sdk/client-batch';
import type { InstanceView } from '../../src/api/instances.js';
import { requestOpenbatch } from '../../src/cli/openbatchApi.js';
import { createQueue, waitForStatus } from '../../test/helpers/fixtures.js';
import { CLI } from '../../test/helpers/server.js';
import { benchServer, percentiles, runAll, sleep, type BenchServer, type Percentiles } from '../lib.js';

export interface ScaleOutOptions {
  scaleUpRounds: number;
  jobs: number;
}

export interface ScaleOutResult {
  scaleUpMs: Percentiles;
  agentProgramStartMs: Percentiles;
  /** scale-up p50 ÷ agent program start p50 */
  scaleUpRatio: number;
  throughput: { instances: number; instanceType: string; jobs: number; jobsPerSecond: number }[];
  /** jobs/s through 8 instances ÷ through 1 */
  ratio8to1: number;
}

const ENV = { OPENBATCH_HOST_VCPUS: '8', OPENBATCH_TIME_DILATION: '60', OPENBATCH_SCALE_DOWN_DELAY_SECONDS: '6', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

async function liveInstances(s: BenchServer, ce: string): Promise<InstanceView[]> {
  const r = await requestOpenbatch<{ instances: InstanceView[] }>(
    { endpoint: s.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
    'GET',
    '/openbatch/v1/instances',
    { computeEnvironment: ce },
  );
  return r.instances;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function farm(s: BenchServer, name: string, types: string[], minvCpus: number, maxvCpus: number): Promise<void> {
  await s.client.send(
    new CreateComputeEnvironmentCommand({
      computeEnvironmentName: name,
      type: 'MANAGED',
      computeResources: { type: 'EC2', minvCpus, maxvCpus, instanceTypes: types, subnets: ['s'], instanceRole: 'r' },
    }),
  );
  await createQueue(s.client, name, [name]);
}

async function registerTrue(s: BenchServer): Promise<void> {
  await s.client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: 'true',
      type: 'container',
      containerProperties: { image: 'busybox', command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
    }),
  );
}

async function scaleUp(rounds: number): Promise<number[]> {
  const s = await benchServer({ env: ENV });
  try {
    await farm(s, 'cold', ['c6g.medium'], 0, 1);
    await registerTrue(s);
    const out: number[] = [];
    for (let r = 0; r < rounds; r++) {
      await until('the instance of the previous round to go', async () => (await liveInstances(s, 'cold')).length === 0);
      const { jobId } = await s.client.send(new SubmitJobCommand({ jobName: `cold-${r}`, jobQueue: 'cold', jobDefinition: 'true' }));
      const job = await waitForStatus(s.client, jobId!, ['SUCCEEDED', 'FAILED'], 120_000);
      if (job.status !== 'SUCCEEDED') throw new Error(`scale-up job ${jobId} ${job.status}: ${job.statusReason}`);
      out.push(job.startedAt! - job.createdAt!);
    }
    return out;
  } finally {
    await s.close();
  }
}

function agentProgramStart(samples: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [CLI, 'agent', '--help'], { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`node ${CLI} agent --help failed: ${r.status}`);
    out.push(performance.now() - t0);
  }
  return out;
}

async function throughputThrough(instances: number, type: string, jobs: number): Promise<number> {
  const s = await benchServer({ env: ENV });
  try {
    await farm(s, 'warm', [type], 8, 8);
    await registerTrue(s);
    await until(`${instances} × ${type} ACTIVE`, async () => (await liveInstances(s, 'warm')).filter((i) => i.state === 'ACTIVE').length === instances);
    const ids: string[] = new Array(jobs);
    await runAll(jobs, 16, async (i) => {
      ids[i] = (await s.client.send(new SubmitJobCommand({ jobName: `w-${i}`, jobQueue: 'warm', jobDefinition: 'true' }))).jobId!;
    });
    const details: JobDetail[] = [];
    for (let i = 0; i < jobs; i += 100) {
      const batch = ids.slice(i, i + 100);
      let done: JobDetail[] = [];
      await until(`jobs ${i}..${i + batch.length} to finish`, async () => {
        done = (await s.client.send(new DescribeJobsCommand({ jobs: batch }))).jobs ?? [];
        if (done.some((j) => j.status === 'FAILED')) throw new Error(`a job FAILED: ${done.find((j) => j.status === 'FAILED')!.statusReason}`);
        return done.every((j) => j.status === 'SUCCEEDED');
      }, 300_000);
      details.push(...done);
    }
    const first = Math.min(...details.map((j) => j.createdAt!));
    const last = Math.max(...details.map((j) => j.stoppedAt!));
    return (jobs * 1000) / (last - first);
  } finally {
    await s.close();
  }
}

export async function scaleOut(o: ScaleOutOptions): Promise<ScaleOutResult> {
  const scaleUpMs = percentiles(await scaleUp(o.scaleUpRounds));
  const agentProgramStartMs = percentiles(agentProgramStart(Math.max(o.scaleUpRounds, 10)));
  const throughput = [];
  for (const [instances, instanceType] of [[1, 'c5.2xlarge'], [2, 'c5.xlarge'], [8, 'c6g.medium']] as const) {
    throughput.push({ instances, instanceType, jobs: o.jobs, jobsPerSecond: await throughputThrough(instances, instanceType, o.jobs) });
  }
  return {
    scaleUpMs,
    agentProgramStartMs,
    scaleUpRatio: scaleUpMs.p50 / agentProgramStartMs.p50,
    throughput,
    ratio8to1: throughput[2].jobsPerSecond / throughput[0].jobsPerSecond,
  };
}
