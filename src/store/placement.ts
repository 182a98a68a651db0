/**
 * Placement: a RUNNABLE job gets an attempt on an instance, with the fencing token the
 * agent's reports must carry, and goes STARTING. The scheduler loop places what its plan
 * says, set-wise; gangs.ts places the nodes of a multi-node job.
 */
import type { JobSpec } from '../model/jobSpec.js';
import { jobSpecOf, type JobRow, type Reader } from './jobs.js';
import { createLogStream, logGroupOf } from './logEvents.js';
import { FixedStatement, InListStatement } from './statementCache.js';
import { applyTransitions, type Transition } from './transitions.js';
import type { Tx } from './unitOfWork.js';

/** What placing a job (not a multi-node parent) reads of it: `newAttempt`'s columns and its consumables. */
export type PlacementRow = Pick<JobRow, 'id' | 'status' | 'attempt_count' | 'spec' | 'vcpus' | 'memory_mib' | 'gpus' | 'consumables'>;
const PLACEMENT_ROWS = new InListStatement((list) => `SELECT id, status, attempt_count, spec, vcpus, memory_mib, gpus, consumables FROM jobs WHERE id IN (${list})`);

export async function placementRows(db: Reader, ids: string[]): Promise<PlacementRow[]> {
  return ids.length ? PLACEMENT_ROWS.all<PlacementRow>(db, ids) : [];
}

/** Where an attempt runs, and what it is charged (model/cost.ts). */
export interface Placement {
  instanceId: string;
  ceName: string;
  /** the attempt's fencing token */
  token: string;
  logStreamName: string;
  rate?: { perHour: number; pricing: string | null };
}

/** The job columns a new attempt reads. */
export type PlacedJob = Pick<JobRow, 'id' | 'status' | 'attempt_count' | 'spec' | 'vcpus' | 'memory_mib' | 'gpus'>;

const INSERT_ATTEMPT = new FixedStatement<never>(
  'INSERT INTO attempts (job_id, attempt, token, instance_id, ce_name, status, created_at, started_at, stopped_at, exit_code, reason, status_reason,' +
    " log_stream_name, vcpus, memory_mib, gpus, rate_per_hour, pricing, log_group) VALUES (?, ?, ?, ?, ?, 'STARTING', ?, NULL, NULL, NULL, NULL, NULL, ?, ?, ?, ?, ?, ?, ?)",
);

/**
 * Records the job's next attempt on its placement (and the attempt's log stream) and returns
 * the job's change to STARTING, for the caller to apply with the others of its batch.
 * `spec` may be given already parsed.
 */
export async function newAttempt(tx: Tx, job: PlacedJob, placement: Placement, now: number, spec: JobSpec = jobSpecOf(job)): Promise<Transition> {
  const attempt = job.attempt_count + 1;
  const logGroup = logGroupOf(spec.containerProperties);
  await INSERT_ATTEMPT.exec(tx.db, [
    job.id,
    attempt,
    placement.token,
    placement.instanceId,
    placement.ceName,
    now,
    placement.logStreamName,
    job.vcpus,
    job.memory_mib,
    job.gpus,
    placement.rate?.perHour ?? null,
    placement.rate?.pricing ?? null,
    logGroup,
  ]);
  await createLogStream(tx.db, logGroup, placement.logStreamName, now);
  return {
    job,
    to: 'STARTING',
    statusReason: null,
    set: { attempt_count: attempt, ce_name: placement.ceName, instance_id: placement.instanceId, log_stream_name: placement.logStreamName, wait_code: null, wait_since: null },
  };
}

/** Places jobs (not multi-node parents): an attempt each, and every job STARTING. */
export async function startAttempts(tx: Tx, placed: { job: PlacedJob; placement: Placement; spec?: JobSpec }[], now: number): Promise<void> {
  const changes: Transition[] = [];
  for (const p of placed) changes.push(await newAttempt(tx, p.job, p.placement, now, p.spec));
  await applyTransitions(tx, changes, now);
}
