/**
 * What jobs really used, and whether they ask for more than they use.
 *
 * AWS Batch shows what a job asked for, never what it used. openbatch records per attempt
 * (executor/usage.ts measures, the agent reports, store/attemptUsage.ts keeps): CPU seconds,
 * peak memory and, where the host tells, bytes read and written.
 *
 * Right-sizing advice, per job definition over its recent runs (`adviseRightSizing`):
 *
 *   1. The runs: the job definition's last RULE.window (200) attempts that ran to the end —
 *      those that SUCCEEDED, and those killed for exceeding their memory (OutOfMemoryError).
 *      Other failures say little about what a run needs and are left out.
 *   2. Any run out of memory: the advice is to give more memory, never less (OUT_OF_MEMORY).
 *   3. Fewer than RULE.minRuns (10) measured runs: no advice yet (TOO_FEW_RUNS): a percentile
 *      of a handful of runs is a guess.
 *   4. "Used at most": the 95th percentile (nearest rank) over the runs of each figure —
 *      vCPUs as the run's CPU seconds over its running time (its average; a burst shorter than
 *      the run does not show), memory as the run's peak. Not the maximum: one odd run should
 *      not set every run's size; not the median: a size the larger runs outgrow fails them.
 *   5. A run is near its limit when its p95 memory is at least RULE.nearLimit (90%) of what the
 *      definition asks (NEAR_LIMIT): a slightly larger input fails it, so no less is advised.
 *   6. What would do: p95 × RULE.headroom (1.25) — never more than is asked: the advice only
 *      lowers a figure — rounded up to a size AWS accepts: vCPUs to
 *      a whole vCPU (at least 1) on EC2; memory to the next of the sizes Fargate takes (512,
 *      1,024, 2,048, 3,072 … in 1,024 steps to 30,720, then 4,096 and 8,192 steps), which EC2
 *      accepts too and a person reads at a glance; on Fargate the smallest vCPU/memory pair
 *      Fargate runs that holds both (model/fargateSizes.ts). Where that is less than the
 *      definition asks for either figure, the job is OVERSIZED, else RIGHT_SIZED.
 *
 * Pure: the store reads the runs, the API and the CLI show the answer.
 */
import { FARGATE_MEMORY, FARGATE_MEMORY_BY_VCPU, FARGATE_VCPUS } from './fargateSizes.js';

/** The member of DescribeJobs' answer that carries what jobs used, beside AWS's `jobs` (api/usage.ts, docs/compatibility.md). */
export const USAGE_MEMBER = 'openbatch:usage';

/**
 * Where an attempt's figures came from: its cgroup, its processes in /proc (sampled), the
 * container engine's stats, or a Slurm job's batch script (the CPU time of what it waited for).
 */
export type UsageSource = 'cgroup' | 'proc' | 'engine' | 'slurm';

/**
 * What an attempt used since it started (executor/usage.ts says how each
 * executor measures it); a figure the host does not give is absent.
 */
export interface UsageFigures {
  /** CPU time of its processes, user and system, in seconds */
  cpuSeconds?: number;
  /** memory it holds now, in bytes */
  memoryBytes?: number;
  /** the most memory it held at once, in bytes */
  peakMemoryBytes?: number;
  /** bytes read from and written to block devices */
  readBytes?: number;
  writeBytes?: number;
  /** where the figures came from */
  source: UsageSource;
}

/** What one attempt used, as recorded (store/attemptUsage.ts): its latest figures, and its memory over time while it ran. */
export interface AttemptUsage extends UsageFigures {
  /** when the latest figures were taken (epoch ms) */
  at: number;
  /** memory while it ran, [epoch ms, bytes], oldest first (absent: no sample) */
  memorySeries?: [number, number][];
}

/** What one attempt used, as DescribeJobs' `openbatch:usage` shows it. */
export interface AttemptUsageDetail {
  /** 1-based, as AWS_BATCH_JOB_ATTEMPT */
  attempt: number;
  status: string;
  /** what the attempt reserved (null: an attempt placed before reservations were kept) */
  reserved: { vcpus: number | null; memoryMiB: number | null };
  /** CPU time, user and system */
  cpuSeconds?: number;
  /** CPU time over the time it ran (so far): the vCPUs it kept busy on average */
  averageVcpus?: number;
  peakMemoryMiB?: number;
  /** running: memory at the latest sample */
  currentMemoryMiB?: number;
  readBytes?: number;
  writeBytes?: number;
  source: UsageSource;
  /** when the figures were taken (epoch ms) */
  measuredAt: number;
}

/** The `openbatch:usage` entry of one job. */
export interface JobUsageDetail {
  attempts: AttemptUsageDetail[];
}

/** p50, p95 and the largest of some figures. */
export interface Spread {
  p50: number;
  p95: number;
  max: number;
}

/** The answer of POST /openbatch/v1/usage. */
export interface UsageAnswer {
  jobDefinition: string;
  name: string;
  /** the revision whose asks are compared; runs of every revision count unless one was named */
  revision: number;
  advice: Advice;
  /** the rule's numbers (model/usage.ts) */
  rule: typeof ADVICE_RULE;
  /** over the runs considered: vCPUs kept busy on average per run, peak memory per run (MiB), run time (s) */
  spread: { vcpus?: Spread; memoryMiB?: Spread; runSeconds?: Spread };
}

/** The rule's numbers (see the file comment). */
export const ADVICE_RULE = {
  /** the runs considered: the latest this many */
  window: 200,
  /** no advice on fewer measured runs */
  minRuns: 10,
  /** "used at most" is this percentile of the runs' figures */
  percentile: 95,
  /** what would do: the percentile times this */
  headroom: 1.25,
  /** memory used at this fraction of what is asked (or more) is near the limit */
  nearLimit: 0.9,
} as const;

/** What one run of a job definition used (a finished attempt). */
export interface RunUsage {
  /** CPU seconds it used (absent: not measured) */
  cpuSeconds?: number;
  /** how long its process ran, seconds */
  runSeconds: number;
  /** the most memory it held at once, MiB (absent: not measured) */
  peakMemoryMiB?: number;
  /** it was killed for exceeding its memory limit */
  outOfMemory?: boolean;
}

/** What a job definition asks for each run. */
export interface Asks {
  vcpus: number;
  memoryMiB: number;
  /** Fargate: only Fargate's vCPU/memory pairs are suggested */
  fargate: boolean;
}

/** The advice, as a stable code (for scripts and tests) beside the sentence (`summary`). */
export type AdviceCode = 'TOO_FEW_RUNS' | 'OUT_OF_MEMORY' | 'NEAR_LIMIT' | 'OVERSIZED' | 'RIGHT_SIZED';

export interface Advice {
  code: AdviceCode;
  /** one sentence a person acts on: "asks 4 vCPU / 8,192 MiB; used at most 1.3 vCPU / 610 MiB (p95 over 200 runs): 2 vCPU / 1,024 MiB would do" */
  summary: string;
  asks: Asks;
  /** runs considered (measured, not out of memory) */
  runs: number;
  /** runs killed for exceeding their memory */
  outOfMemoryRuns: number;
  /** the percentile of each figure over the runs (absent: no run measured it) */
  used?: { vcpus?: number; memoryMiB?: number };
  /** what would do, where it is less than what is asked for either figure (OVERSIZED) */
  suggest?: { vcpus: number; memoryMiB: number };
}

/** The p-th percentile (nearest rank) of the values; undefined for none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

/** The smallest memory size on the ladder (Fargate's sizes, then multiples of 8,192 MiB) that holds `mib`. */
export function memorySizeFor(mib: number): number {
  const on = FARGATE_MEMORY.find((m) => m >= mib);
  return on ?? Math.ceil(mib / 8192) * 8192;
}

/** The smallest Fargate vCPU/memory pair that holds both; undefined beyond Fargate's largest. */
export function fargateSizeFor(vcpus: number, memoryMiB: number): { vcpus: number; memoryMiB: number } | undefined {
  for (const v of FARGATE_VCPUS) {
    if (v < vcpus) continue;
    const m = FARGATE_MEMORY_BY_VCPU.get(v)!.find((x) => x >= memoryMiB);
    if (m !== undefined) return { vcpus: v, memoryMiB: m };
  }
  return undefined;
}

const GROUPED = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const ONE_DECIMAL = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const VCPU = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** `8,192 MiB` */
export function mibText(mib: number): string {
  return `${GROUPED.format(Math.round(mib))} MiB`;
}

/** `1.3 vCPU`, `0.25 vCPU`, `4 vCPU` */
export function vcpuText(vcpus: number, used = false): string {
  return `${(used ? ONE_DECIMAL : VCPU).format(vcpus)} vCPU`;
}

/** `0 B`, `512 B`, `4.0 KiB`, `1.2 MiB`, `3.4 GiB` */
export function bytesText(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(n)} B` : `${ONE_DECIMAL.format(n)} ${units[i]}`;
}

/** What was used as a share of what was asked, `31%`, or `-` when nothing was measured (the cost report's used columns). */
export function usedShare(used: number, asked: number, measured: number): string {
  if (!measured || asked <= 0) return '-';
  const pct = (100 * used) / asked;
  return pct > 0 && pct < 0.5 ? '<1%' : `${Math.round(pct)}%`;
}

/** Whether an attempt's reason says the kernel killed it for exceeding its memory (AWS's OutOfMemoryError). */
export function isOutOfMemory(reason: string | null | undefined): boolean {
  return !!reason && reason.startsWith('OutOfMemoryError');
}

/** The advice for a job definition that asks `asks`, from its recent runs (see the file comment). */
export function adviseRightSizing(asks: Asks, runs: readonly RunUsage[]): Advice {
  const recent = runs.slice(0, ADVICE_RULE.window);
  const oom = recent.filter((r) => r.outOfMemory).length;
  const measured = recent.filter((r) => !r.outOfMemory && (r.cpuSeconds !== undefined || r.peakMemoryMiB !== undefined));
  const asked = `asks ${vcpuText(asks.vcpus)} / ${mibText(asks.memoryMiB)}`;
  const base = { asks, runs: measured.length, outOfMemoryRuns: oom };
  if (oom > 0) {
    const of = `${oom} of its last ${recent.length} run${recent.length === 1 ? '' : 's'}`;
    return { ...base, code: 'OUT_OF_MEMORY', summary: `${asked}; ${of} ran out of memory: give it more memory, not less` };
  }
  if (measured.length < ADVICE_RULE.minRuns) {
    return {
      ...base,
      code: 'TOO_FEW_RUNS',
      summary: `${asked}; ${measured.length} measured run${measured.length === 1 ? '' : 's'} so far: advice after ${ADVICE_RULE.minRuns}`,
    };
  }
  const p = ADVICE_RULE.percentile;
  const vcpus = percentile(
    measured.filter((r) => r.cpuSeconds !== undefined && r.runSeconds > 0).map((r) => r.cpuSeconds! / r.runSeconds),
    p,
  );
  const memoryMiB = percentile(measured.filter((r) => r.peakMemoryMiB !== undefined).map((r) => r.peakMemoryMiB!), p);
  const used = { ...(vcpus !== undefined ? { vcpus } : {}), ...(memoryMiB !== undefined ? { memoryMiB } : {}) };
  const usedText = `used at most ${vcpus === undefined ? '? vCPU' : vcpuText(vcpus, true)} / ${memoryMiB === undefined ? '? MiB' : mibText(memoryMiB)} (p${p} over ${measured.length} runs)`;
  if (memoryMiB !== undefined && memoryMiB >= ADVICE_RULE.nearLimit * asks.memoryMiB) {
    const share = Math.round((memoryMiB / asks.memoryMiB) * 100);
    return { ...base, used, code: 'NEAR_LIMIT', summary: `${asked}; ${usedText}: ${share}% of its memory, near the limit: keep it or give more` };
  }
  // Advice only ever lowers a figure: one used beyond the headroom stays as asked.
  const needV = Math.min(asks.vcpus, vcpus === undefined ? asks.vcpus : vcpus * ADVICE_RULE.headroom);
  const needM = Math.min(asks.memoryMiB, memoryMiB === undefined ? asks.memoryMiB : memoryMiB * ADVICE_RULE.headroom);
  const size = asks.fargate ? fargateSizeFor(needV, needM) : { vcpus: Math.max(1, Math.ceil(needV - 1e-9)), memoryMiB: memorySizeFor(needM) };
  if (size && size.vcpus <= asks.vcpus && size.memoryMiB <= asks.memoryMiB && (size.vcpus < asks.vcpus || size.memoryMiB < asks.memoryMiB)) {
    return { ...base, used, suggest: size, code: 'OVERSIZED', summary: `${asked}; ${usedText}: ${vcpuText(size.vcpus)} / ${mibText(size.memoryMiB)} would do` };
  }
  return { ...base, used, code: 'RIGHT_SIZED', summary: `${asked}; ${usedText}: right-sized` };
}
