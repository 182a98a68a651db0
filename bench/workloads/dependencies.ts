/**
 * Workload 4 of issue 12 — dependencies: a chain of N and a fan-out/fan-in of N.
 *
 *   chain  N jobs of `true`, each submitted with dependsOn the one before (SDK, one
 *          SubmitJob at a time, as a script would); timed from the first SubmitJob until
 *          the last job is SUCCEEDED (it cannot succeed before every earlier one has).
 *   fan    a root job, one array of N children that depends on it (fan-out), and a sink
 *          job that depends on the array (fan-in, AWS Batch's way: a job may depend on
 *          at most 20 others, but on a whole array); timed from the root's SubmitJob until
 *          the sink is SUCCEEDED.
 * Both on a CE of maxvCpus = cores whose instance is already up (a warm-up job ran).
 * Raw limits in the same run, before and after, averaged: the same number of processes of
 * `true` spawned one after another for the chain (`xargs -P 1`, and the Node spawn loop at 1
 * in flight), and at <cores> in flight for the fan (N + 2 processes). The Slurm side
 * (sbatch --dependency=afterok) is in workloads/slurm.ts.
 */
import { DescribeJobsCommand, SubmitJobCommand, type BatchClient } from '@aws-sdk/client-batch';
import { basicFarm, waitForStatus } from '../../test/helpers/fixtures.js';
import { benchServer, shortJobTags, sleep, type ServerStart } from '../lib.js';
import { nodeSpawnRate, tunedRate, xargsRate, type TunedRate } from './throughput.js';

export interface DependenciesOptions {
  chain: number;
  fan: number;
  cores: number;
  server?: ServerStart;
  skipLimits?: boolean;
  /** also run on a CE tuned for short jobs (lib.ts shortJobTags) */
  tuned?: boolean;
}

export interface DepFigure {
  jobs: number;
  elapsedMs: number;
  jobsPerSecond: number;
  /** raw spawn of the same number of processes at the same concurrency, processes/s */
  xargsPerSecond: number;
  nodeSpawnPerSecond: number;
  /** openbatch ÷ xargs, openbatch ÷ Node spawn loop (jobs/s) */
  ratioToXargs: number;
  ratioToNodeSpawn: number;
}

export interface DependenciesResult {
  cores: number;
  chain: DepFigure;
  fan: DepFigure;
  tuned?: { chain: TunedRate; fan: TunedRate };
  /**
   * From the first SubmitJob of the chain until the last one returned, ms (default CE, tuned
   * CE): the chain's jobs run while the script still submits, one SubmitJob at a time, so the
   * chain cannot go faster than its submission.
   */
  chainSubmitMs?: { default: number; tuned?: number };
}

const STALL_MS = 120_000;

async function waitSucceeded(client: BatchClient, jobId: string, intervalMs: number): Promise<void> {
  const deadline = performance.now() + STALL_MS;
  for (;;) {
    const j = (await client.send(new DescribeJobsCommand({ jobs: [jobId] }))).jobs?.[0];
    if (j?.status === 'SUCCEEDED') return;
    if (j?.status === 'FAILED') throw new Error(`job ${jobId} FAILED: ${j.statusReason}`);
    if (performance.now() > deadline) throw new Error(`job ${jobId} still ${j?.status} after ${STALL_MS} ms`);
    await sleep(intervalMs);
  }
}

async function runOpenbatch(o: DependenciesOptions, tags?: Record<string, string>): Promise<{ chainMs: number; chainSubmitMs: number; fanMs: number }> {
  const s = await benchServer(o.server);
  try {
    const { client } = s;
    const farm = await basicFarm(client, 'dep', { maxvCpus: o.cores, tags });
    const submit = async (extra: object = {}) =>
      (await client.send(new SubmitJobCommand({ jobName: 'dep', jobQueue: farm.queueName, jobDefinition: farm.definitionName, ...extra }))).jobId!;
    const warm = await waitForStatus(client, await submit(), ['SUCCEEDED', 'FAILED'], 60_000);
    if (warm.status !== 'SUCCEEDED') throw new Error(`warm-up job ${warm.status}: ${warm.statusReason}`);

    let t0 = performance.now();
    let prev: string | undefined;
    for (let i = 0; i < o.chain; i++) prev = await submit(prev ? { dependsOn: [{ jobId: prev }] } : {});
    const chainSubmitMs = performance.now() - t0;
    await waitSucceeded(client, prev!, 10);
    const chainMs = performance.now() - t0;

    t0 = performance.now();
    const root = await submit();
    const fan = await submit({ dependsOn: [{ jobId: root }], arrayProperties: { size: o.fan } });
    const sink = await submit({ dependsOn: [{ jobId: fan }] });
    await waitSucceeded(client, sink, 20);
    const fanMs = performance.now() - t0;
    return { chainMs, chainSubmitMs, fanMs };
  } finally {
    await s.close();
  }
}

function limits(o: DependenciesOptions) {
  return {
    chain: { xargs: xargsRate(o.chain, 1), node: nodeSpawnRate(o.chain, 1) },
    fan: { xargs: xargsRate(o.fan + 2, o.cores), node: nodeSpawnRate(o.fan + 2, o.cores) },
  };
}

export async function dependencies(o: DependenciesOptions): Promise<DependenciesResult> {
  const before = o.skipLimits ? undefined : limits(o);
  const ob = await runOpenbatch(o);
  const tags = shortJobTags(o.cores);
  const tuned = o.tuned ? await runOpenbatch(o, tags) : undefined;
  const after = o.skipLimits ? undefined : limits(o);
  const fig = (kind: 'chain' | 'fan', jobs: number, elapsedMs: number): DepFigure => {
    const jobsPerSecond = (jobs * 1000) / elapsedMs;
    const xargsPerSecond = before && after ? (before[kind].xargs + after[kind].xargs) / 2 : NaN;
    const nodeSpawnPerSecond = before && after ? (before[kind].node + after[kind].node) / 2 : NaN;
    return { jobs, elapsedMs, jobsPerSecond, xargsPerSecond, nodeSpawnPerSecond, ratioToXargs: jobsPerSecond / xargsPerSecond, ratioToNodeSpawn: jobsPerSecond / nodeSpawnPerSecond };
  };
  const chain = fig('chain', o.chain, ob.chainMs);
  const fan = fig('fan', o.fan + 2, ob.fanMs);
  return {
    cores: o.cores,
    chain,
    fan,
    tuned: tuned && {
      chain: tunedRate(tags, (o.chain * 1000) / tuned.chainMs, chain.xargsPerSecond, chain.nodeSpawnPerSecond),
      fan: tunedRate(tags, ((o.fan + 2) * 1000) / tuned.fanMs, fan.xargsPerSecond, fan.nodeSpawnPerSecond),
    },
    chainSubmitMs: { default: ob.chainSubmitMs, tuned: tuned?.chainSubmitMs },
  };
}
