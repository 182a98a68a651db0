/**
 * Admission: SUBMITTED → PENDING or RUNNABLE by the job's dependencies, or FAILED when one of
 * them has failed already. Runs at the start of each scheduler pass, for the jobs SubmitJob
 * committed since.
 */
import { jobKind } from '../model/jobKind.js';
import type { JobStatus } from '../model/jobStateMachine.js';
import { REASONS } from '../model/reasons.js';
import type { JobRow } from './jobs.js';
import { InListStatement } from './statementCache.js';
import { applyTransitions, type Transition } from './transitions.js';
import type { Tx } from './unitOfWork.js';

/** N_TO_N edges bind children to children; at the parent they block nothing. */
const ADMISSION_DEPS = new InListStatement(
  (list) =>
    'SELECT d.job_id, d.depends_on_id, j.status FROM job_dependencies d LEFT JOIN jobs j ON j.id = d.depends_on_id' +
    ` WHERE d.job_id IN (${list}) AND (d.type IS NULL OR d.type <> 'N_TO_N')`,
);

type Submitted = Pick<JobRow, 'id' | 'status' | 'depends_on' | 'array_size' | 'parent_id' | 'num_nodes' | 'node_index'>;

/**
 * Admits up to `limit` SUBMITTED jobs, in submission order. Returns how many were admitted,
 * and how many of them are RUNNABLE (a pass with none and nothing else to do need not
 * schedule).
 *
 * The batch's transitions are applied together: plain jobs (no dependencies) go RUNNABLE in
 * one statement per 512. The dependencies of the other jobs are read in one query; a
 * dependency admitted earlier in the batch counts with its new state. A job that fails ends
 * the shortcut: failing its dependents can change the states of jobs the read saw, so the
 * jobs after it read their dependencies, and are written, one by one.
 */
export async function admitSubmitted(tx: Tx, now: number, limit: number): Promise<{ admitted: number; runnable: number }> {
  const jobs = (await tx.db
    .selectFrom('jobs')
    .select(['id', 'status', 'depends_on', 'array_size', 'parent_id', 'num_nodes', 'node_index'])
    .where('status', '=', 'SUBMITTED')
    .orderBy('seq')
    .limit(limit)
    .execute()) as Submitted[];
  // Only SubmitJob creates SUBMITTED rows, and it records edges only for a non-empty
  // dependsOn: with `[]` there is nothing to look up.
  const isPlain = (job: Submitted) => job.depends_on === '[]' && jobKind(job) !== 'arrayParent';
  const depsOf = new Map<string, { depends_on_id: string; status: string | null }[]>();
  const withDeps = jobs.filter((j) => !isPlain(j)).map((j) => j.id);
  for (const d of await ADMISSION_DEPS.all<{ job_id: string; depends_on_id: string; status: string | null }>(tx.db, withDeps)) {
    (depsOf.get(d.job_id) ?? depsOf.set(d.job_id, []).get(d.job_id)!).push(d);
  }
  /** states given in this batch, while no job has failed */
  const admitted = new Map<string, JobStatus>();
  let queued: Transition[] = [];
  const flush = async () => {
    await applyTransitions(tx, queued, now);
    queued = [];
  };
  let batchRead = true;
  for (const job of jobs) {
    if (isPlain(job)) {
      queued.push({ job, to: 'RUNNABLE', statusReason: null, set: { pending_deps: 0 } });
      admitted.set(job.id, 'RUNNABLE');
      continue;
    }
    const deps = batchRead
      ? (depsOf.get(job.id) ?? []).map((d) => ({ status: admitted.get(d.depends_on_id) ?? d.status }))
      : await tx.db
          .selectFrom('job_dependencies as d')
          .leftJoin('jobs as j', 'j.id', 'd.depends_on_id')
          .select(['d.depends_on_id', 'j.status'])
          .where('d.job_id', '=', job.id)
          .where((eb) => eb.or([eb('d.type', 'is', null), eb('d.type', '!=', 'N_TO_N')]))
          .execute();
    const pending = deps.filter((d) => d.status !== 'SUCCEEDED').length;
    if (deps.some((d) => d.status === 'FAILED')) {
      // An array that fails here still answers for every index (the writer creates its children FAILED).
      queued.push({ job, to: 'FAILED', statusReason: REASONS.dependentJobFailed, set: { pending_deps: pending } });
      batchRead = false;
      await flush();
      continue;
    }
    // An array parent waits in PENDING while its children run, as AWS shows it.
    const to: JobStatus = pending > 0 || jobKind(job) === 'arrayParent' ? 'PENDING' : 'RUNNABLE';
    queued.push({ job, to, statusReason: null, set: { pending_deps: pending } });
    admitted.set(job.id, to);
    if (!batchRead) await flush();
  }
  await flush();
  // (A later failure in the batch may yet fail a job counted here: counting it is harmless.)
  let runnable = 0;
  for (const state of admitted.values()) if (state === 'RUNNABLE') runnable++;
  return { admitted: jobs.length, runnable };
}
