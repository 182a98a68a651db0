/**
 * Workload 3 of issue 12 — N jobs of 100 ms of CPU each: makespan against the ideal
 * (N × 0.1 s ÷ cores) and against the same commands run bare at <cores> in flight.
 *
 * The jobs are `sh -c "timeout 0.1 sh -c 'while :; do :; done'; true"` (one core spinning for
 * 100 ms), submitted back-to-back with 16 SubmitJobs in flight to a CE of maxvCpus = cores
 * whose instance is already up; the makespan runs from the first SubmitJob until the bench
 * sees the last job SUCCEEDED (DescribeJobs on the oldest unfinished, 100 at a time). The raw
 * limit is `xargs -P <cores>` of the same command, before and after, averaged. Slurm's
 * makespan for the same jobs is in workloads/slurm.ts.
 */
import { spawnSync } from 'node:child_process';
import { DescribeJobsCommand, SubmitJobCommand, type BatchClient } from '@aws-sdk/client-batch';
import { basicFarm, waitForStatus } from '../../test/helpers/fixtures.js';
import { benchServer, runAll, sleep, type ServerStart } from '../lib.js';

/** 100 ms of one core: a shell spinning until `timeout` stops it. */
export const CPU_COMMAND = ['sh', '-c', "timeout 0.1 sh -c 'while :; do :; done'; true"];

export interface CpuJobsOptions {
  jobs: number;
  cores: number;
  server?: ServerStart;
  skipLimits?: boolean;
}

export interface CpuJobsResult {
  jobs: number;
  cores: number;
  /** N × 0.1 s ÷ cores */
  idealSeconds: number;
  makespanSeconds: number;
  /** the same commands through `xargs -P <cores>` */
  rawSeconds: number;
  /** makespan ÷ ideal, makespan ÷ raw (1 = no overhead) */
  ratioToIdeal: number;
  ratioToRaw: number;
}

function rawSeconds(n: number, c: number): number {
  const quoted = CPU_COMMAND.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', `seq ${n} | xargs -P ${c} -I{} ${quoted}`], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`xargs of the CPU command failed: ${r.status}`);
  return (performance.now() - t0) / 1000;
}

/** Waits until every job has SUCCEEDED (DescribeJobs on the oldest unfinished, 100 at a time). */
export async function allSucceeded(client: BatchClient, ids: string[], intervalMs = 50): Promise<void> {
  let from = 0;
  while (from < ids.length) {
    const batch = ids.slice(from, from + 100);
    const res = await client.send(new DescribeJobsCommand({ jobs: batch }));
    const byId = new Map((res.jobs ?? []).map((j) => [j.jobId!, j]));
    let k = 0;
    for (const id of batch) {
      const j = byId.get(id);
      if (j?.status === 'FAILED') throw new Error(`job ${id} FAILED: ${j.statusReason}`);
      if (j?.status !== 'SUCCEEDED') break;
      k++;
    }
    from += k;
    if (from < ids.length) await sleep(intervalMs);
  }
}

export async function cpuJobs(o: CpuJobsOptions): Promise<CpuJobsResult> {
  const before = o.skipLimits ? NaN : rawSeconds(o.jobs, o.cores);
  const s = await benchServer(o.server);
  let makespanSeconds: number;
  try {
    const { client } = s;
    const farm = await basicFarm(client, 'cpu', { maxvCpus: o.cores, command: CPU_COMMAND });
    const submit = async () => (await client.send(new SubmitJobCommand({ jobName: 'cpu', jobQueue: farm.queueName, jobDefinition: farm.definitionName }))).jobId!;
    const warm = await waitForStatus(client, await submit(), ['SUCCEEDED', 'FAILED'], 60_000);
    if (warm.status !== 'SUCCEEDED') throw new Error(`warm-up job ${warm.status}: ${warm.statusReason}`);
    const ids: string[] = new Array(o.jobs);
    const t0 = performance.now();
    await runAll(o.jobs, 16, async (i) => {
      ids[i] = await submit();
    });
    await allSucceeded(client, ids);
    makespanSeconds = (performance.now() - t0) / 1000;
  } finally {
    await s.close();
  }
  const after = o.skipLimits ? NaN : rawSeconds(o.jobs, o.cores);
  const raw = (before + after) / 2;
  const idealSeconds = (o.jobs * 0.1) / o.cores;
  return { jobs: o.jobs, cores: o.cores, idealSeconds, makespanSeconds, rawSeconds: raw, ratioToIdeal: makespanSeconds / idealSeconds, ratioToRaw: makespanSeconds / raw };
}
