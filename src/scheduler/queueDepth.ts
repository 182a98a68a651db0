/**
 * How deep an agent's queue of work is when its compute environment leaves it to openbatch
 * (`openbatch:prefetch` absent or `auto`, docs/compute.md).
 *
 * Work queued on an agent exists to hide the round trip between one job's end and the next
 * one's start on a slot: the exit report, the pass that places again, the poll's answer —
 * tens of milliseconds on a busy host, plus the time a busy agent's reports wait for company
 * (200 ms, agent.ts). It should hold about QUEUE_MS of work per instance, and no more: a queued job is pinned to its instance (another instance that frees or
 * launches cannot take it, and it makes no demand for more capacity), and a job that should
 * run first has to take it back (scheduler/schedule.ts, step 9). So the depth follows how
 * long the compute environment's jobs ran lately:
 *
 *   depth = ⌊ slots × QUEUE_MS ÷ mean run time ⌋, at most AUTO_MAX_PER_VCPU per vCPU,
 *   slots = the instance's vCPUs ÷ the jobs' mean vCPUs
 *
 * Jobs longer than QUEUE_MS per slot get no queue (on a 2-vCPU instance, jobs of a second or
 * more: AWS's behaviour, a job is placed only where it fits now); nor does a compute
 * environment none of whose jobs ended lately (its first jobs, or long ones), until some do.
 *
 * The mean is the compute environment's, not each job's: a long job among short ones would
 * hold what is queued behind it for as long as it runs, while the job waited STARTING, pinned,
 * asking for no capacity — when it should wait RUNNABLE for any instance, as in AWS. So a
 * queue is kept only where work turns over: on an instance where nothing has started for
 * longer than the compute environment's jobs usually run plus QUEUE_MS (what runs there has
 * overran), nothing more is queued, and what waits queued there is taken back (schedule.ts,
 * step 9). A job placed there in the moment before its neighbours overran is STARTING for at
 * most that long.
 */
import type { RunTimes } from '../store/agentQueues.js';

/** The work an agent's queue should hold, in ms of its jobs' run time per instance. */
export const QUEUE_MS = 500;
/** The deepest automatic queue, per vCPU of the instance. */
export const AUTO_MAX_PER_VCPU = 16;
/** Run times are taken from the jobs that ended within this window… */
export const RUN_TIME_WINDOW_MS = 30_000;
/** …at most this many of each outcome… */
export const RUN_TIME_SAMPLES = 256;
/** …read again at most this often. */
export const RUN_TIME_REFRESH_MS = 250;

/** The automatic depth of the queue of an instance of `vcpus`, given its compute environment's recent run times. */
export function autoDepth(vcpus: number, recent: RunTimes | undefined): number {
  if (!recent || recent.jobs === 0) return 0;
  const slots = vcpus / Math.max(recent.meanVcpus, 0.01);
  return Math.max(0, Math.min(Math.floor(AUTO_MAX_PER_VCPU * vcpus), Math.floor((slots * QUEUE_MS) / Math.max(recent.meanMs, 1))));
}

/**
 * Whether the jobs running on an instance overran what its compute environment's jobs take
 * lately: the latest of them started more than their mean run time plus QUEUE_MS ago (QUEUE_MS
 * alone when none ended lately). Its automatic queue is then stale: work queued behind them
 * would wait for no one knows how long.
 */
export function overran(recent: RunTimes | undefined, lastStart: number | null, now: number): boolean {
  if (lastStart === null) return false;
  return now - lastStart > (recent && recent.jobs > 0 ? recent.meanMs : 0) + QUEUE_MS;
}
