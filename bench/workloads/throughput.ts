/**
 * Workload 3 — trivial-job throughput.
 *
 * N jobs of `true` (1 vCPU each) submitted back-to-back, 16 in flight, to a CE with
 * maxvCpus = cores whose instance is already up (a warm-up job ran). The figure is jobs/s from
 * the first SubmitJob to the moment the bench sees the last job SUCCEEDED (DescribeJobs on the
 * oldest 20 unfinished jobs, every 50 ms).
 * Limits, measured before and after openbatch in the same run and averaged:
 *   xargs  `seq N | xargs -P <cores> -I{} true`
 *   node   dist/bench/spawnLoop.js: a minimal Node script spawning `true` at <cores> in flight
 * openbatch runs twice between them: on a CE with default settings, and on one tuned for
 * short jobs (lib.ts shortJobTags: work queued on the agent, no sandbox).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DescribeJobsCommand, SubmitJobCommand } from '@aws-sdk/client-batch';
import { basicFarm, waitForStatus } from '../../test/helpers/fixtures.js';
import { benchServer, cpuPerJob, ownCpu, runAll, shortJobTags, sleep, type ServerStart } from '../lib.js';

export interface ThroughputOptions {
  jobs: number;
  cores: number;
  submitConcurrency: number;
  /** how to start the server (the profiling run adds a profiler) */
  server?: ServerStart;
  /** skip the raw limits (the profiling run does) */
  skipLimits?: boolean;
  /** also run on a CE tuned for short jobs (shortJobTags) */
  tuned?: boolean;
}

/** openbatch's own CPU per job over a timed span, ms, from /proc: the server, the agent (its Node process and its fork server, without the jobs), the fork server alone. */
export interface CpuPerJob {
  serverMsPerJob: number;
  agentMsPerJob: number;
  forkServerMsPerJob: number;
}

/** openbatch on a CE tuned for short jobs, against the same limits. */
export interface TunedRate {
  tags: Record<string, string>;
  jobsPerSecond: number;
  ratioToXargs: number;
  ratioToNodeSpawn: number;
  cpu?: CpuPerJob;
}

export interface ThroughputResult {
  jobs: number;
  concurrency: number;
  /** jobs/s, first submit → last SUCCEEDED seen */
  jobsPerSecond: number;
  elapsedMs: number;
  /** SubmitJob calls/s while submitting (the submit phase overlaps with running) */
  submitPerSecond: number;
  xargsPerSecond: number;
  nodeSpawnPerSecond: number;
  ratioToXargs: number;
  ratioToNodeSpawn: number;
  serverPid?: number;
  /** on the default CE (absent from results written before it was measured) */
  cpu?: CpuPerJob;
  tuned?: TunedRate;
}

/**
 * The watcher asks about this many of the oldest unfinished jobs per poll: jobs finish about
 * in submission order, and a small window keeps the watcher's own load on the server small.
 */
const WATCH_WINDOW = 20;
const WATCH_INTERVAL_MS = 50;
/** the run fails when no job finishes for this long */
const STALL_MS = 60_000;
const SPAWN_LOOP = fileURLToPath(new URL('../spawnLoop.js', import.meta.url));

export function xargsRate(n: number, c: number): number {
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', `seq ${n} | xargs -P ${c} -I{} true`], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`xargs limit failed: ${r.status} ${r.error?.message ?? ''}`);
  return (n * 1000) / (performance.now() - t0);
}

export function nodeSpawnRate(n: number, c: number): number {
  const r = spawnSync(process.execPath, [SPAWN_LOOP, String(n), String(c)], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  if (r.status !== 0) throw new Error(`spawnLoop failed: ${r.stderr}`);
  return (n * 1000) / (JSON.parse(r.stdout) as { ms: number }).ms;
}

function limits(n: number, c: number): { xargs: number; node: number } {
  return { xargs: xargsRate(n, c), node: nodeSpawnRate(n, c) };
}

async function runOpenbatch(o: ThroughputOptions, tags?: Record<string, string>): Promise<{ elapsedMs: number; submitMs: number; serverPid?: number; cpu: CpuPerJob }> {
  const s = await benchServer(o.server);
  try {
    const { client } = s;
    const farm = await basicFarm(client, 'tput', { maxvCpus: o.cores, tags });
    const submit = async (name: string) =>
      (await client.send(new SubmitJobCommand({ jobName: name, jobQueue: farm.queueName, jobDefinition: farm.definitionName }))).jobId!;
    const warm = await waitForStatus(client, await submit('warm-up'), ['SUCCEEDED', 'FAILED'], 60_000);
    if (warm.status !== 'SUCCEEDED') throw new Error(`warm-up job ${warm.status}: ${warm.statusReason}`);

    const ids: string[] = new Array(o.jobs);
    const cpu0 = ownCpu(s);
    const t0 = performance.now();
    const submitAll = runAll(o.jobs, o.submitConcurrency, async (i) => {
      ids[i] = await submit(`tput-${i}`);
    }).then(() => performance.now() - t0);
    let submitError: unknown;
    submitAll.catch((e: unknown) => (submitError = e));
    // Watcher: the oldest unfinished jobs, in submission order (the queue is FIFO).
    const finished = new Set<string>();
    let doneUpTo = 0;
    let lastDone = NaN;
    let progressAt = performance.now();
    while (finished.size < o.jobs) {
      if (submitError) throw submitError;
      if (performance.now() - progressAt > STALL_MS) throw new Error(`no job finished for ${STALL_MS} ms; ${finished.size} of ${o.jobs} done`);
      const before = finished.size;
      const batch: string[] = [];
      for (let i = doneUpTo; i < o.jobs && batch.length < WATCH_WINDOW && ids[i] !== undefined; i++) if (!finished.has(ids[i])) batch.push(ids[i]);
      if (batch.length) {
        const res = await client.send(new DescribeJobsCommand({ jobs: batch }));
        for (const j of res.jobs ?? []) {
          if (j.status === 'FAILED') throw new Error(`job ${j.jobId} FAILED: ${j.statusReason}`);
          if (j.status === 'SUCCEEDED') finished.add(j.jobId!);
        }
        if (finished.size > before) progressAt = performance.now();
        if (finished.size === o.jobs) lastDone = performance.now();
      }
      while (doneUpTo < o.jobs && ids[doneUpTo] !== undefined && finished.has(ids[doneUpTo])) doneUpTo++;
      if (finished.size < o.jobs) await sleep(WATCH_INTERVAL_MS);
    }
    const cpu = cpuPerJob(cpu0, ownCpu(s), o.jobs);
    const submitMs = await submitAll;
    return { elapsedMs: lastDone - t0, submitMs, serverPid: s.child.pid, cpu };
  } finally {
    await s.close();
  }
}

export async function throughput(o: ThroughputOptions): Promise<ThroughputResult> {
  const c = o.cores;
  const before = o.skipLimits ? undefined : limits(o.jobs, c);
  const ob = await runOpenbatch(o);
  const tags = shortJobTags(c);
  const tuned = o.tuned ? await runOpenbatch(o, tags) : undefined;
  const after = o.skipLimits ? undefined : limits(o.jobs, c);
  const jobsPerSecond = (o.jobs * 1000) / ob.elapsedMs;
  const xargsPerSecond = before && after ? (before.xargs + after.xargs) / 2 : NaN;
  const nodeSpawnPerSecond = before && after ? (before.node + after.node) / 2 : NaN;
  return {
    jobs: o.jobs,
    concurrency: c,
    jobsPerSecond,
    elapsedMs: ob.elapsedMs,
    submitPerSecond: (o.jobs * 1000) / ob.submitMs,
    xargsPerSecond,
    nodeSpawnPerSecond,
    ratioToXargs: jobsPerSecond / xargsPerSecond,
    ratioToNodeSpawn: jobsPerSecond / nodeSpawnPerSecond,
    serverPid: ob.serverPid,
    cpu: ob.cpu,
    tuned: tuned && tunedRate(tags, (o.jobs * 1000) / tuned.elapsedMs, xargsPerSecond, nodeSpawnPerSecond, tuned.cpu),
  };
}

export function tunedRate(tags: Record<string, string>, jobsPerSecond: number, xargsPerSecond: number, nodeSpawnPerSecond: number, cpu?: CpuPerJob): TunedRate {
  return { tags, jobsPerSecond, ratioToXargs: jobsPerSecond / xargsPerSecond, ratioToNodeSpawn: jobsPerSecond / nodeSpawnPerSecond, ...(cpu ? { cpu } : {}) };
}
