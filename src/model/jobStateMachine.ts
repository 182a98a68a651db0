/**
 * The job state machine — the one place that decides whether a job may change status.
 *
 *   SUBMITTED ──► PENDING ──► RUNNABLE ──► STARTING ──► RUNNING ──► SUCCEEDED
 *       │            │           ▲  │          │           │
 *       │            │           │  │          │           └──► FAILED
 *       │            │           └──┼──────────┴── retry: a failed attempt with attempts left
 *       └────────────┴──────────────┴──────────────────────────► FAILED (cancel, dependency failed,
 *                                                                 time limit action, never fits)
 *
 * SUBMITTED   accepted and durable; not yet looked at by the scheduler.
 * PENDING     waiting for dependencies to succeed (array parents stay here while children run).
 * RUNNABLE    ready; waiting for capacity in one of its queue's compute environments.
 * STARTING    placed on an instance with a fresh attempt; the agent is starting the process.
 * RUNNING     the process runs.
 * SUCCEEDED   exit code 0.              FAILED   anything else, final.
 *
 * A STARTING job can also finish directly (a process that exits before its RUNNING report
 * was committed reports both at once; the store applies RUNNING then the end).
 *
 * One exception to "final is final", and only for the nodes of a multi-node parallel job: when
 * the main node's failure retries the whole gang, every node goes back to RUNNABLE for the
 * gang's next attempt, whatever it had reached (`reopenNode()`), as AWS gives each node a new
 * attempt with the job's.
 *
 * Every status write goes through store/transitions.ts, the one writer, which checks each
 * change here — `transition()` (or `reopenNode()`) refuses illegal moves and produces the
 * state-change event that the events module delivers.
 */
import { serverError } from './errors.js';
import type { JobKind } from './jobKind.js';

export const JOB_STATUSES = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['SUCCEEDED', 'FAILED']);

const LEGAL: Record<JobStatus, readonly JobStatus[]> = {
  SUBMITTED: ['PENDING', 'RUNNABLE', 'FAILED'],
  PENDING: ['RUNNABLE', 'FAILED', 'SUCCEEDED'], // SUCCEEDED: an array parent whose children all succeeded
  RUNNABLE: ['STARTING', 'FAILED', 'PENDING'], // PENDING: an array parent once children run
  STARTING: ['RUNNING', 'RUNNABLE', 'FAILED'],
  RUNNING: ['SUCCEEDED', 'FAILED', 'RUNNABLE'],
  SUCCEEDED: [],
  FAILED: [],
};

export function isFinal(status: string): boolean {
  return FINAL_STATUSES.has(status as JobStatus);
}

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return LEGAL[from].includes(to);
}

/** An EventBridge-shaped "Batch Job State Change" event, before the job detail is attached. */
export interface JobStateChange {
  jobId: string;
  /** null when the job was just created (SubmitJob) */
  from: JobStatus | null;
  to: JobStatus;
  statusReason: string | null;
  at: number;
}

/** The event of a job coming into being, in SUBMITTED. */
export function submitted(jobId: string, at: number): JobStateChange {
  return { jobId, from: null, to: 'SUBMITTED', statusReason: null, at };
}

/**
 * Checks a status change and returns the event it produces. Throws a ServerException for an
 * illegal move: that is a bug of ours, never something a caller can cause.
 */
export function transition(jobId: string, from: JobStatus, to: JobStatus, statusReason: string | null, at: number): JobStateChange {
  if (!canTransition(from, to)) {
    throw serverError(`internal: illegal job state change ${from} → ${to} for job ${jobId}`);
  }
  return { jobId, from, to, statusReason, at };
}

/** A node of a multi-node job goes back to RUNNABLE because its gang is retried (see above). */
export function reopenNode(jobId: string, kind: JobKind, from: JobStatus, at: number): JobStateChange {
  if (kind !== 'node') throw serverError(`internal: only nodes of multi-node jobs are reopened, not ${jobId} (${kind})`);
  if (from === 'RUNNABLE' || from === 'SUBMITTED' || from === 'PENDING') throw serverError(`internal: node ${jobId} is ${from}, not placed`);
  return { jobId, from, to: 'RUNNABLE', statusReason: null, at };
}
