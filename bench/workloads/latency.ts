/**
 * Workload 2 — submit→RUNNING latency on idle capacity.
 *
 * A CE whose instance is already up (a warm-up job ran on it), then N jobs of `true`, one at a
 * time. For each: t0 = epoch ms just before SubmitJob is sent;
 *   toRunning    startedAt − t0 (startedAt is the agent's clock; same machine, same clock)
 *   toSucceeded  first DescribeJobs answer showing SUCCEEDED − t0, polling every 2 ms
 *   submitCall   the SubmitJob round trip alone
 * Limit, measured in this process in the same run: child_process.spawn('true') until its
 * 'spawn' event and until its 'exit' — the floor for any design that spawns a process per job.
 */
import { spawn } from 'node:child_process';
import { DescribeJobsCommand, SubmitJobCommand, type JobDetail } from '@aws-sdk/client-batch';
import { basicFarm, waitForStatus } from '../../test/helpers/fixtures.js';
import { benchServer, percentiles, sleep, type Percentiles } from '../lib.js';

export interface LatencyOptions {
  jobs: number;
  /** spawn('true') samples for the limit */
  spawnSamples: number;
}

export interface LatencyResult {
  jobs: number;
  toRunningMs: Percentiles;
  toSucceededMs: Percentiles;
  submitCallMs: Percentiles;
  spawnEventMs: Percentiles;
  spawnExitMs: Percentiles;
  /** p50 of toRunning ÷ p50 of spawn→'spawn'; p50 of toSucceeded ÷ p50 of spawn→'exit' */
  ratioRunningToSpawn: number;
  ratioSucceededToExit: number;
}

/** One spawn of `true`: ms to the 'spawn' event and to 'exit'. */
export function spawnTrue(): Promise<{ spawnMs: number; exitMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let spawnMs = NaN;
    const child = spawn('true', [], { stdio: 'ignore' });
    child.once('spawn', () => (spawnMs = performance.now() - t0));
    child.once('error', reject);
    child.once('exit', () => resolve({ spawnMs, exitMs: performance.now() - t0 }));
  });
}

export async function spawnLimit(samples: number): Promise<{ spawnEventMs: Percentiles; spawnExitMs: Percentiles }> {
  for (let i = 0; i < 5; i++) await spawnTrue();
  const spawns: number[] = [];
  const exits: number[] = [];
  for (let i = 0; i < samples; i++) {
    const r = await spawnTrue();
    spawns.push(r.spawnMs);
    exits.push(r.exitMs);
  }
  return { spawnEventMs: percentiles(spawns), spawnExitMs: percentiles(exits) };
}

export async function latency(o: LatencyOptions): Promise<LatencyResult> {
  const s = await benchServer();
  try {
    const { client } = s;
    const farm = await basicFarm(client, 'lat', { maxvCpus: 2 });
    const submit = async (name: string) =>
      (await client.send(new SubmitJobCommand({ jobName: name, jobQueue: farm.queueName, jobDefinition: farm.definitionName }))).jobId!;
    // Warm-up: launches the instance (agent process) and runs one job on it.
    const warm = await waitForStatus(client, await submit('warm-up'), ['SUCCEEDED', 'FAILED'], 60_000);
    if (warm.status !== 'SUCCEEDED') throw new Error(`warm-up job ${warm.status}: ${warm.statusReason}`);

    const toRunning: number[] = [];
    const toSucceeded: number[] = [];
    const submitCall: number[] = [];
    for (let i = 0; i < o.jobs; i++) {
      const t0 = Date.now();
      const p0 = performance.now();
      const id = await submit(`lat-${i}`);
      submitCall.push(performance.now() - p0);
      let job: JobDetail | undefined;
      for (;;) {
        job = (await client.send(new DescribeJobsCommand({ jobs: [id] }))).jobs?.[0];
        if (job?.status === 'SUCCEEDED' || job?.status === 'FAILED') break;
        if (performance.now() - p0 > 30_000) throw new Error(`job ${id} still ${job?.status} after 30 s`);
        await sleep(2);
      }
      const done = performance.now();
      if (job.status !== 'SUCCEEDED') throw new Error(`job ${id} ${job.status}: ${job.statusReason}`);
      toSucceeded.push(done - p0);
      toRunning.push(job.startedAt! - t0);
    }
    const limit = await spawnLimit(o.spawnSamples);
    const r = {
      jobs: o.jobs,
      toRunningMs: percentiles(toRunning),
      toSucceededMs: percentiles(toSucceeded),
      submitCallMs: percentiles(submitCall),
      ...limit,
    };
    return {
      ...r,
      ratioRunningToSpawn: r.toRunningMs.p50 / r.spawnEventMs.p50,
      ratioSucceededToExit: r.toSucceededMs.p50 / r.spawnExitMs.p50,
    };
  } finally {
    await s.close();
  }
}
