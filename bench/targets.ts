/**
 * The closing table of a run: every ratio issues 12 and 23 ask for, by workload number, against
 * its target where an issue sets one (openbatch ÷ raw spawn, openbatch ÷ Slurm, openbatch's own
 * CPU per job, absolute figures the issues state as targets); where both set one, issue 23's,
 * which is about the default settings. Workloads not run in this run are left out.
 */
import type { CpuPerJob, ThroughputResult } from './workloads/throughput.js';
import type { ArrayThroughputResult } from './workloads/arrayThroughput.js';
import type { CpuJobsResult } from './workloads/cpuJobs.js';
import type { DependenciesResult } from './workloads/dependencies.js';
import type { LatencyResult } from './workloads/latency.js';
import type { SubmitRateResult } from './workloads/submitRate.js';
import type { SchedulerScaleResult } from './workloads/schedulerScale.js';
import type { SchedulerCoreResult } from './workloads/schedulerCore.js';
import type { SlurmResult } from './workloads/slurm.js';
import { fmt } from './lib.js';

export interface RunResults {
  throughput?: ThroughputResult;
  arrayThroughput?: ArrayThroughputResult;
  cpuJobs?: CpuJobsResult;
  dependencies?: DependenciesResult;
  latency?: LatencyResult;
  submitRate?: SubmitRateResult;
  schedulerScale?: SchedulerScaleResult;
  schedulerCore?: SchedulerCoreResult;
  slurm?: SlurmResult;
}

export interface TargetRow {
  workload: string;
  figure: string;
  measured: string;
  /** the target, or '' where it sets none */
  target: string;
  /** undefined where there is no target */
  met?: boolean;
  value: number;
}

const x = (v: number) => `${fmt(v)}×`;

/** Issue 23: openbatch's own CPU per array child, ms (from /proc). */
const AGENT_CPU_MS = 0.3;
const SERVER_CPU_MS = 0.2;

export function targets(r: RunResults): TargetRow[] {
  const rows: TargetRow[] = [];
  const add = (workload: string, figure: string, value: number, measured: string, target = '', met?: boolean) => {
    if (Number.isFinite(value)) rows.push({ workload, figure, value, measured, target, met: target ? met : undefined });
  };
  const slurm = r.slurm && !r.slurm.skipped ? r.slurm : undefined;
  const ob = (rate: number | undefined, peer: number | undefined) => (rate !== undefined && peer ? rate / peer : NaN);

  if (r.throughput) {
    const t = r.throughput;
    add('1', 'trivial jobs one by one ÷ xargs (raw fork/exec), default CE', t.ratioToXargs, x(t.ratioToXargs), '≥ 0.3×', t.ratioToXargs >= 0.3);
    add('1', 'trivial jobs one by one ÷ Node spawn loop', t.ratioToNodeSpawn, x(t.ratioToNodeSpawn));
    if (t.tuned) {
      add('1', 'the same, CE tuned for short jobs ÷ xargs', t.tuned.ratioToXargs, x(t.tuned.ratioToXargs), '≥ 0.8×', t.tuned.ratioToXargs >= 0.8);
      add('1', 'the same, CE tuned for short jobs ÷ Node spawn loop', t.tuned.ratioToNodeSpawn, x(t.tuned.ratioToNodeSpawn));
    }
  }
  if (slurm?.ratios) add('1', 'trivial jobs one by one ÷ Slurm (sbatch each)', slurm.ratios.oneByOne, x(slurm.ratios.oneByOne), '≥ 100×', slurm.ratios.oneByOne >= 100);
  const tunedOverSlurm = (tuned: number | undefined, slurmRate: number | undefined) => ob(tuned, slurmRate);
  if (slurm?.slurm && r.throughput?.tuned) {
    const v = tunedOverSlurm(r.throughput.tuned.jobsPerSecond, slurm.slurm.oneByOne.jobsPerSecond);
    add('1', 'the same, CE tuned for short jobs ÷ Slurm', v, x(v), '≥ 100×', v >= 100);
  }
  if (r.arrayThroughput) {
    const a = r.arrayThroughput;
    add('2', 'array children ÷ xargs (raw fork/exec), default CE', a.ratioToXargs, x(a.ratioToXargs), '≥ 0.5×', a.ratioToXargs >= 0.5);
    add('2', 'array children ÷ Node spawn loop', a.ratioToNodeSpawn, x(a.ratioToNodeSpawn));
    if (a.tuned) {
      add('2', 'the same, CE tuned for short jobs ÷ xargs', a.tuned.ratioToXargs, x(a.tuned.ratioToXargs), '≥ 0.8×', a.tuned.ratioToXargs >= 0.8);
      add('2', 'the same, CE tuned for short jobs ÷ Node spawn loop', a.tuned.ratioToNodeSpawn, x(a.tuned.ratioToNodeSpawn));
    }
    const cpu = (ce: string, c: CpuPerJob | undefined) => {
      if (!c) return;
      add('2', `agent CPU ms per array child (with its fork server), ${ce}`, c.agentMsPerJob, c.agentMsPerJob.toFixed(2), `≤ ${AGENT_CPU_MS}`, c.agentMsPerJob <= AGENT_CPU_MS);
      add('2', `server CPU ms per array child, ${ce}`, c.serverMsPerJob, c.serverMsPerJob.toFixed(2), `≤ ${SERVER_CPU_MS}`, c.serverMsPerJob <= SERVER_CPU_MS);
    };
    cpu('default CE', a.cpu);
    cpu('CE tuned for short jobs', a.tuned?.cpu);
  }
  if (slurm?.ratios) add('2', 'array ÷ Slurm (sbatch --array)', slurm.ratios.array, x(slurm.ratios.array), '≥ 100×', slurm.ratios.array >= 100);
  if (slurm?.slurm && r.arrayThroughput?.tuned) {
    const v = tunedOverSlurm(r.arrayThroughput.tuned.jobsPerSecond, slurm.slurm.array.jobsPerSecond);
    add('2', 'the same, CE tuned for short jobs ÷ Slurm', v, x(v), '≥ 100×', v >= 100);
  }
  if (r.cpuJobs) {
    const c = r.cpuJobs;
    add('3', '100 ms CPU jobs: makespan ÷ ideal (CPU-s ÷ cores)', c.ratioToIdeal, x(c.ratioToIdeal), '≤ 1.15×', c.ratioToIdeal <= 1.15);
    add('3', '100 ms CPU jobs: makespan ÷ xargs of the same', c.ratioToRaw, x(c.ratioToRaw));
  }
  if (slurm?.slurm && slurm.openbatch) {
    const v = slurm.openbatch.cpu.elapsedMs ? slurm.slurm.cpu.elapsedMs / slurm.openbatch.cpu.elapsedMs : NaN;
    add('3', '100 ms CPU jobs: Slurm makespan ÷ openbatch makespan', v, x(v));
  }
  if (r.dependencies) {
    const d = r.dependencies;
    add('4', 'chain: jobs/s ÷ sequential xargs', d.chain.ratioToXargs, x(d.chain.ratioToXargs));
    add('4', 'chain: jobs/s ÷ sequential Node spawn', d.chain.ratioToNodeSpawn, x(d.chain.ratioToNodeSpawn));
    add('4', 'fan-out/fan-in: jobs/s ÷ xargs', d.fan.ratioToXargs, x(d.fan.ratioToXargs));
    add('4', 'fan-out/fan-in: jobs/s ÷ Node spawn loop', d.fan.ratioToNodeSpawn, x(d.fan.ratioToNodeSpawn));
    if (d.tuned) {
      add('4', 'chain, CE tuned for short jobs: jobs/s ÷ sequential xargs', d.tuned.chain.ratioToXargs, x(d.tuned.chain.ratioToXargs));
      add('4', 'fan-out/fan-in, CE tuned for short jobs: jobs/s ÷ xargs', d.tuned.fan.ratioToXargs, x(d.tuned.fan.ratioToXargs));
    }
    const chain = ob(d.chain.jobsPerSecond, slurm?.slurm?.chain?.jobsPerSecond);
    add('4', 'chain: jobs/s ÷ Slurm (afterok)', chain, x(chain), '≥ 100×', chain >= 100);
    const fan = ob(d.fan.jobsPerSecond, slurm?.slurm?.fan?.jobsPerSecond);
    add('4', 'fan-out/fan-in: jobs/s ÷ Slurm (afterok)', fan, x(fan), '≥ 100×', fan >= 100);
    if (d.tuned) {
      const tc = tunedOverSlurm(d.tuned.chain.jobsPerSecond, slurm?.slurm?.chain?.jobsPerSecond);
      add('4', 'chain, CE tuned for short jobs ÷ Slurm (afterok)', tc, x(tc), '≥ 100×', tc >= 100);
      const tf = tunedOverSlurm(d.tuned.fan.jobsPerSecond, slurm?.slurm?.fan?.jobsPerSecond);
      add('4', 'fan-out/fan-in, CE tuned for short jobs ÷ Slurm (afterok)', tf, x(tf), '≥ 100×', tf >= 100);
    }
  }
  if (r.latency) {
    const l = r.latency;
    add('5', 'submit → RUNNING p50, ms', l.toRunningMs.p50, fmt(l.toRunningMs.p50), '< 5', l.toRunningMs.p50 < 5);
    add('5', 'submit → RUNNING p99, ms', l.toRunningMs.p99, fmt(l.toRunningMs.p99), '< 20', l.toRunningMs.p99 < 20);
    add('5', "RUNNING p50 ÷ spawn('true') p50", l.ratioRunningToSpawn, x(l.ratioRunningToSpawn));
  }
  if (r.submitRate) {
    for (const row of r.submitRate.rows) {
      const sixteen = row.concurrency === 16;
      add('6', `SubmitJob/s, ${row.concurrency} in flight`, row.submit.perSecond, fmt(row.submit.perSecond), sixteen ? '≥ 5,000' : '', row.submit.perSecond >= 5_000);
      add('6', `DescribeJobs/s, ${row.concurrency} in flight`, row.describe.perSecond, fmt(row.describe.perSecond));
      add('6', `SubmitJob ÷ signed no-op, ${row.concurrency} in flight`, row.ratioToNoop, x(row.ratioToNoop));
      add('6', `DescribeJobs ÷ signed no-op, ${row.concurrency} in flight`, row.describe.perSecond / row.noop.perSecond, x(row.describe.perSecond / row.noop.perSecond));
      add('6', `server CPU ms per SubmitJob, ${row.concurrency} in flight`, row.submit.serverCpuMs, row.submit.serverCpuMs.toFixed(2), sixteen ? '≤ 0.2' : '', row.submit.serverCpuMs <= 0.2);
      if (row.dependent) add('6', `server CPU ms per SubmitJob behind an unfinished dependency, ${row.concurrency} in flight`, row.dependent.serverCpuMs, row.dependent.serverCpuMs.toFixed(2));
    }
  }
  if (r.schedulerScale) {
    const s = r.schedulerScale;
    add('7', `pass p50 with ${fmt(s.large.queued)} ÷ with ${fmt(s.small.queued)} queued`, s.passRatio, x(s.passRatio), '≤ 2×', s.passRatio <= 2);
    add('7', 'RSS of the process holding the server, MiB', s.rssMiB, fmt(s.rssMiB), '< 1,024', s.rssMiB < 1024);
    // (absent from results written before it was measured)
    if (s.submitRate) add('7', `SubmitJob/s with ${fmt(s.large.queued)} ÷ with ${fmt(s.small.queued)} queued`, s.submitRate.ratio, x(s.submitRate.ratio));
  }
  if (r.schedulerCore) {
    const c = r.schedulerCore;
    add('8', 'scheduler core, queued singles, jobs/s', c.singles.jobsPerSecond, fmt(c.singles.jobsPerSecond), '≥ 10,000', c.singles.jobsPerSecond >= c.target);
    add('8', 'scheduler core, one array, jobs/s', c.array.jobsPerSecond, fmt(c.array.jobsPerSecond), '≥ 10,000', c.array.jobsPerSecond >= c.target);
    add('8', 'scheduler core, queued singles, server CPU ms per job', c.singles.serverCpuMsPerJob, c.singles.serverCpuMsPerJob.toFixed(3));
    add('8', 'scheduler core, one array, server CPU ms per job', c.array.serverCpuMsPerJob, c.array.serverCpuMsPerJob.toFixed(3));
  }
  return rows;
}
