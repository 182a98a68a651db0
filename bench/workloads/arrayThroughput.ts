/**
 * Workload 2 of issue 12 — one array job of N trivial children (`true`).
 *
 * One SubmitJob with arrayProperties.size = N to a CE with maxvCpus = cores whose instance is
 * already up (a warm-up job ran); the figure is children/s from SubmitJob to the parent seen
 * SUCCEEDED (DescribeJobs on the parent every 50 ms). Unlike workload 3 no SubmitJob per job
 * competes for the cores: this is the scheduler → agent → process path alone.
 * Limits in the same run, before and after, averaged: `xargs -P <cores>` and the Node spawn
 * loop (see throughput.ts).
 */
import { DescribeJobsCommand, SubmitJobCommand } from '@aws-sdk/client-batch';
import { basicFarm, waitForStatus } from '../../test/helpers/fixtures.js';
import { benchServer, cpuPerJob, ownCpu, shortJobTags, sleep, type ServerStart } from '../lib.js';
import { nodeSpawnRate, tunedRate, xargsRate, type CpuPerJob, type TunedRate } from './throughput.js';

export interface ArrayThroughputOptions {
  size: number;
  cores: number;
  server?: ServerStart;
  skipLimits?: boolean;
  /** also run on a CE tuned for short jobs (shortJobTags) */
  tuned?: boolean;
}

export interface ArrayThroughputResult {
  size: number;
  concurrency: number;
  childrenPerSecond: number;
  elapsedMs: number;
  xargsPerSecond: number;
  nodeSpawnPerSecond: number;
  ratioToXargs: number;
  ratioToNodeSpawn: number;
  /** the default CE's server, for the profiling run */
  serverPid?: number;
  /** on the default CE (absent from results written before it was measured) */
  cpu?: CpuPerJob;
  tuned?: TunedRate;
}

const STALL_MS = 60_000;

async function runOpenbatch(o: ArrayThroughputOptions, tags?: Record<string, string>): Promise<{ elapsedMs: number; cpu: CpuPerJob; serverPid?: number }> {
  const s = await benchServer(o.server);
  try {
    const { client } = s;
    const farm = await basicFarm(client, 'arr', { maxvCpus: o.cores, tags });
    const warm = await client.send(new SubmitJobCommand({ jobName: 'warm-up', jobQueue: farm.queueName, jobDefinition: farm.definitionName }));
    const w = await waitForStatus(client, warm.jobId!, ['SUCCEEDED', 'FAILED'], 60_000);
    if (w.status !== 'SUCCEEDED') throw new Error(`warm-up job ${w.status}: ${w.statusReason}`);
    const cpu0 = ownCpu(s);
    const t0 = performance.now();
    const { jobId } = await client.send(
      new SubmitJobCommand({ jobName: 'array', jobQueue: farm.queueName, jobDefinition: farm.definitionName, arrayProperties: { size: o.size } }),
    );
    let done = 0;
    let progressAt = performance.now();
    for (;;) {
      const job = (await client.send(new DescribeJobsCommand({ jobs: [jobId!] }))).jobs![0];
      if (job.status === 'SUCCEEDED') return { elapsedMs: performance.now() - t0, cpu: cpuPerJob(cpu0, ownCpu(s), o.size), serverPid: s.child.pid };
      if (job.status === 'FAILED') throw new Error(`array ${jobId} FAILED: ${job.statusReason}`);
      const succeeded = job.arrayProperties?.statusSummary?.SUCCEEDED ?? 0;
      if (succeeded > done) {
        done = succeeded;
        progressAt = performance.now();
      } else if (performance.now() - progressAt > STALL_MS) {
        throw new Error(`no child finished for ${STALL_MS} ms; ${done} of ${o.size} done`);
      }
      await sleep(50);
    }
  } finally {
    await s.close();
  }
}

export async function arrayThroughput(o: ArrayThroughputOptions): Promise<ArrayThroughputResult> {
  const c = o.cores;
  const before = o.skipLimits ? undefined : { xargs: xargsRate(o.size, c), node: nodeSpawnRate(o.size, c) };
  const { elapsedMs, cpu, serverPid } = await runOpenbatch(o);
  const tags = shortJobTags(c);
  const tuned = o.tuned ? await runOpenbatch(o, tags) : undefined;
  const after = o.skipLimits ? undefined : { xargs: xargsRate(o.size, c), node: nodeSpawnRate(o.size, c) };
  const childrenPerSecond = (o.size * 1000) / elapsedMs;
  const xargsPerSecond = before && after ? (before.xargs + after.xargs) / 2 : NaN;
  const nodeSpawnPerSecond = before && after ? (before.node + after.node) / 2 : NaN;
  return {
    size: o.size,
    concurrency: c,
    childrenPerSecond,
    elapsedMs,
    xargsPerSecond,
    nodeSpawnPerSecond,
    ratioToXargs: childrenPerSecond / xargsPerSecond,
    ratioToNodeSpawn: childrenPerSecond / nodeSpawnPerSecond,
    serverPid,
    cpu,
    tuned: tuned === undefined ? undefined : tunedRate(tags, (o.size * 1000) / tuned.elapsedMs, xargsPerSecond, nodeSpawnPerSecond, tuned.cpu),
  };
}
