/**
 * The job aggregate: jobs, their attempts and their dependency edges. Every job status
 * write in the system is in this file (and, for the nodes of multi-node jobs, in its
 * companion store/gangs.ts) and goes through `transition()` of the state machine.
 *
 * Dependencies: `job_dependencies` holds one edge per (job, dependency); `jobs.pending_deps`
 * counts the dependencies not yet SUCCEEDED. A success decrements its dependents' counters
 * (releasing those that reach 0); a failure fails its dependents, transitively, level by
 * level with one query per level, so a chain of 10,000 costs 10,000 small updates and a fan
 * of 10,000 one level.
 */
import { sql, type Updateable } from 'kysely';
import { isFinal, submitted, transition, type JobStatus } from '../model/jobStateMachine.js';
import { REASONS } from '../model/reasons.js';
import { shouldRetry, type AttemptOutcome } from '../model/retry.js';
import type { JobSpec } from '../model/jobSpec.js';
import type { Db } from './db.js';
import { nameMatches } from './like.js';
import { fromJson } from './json.js';
import { createLogStream, logGroupOf } from './logEvents.js';
import type { AttemptTable, JobTable } from './schema.js';
import type { Tx } from './unitOfWork.js';
import { cancelNodes, nodeEnded, nodeRunning, terminateNodes } from './gangs.js';
import { FixedStatement, InListStatement, placeholders } from './statementCache.js';

export type JobRow = Omit<JobTable, 'seq'> & { seq: number };
export type NewJobRow = Omit<JobTable, 'seq'>;
export type AttemptRow = AttemptTable;

type Reader = Tx['db'] | Db;

export function jobSpecOf(row: Pick<JobRow, 'spec'>): JobSpec {
  return fromJson<JobSpec>(row.spec, {} as JobSpec);
}

export async function getJob(db: Reader, id: string): Promise<JobRow | undefined> {
  return (await jobsById(1).run(db, [id]))[0];
}

/**
 * DescribeJobs and SubmitJob's dependency check read jobs by id on every request: fixed SQL
 * per number of ids (DescribeJobs takes at most 100), the builder beyond.
 */
const FIXED_IN_LIMIT = 100;
const jobsByCount = new Map<number, FixedStatement<JobRow>>();
const attemptsByCount = new Map<number, FixedStatement<AttemptRow>>();

function jobsById(n: number): FixedStatement<JobRow> {
  let s = jobsByCount.get(n);
  if (!s) jobsByCount.set(n, (s = new FixedStatement<JobRow>(`select * from "jobs" where "id" in (${placeholders(n)})`)));
  return s;
}

export async function getJobs(db: Reader, ids: string[]): Promise<JobRow[]> {
  if (ids.length === 0) return [];
  if (ids.length <= FIXED_IN_LIMIT) return jobsById(ids.length).run(db, ids);
  return db.selectFrom('jobs').selectAll().where('id', 'in', ids).execute() as Promise<JobRow[]>;
}

const DEPENDENCY_STATUSES = new InListStatement((list) => `SELECT status FROM jobs WHERE id IN (${list})`);

/** Whether none of these jobs has ended (SUCCEEDED or FAILED). */
export async function allUnfinished(db: Reader, ids: string[]): Promise<boolean> {
  const rows = await DEPENDENCY_STATUSES.all<{ status: string }>(db, ids);
  return rows.every((r) => r.status !== 'SUCCEEDED' && r.status !== 'FAILED');
}

export async function getAttempts(db: Reader, jobIds: string[]): Promise<AttemptRow[]> {
  if (jobIds.length === 0) return [];
  if (jobIds.length <= FIXED_IN_LIMIT) {
    let s = attemptsByCount.get(jobIds.length);
    if (!s) {
      s = new FixedStatement<AttemptRow>(`select * from "attempts" where "job_id" in (${placeholders(jobIds.length)}) order by "job_id", "attempt"`);
      attemptsByCount.set(jobIds.length, s);
    }
    return s.run(db, jobIds);
  }
  return db.selectFrom('attempts').selectAll().where('job_id', 'in', jobIds).orderBy('job_id').orderBy('attempt').execute();
}

export async function getAttempt(db: Reader, jobId: string, attempt: number): Promise<AttemptRow | undefined> {
  return db.selectFrom('attempts').selectAll().where('job_id', '=', jobId).where('attempt', '=', attempt).executeTakeFirst();
}

export interface JobListFilter {
  queue?: string;
  statuses?: string[];
  parentId?: string;
  /** case-insensitive name; a trailing `*` matches by prefix */
  namePattern?: string;
  definitionArns?: string[];
  definitionName?: string;
  createdBefore?: number;
  createdAfter?: number;
  /** the job's share identifier exactly, or by prefix with a trailing `*` (case-sensitive) */
  sharePattern?: string;
  /** newest first (ListJobs with filters) instead of submission order */
  newestFirst?: boolean;
  /** continue after this seq */
  afterSeq?: number;
  limit: number;
}

export async function listJobs(db: Reader, f: JobListFilter): Promise<JobRow[]> {
  let q = db.selectFrom('jobs').selectAll().limit(f.limit);
  if (f.queue !== undefined) q = q.where('queue', '=', f.queue);
  if (f.statuses) q = q.where('status', 'in', f.statuses);
  if (f.parentId !== undefined) q = q.where('parent_id', '=', f.parentId);
  else q = q.where('parent_id', 'is', null);
  if (f.namePattern !== undefined) q = q.where(nameMatches('name', f.namePattern));
  if (f.definitionArns) q = q.where('definition_arn', 'in', f.definitionArns.length ? f.definitionArns : ['']);
  if (f.definitionName !== undefined) q = q.where('definition_arn', 'like', `%:job-definition/${f.definitionName}:%`);
  if (f.createdBefore !== undefined) q = q.where('created_at', '<', f.createdBefore);
  if (f.createdAfter !== undefined) q = q.where('created_at', '>', f.createdAfter);
  if (f.sharePattern !== undefined) {
    const p = f.sharePattern;
    q = p.endsWith('*')
      ? q.where(sql<boolean>`substr(${sql.ref('share_identifier')}, 1, ${p.length - 1}) = ${p.slice(0, -1)}`)
      : q.where('share_identifier', '=', p);
  }
  if (f.newestFirst) {
    if (f.afterSeq !== undefined) q = q.where('seq', '<', f.afterSeq);
    q = q.orderBy('seq', 'desc');
  } else {
    if (f.afterSeq !== undefined) q = q.where('seq', '>', f.afterSeq);
    q = q.orderBy('seq', 'asc');
  }
  return q.execute() as Promise<JobRow[]>;
}

/** Every column SubmitJob writes, in the order of INSERT_JOB's placeholders (the type makes it complete). */
const JOB_COLUMNS = Object.keys({
  id: 1, arn: 1, name: 1, queue: 1, queue_arn: 1, definition_arn: 1, status: 1, status_reason: 1, wait_code: 1, wait_since: 1,
  created_at: 1, updated_at: 1, runnable_at: 1, started_at: 1, stopped_at: 1, spec: 1, depends_on: 1, pending_deps: 1,
  vcpus: 1, memory_mib: 1, gpus: 1, share_identifier: 1, scheduling_priority: 1, consumables: 1, max_attempts: 1,
  attempt_count: 1, timeout_seconds: 1, ce_name: 1, instance_id: 1, exit_code: 1, log_stream_name: 1, terminate_reason: 1,
  stopped_by: 1, array_size: 1, array_index: 1, parent_id: 1, array_materialized: 1, array_succeeded: 1, array_failed: 1,
  tags: 1, num_nodes: 1, node_index: 1,
} satisfies Record<keyof NewJobRow, 1>) as (keyof NewJobRow)[];
const INSERT_JOB = new FixedStatement<never>(`insert into "jobs" (${JOB_COLUMNS.map((c) => `"${c}"`).join(', ')}) values (${placeholders(JOB_COLUMNS.length)})`);

const insertRowsBySize = new Map<number, FixedStatement<never>>();

/** Inserts job rows as one statement (array children, up to 20 at a time), fixed SQL per row count. */
async function insertJobRows(tx: Tx, rows: NewJobRow[]): Promise<void> {
  let stmt = insertRowsBySize.get(rows.length);
  if (!stmt) {
    const one = `(${placeholders(JOB_COLUMNS.length)})`;
    stmt = new FixedStatement<never>(`insert into "jobs" (${JOB_COLUMNS.map((c) => `"${c}"`).join(', ')}) values ${new Array(rows.length).fill(one).join(', ')}`);
    insertRowsBySize.set(rows.length, stmt);
  }
  await stmt.run(tx.db, rows.flatMap((row) => JOB_COLUMNS.map((c) => row[c] ?? null)));
}

/** Inserts a job in SUBMITTED with its dependency edges. `pending_deps` is computed on admission. */
export async function insertJob(tx: Tx, row: NewJobRow, deps: { jobId: string; type: string | null }[]): Promise<void> {
  await INSERT_JOB.run(tx.db, JOB_COLUMNS.map((c) => row[c] ?? null));
  tx.emit(submitted(row.id, row.created_at));
  if (deps.length) {
    await tx.db
      .insertInto('job_dependencies')
      .values(deps.map((d) => ({ job_id: row.id, depends_on_id: d.jobId, type: d.type })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}

/** Applies a legal status change and emits its event. (Exported for store/gangs.ts only.) */
export async function setStatus(
  tx: Tx,
  job: Pick<JobRow, 'id' | 'status'> & { parent_id?: string | null },
  to: JobStatus,
  reason: string | null,
  now: number,
  patch: Updateable<JobTable> = {},
): Promise<void> {
  const change = transition(job.id, job.status as JobStatus, to, reason, now);
  const set: Updateable<JobTable> = { ...patch, status: to, status_reason: reason, updated_at: now };
  if (to === 'RUNNABLE') set.runnable_at = now;
  const final = to === 'SUCCEEDED' || to === 'FAILED';
  if (final) set.stopped_at = patch.stopped_at ?? now;
  await tx.db.updateTable('jobs').set(set).where('id', '=', job.id).where('status', '=', job.status).execute();
  tx.emit(change);
  if (final && !job.id.includes('#')) {
    // Array children count on their parent; nodes of a multi-node job do not (its main node decides).
    const parentId = job.parent_id !== undefined ? job.parent_id : parentOf(job.id);
    if (parentId) await childFinished(tx, parentId, to === 'SUCCEEDED' ? 1 : 0, to === 'FAILED' ? 1 : 0, now);
  }
}

/** Array children have ids `<parentId>:<index>`; nothing else has a colon in its id. */
function parentOf(jobId: string): string | null {
  const i = jobId.lastIndexOf(':');
  return i > 0 ? jobId.slice(0, i) : null;
}

/**
 * Counts finished children on their parent; the last one decides the parent: SUCCEEDED when
 * every child succeeded, FAILED otherwise. Dependents of the parent follow. (Exported for
 * store/reportBatch.ts, which counts a batch's children at once.)
 */
export async function childFinished(tx: Tx, parentId: string, succeeded: number, failed: number, now: number): Promise<void> {
  await tx.db
    .updateTable('jobs')
    .set((eb) => ({ array_succeeded: eb('array_succeeded', '+', succeeded), array_failed: eb('array_failed', '+', failed), updated_at: now }))
    .where('id', '=', parentId)
    .execute();
  const parent = (await getJob(tx.db, parentId))!;
  if (isFinal(parent.status)) return;
  const done = (parent.array_succeeded ?? 0) + (parent.array_failed ?? 0);
  if (done < (parent.array_size ?? 0)) return;
  if ((parent.array_failed ?? 0) === 0) {
    await setStatus(tx, parent, 'SUCCEEDED', null, now, { parent_id: null });
    await releaseDependents(tx, parent.id, now);
  } else {
    // A cancelled or terminated array ends with the caller's reason, as its children do.
    const reason = parent.stopped_by ? (parent.terminate_reason ?? REASONS.arrayChildFailed) : REASONS.arrayChildFailed;
    await setStatus(tx, parent, 'FAILED', reason, now);
    await failDependents(tx, [parent.id], now);
  }
}

/** The array parent of up to this many not-yet-started children gets no more until some start. */
export const ARRAY_WINDOW = 512;

interface ArrayDeps {
  nToN: string[];
  sequential: boolean;
}

function arrayDepsOf(dependsOnJson: string): ArrayDeps {
  const deps = fromJson<{ jobId?: string; type?: string }[]>(dependsOnJson, []);
  return {
    nToN: deps.filter((d) => d.type === 'N_TO_N' && d.jobId).map((d) => d.jobId!),
    // With a job id, SEQUENTIAL is a plain dependency on that job (an edge of the parent), not an order of the children.
    sequential: deps.some((d) => d.type === 'SEQUENTIAL' && !d.jobId),
  };
}

/**
 * Lazy array expansion: an array parent whose own dependencies are met gets its children as
 * rows a window at a time, so submitting 10,000 children costs one row and the scheduler only
 * ever sees a window of them. A child's dependencies are edges like any job's: on the child
 * before it (SEQUENTIAL) or on the child of the same index of another array (N_TO_N) — an
 * edge may point at a child not yet created; its success finds the edge when it comes.
 * Returns how many children were created.
 */
export async function expandArrays(tx: Tx, now: number, budget: number): Promise<number> {
  const parents = (await tx.db
    .selectFrom('jobs')
    .selectAll()
    .where('status', '=', 'PENDING')
    .where('parent_id', 'is', null)
    .where('array_size', 'is not', null)
    .where('pending_deps', '<=', 0)
    .where((eb) => eb('array_materialized', '<', eb.ref('array_size')))
    .execute()) as JobRow[];
  // Sorted here, not in SQL: ORDER BY seq would make SQLite walk every PENDING job by seq.
  parents.sort((a, b) => a.seq - b.seq);
  let created = 0;
  for (const p of parents) {
    if (created >= budget) break;
    const live = await tx.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('parent_id', '=', p.id)
      .where('status', 'in', ['PENDING', 'RUNNABLE'])
      .executeTakeFirst();
    const from = p.array_materialized ?? 0;
    const n = Math.min(ARRAY_WINDOW - Number(live?.n ?? 0), p.array_size! - from, budget - created);
    if (n <= 0) continue;
    created += await createChildren(tx, p, from, n, now, null);
  }
  return created;
}

/**
 * Creates children [from, from+n) of an array parent. With `failReason` they are created
 * FAILED (a cancelled array), otherwise PENDING or RUNNABLE by their dependencies.
 */
async function createChildren(tx: Tx, p: JobRow, from: number, n: number, now: number, failReason: string | null): Promise<number> {
  const deps = arrayDepsOf(p.depends_on);
  const edges: { job_id: string; depends_on_id: string; type: string }[] = [];
  const childId = (i: number) => `${p.id}:${i}`;
  for (let i = from; i < from + n && !failReason; i++) {
    for (const other of deps.nToN) edges.push({ job_id: childId(i), depends_on_id: `${other}:${i}`, type: 'N_TO_N' });
    if (deps.sequential && i > 0) edges.push({ job_id: childId(i), depends_on_id: childId(i - 1), type: 'SEQUENTIAL' });
  }
  const targets = [...new Set(edges.map((e) => e.depends_on_id))];
  const status = new Map<string, string>();
  for (let i = 0; i < targets.length; i += 500) {
    const rows = await tx.db.selectFrom('jobs').select(['id', 'status']).where('id', 'in', targets.slice(i, i + 500)).execute();
    for (const r of rows) status.set(r.id, r.status);
  }
  const rows: NewJobRow[] = [];
  const failedChildren: string[] = [];
  let succeededNow = 0;
  let failedNow = 0;
  const edgesOf = new Map<string, typeof edges>();
  for (const e of edges) (edgesOf.get(e.job_id) ?? edgesOf.set(e.job_id, []).get(e.job_id)!).push(e);
  const base = withoutSeq(p);
  for (let i = from; i < from + n; i++) {
    const mine = edgesOf.get(childId(i)) ?? [];
    // A child's predecessor created in this same batch is still pending, whatever its fate.
    const depFailed = mine.some((e) => status.get(e.depends_on_id) === 'FAILED');
    const pending = mine.filter((e) => status.get(e.depends_on_id) !== 'SUCCEEDED').length;
    const to: JobStatus = failReason || depFailed ? 'FAILED' : pending > 0 ? 'PENDING' : 'RUNNABLE';
    const reason = failReason ?? (depFailed ? REASONS.dependentJobFailed : null);
    if (to === 'FAILED') {
      failedChildren.push(childId(i));
      failedNow++;
    }
    rows.push({
      ...base,
      id: childId(i),
      arn: `${p.arn}:${i}`,
      status: to,
      status_reason: reason,
      created_at: now,
      updated_at: now,
      runnable_at: to === 'RUNNABLE' ? now : null,
      stopped_at: to === 'FAILED' ? now : null,
      depends_on: '[]',
      pending_deps: pending,
      array_index: i,
      parent_id: p.id,
      array_materialized: null,
      array_succeeded: null,
      array_failed: null,
      stopped_by: failReason ? p.stopped_by : null,
      tags: '{}',
    });
    tx.emit(transition(childId(i), 'SUBMITTED', to, reason, now));
  }
  for (let i = 0; i < rows.length; i += 20) await insertJobRows(tx, rows.slice(i, i + 20));
  for (let i = 0; i < edges.length; i += 300) await tx.db.insertInto('job_dependencies').values(edges.slice(i, i + 300)).onConflict((oc) => oc.doNothing()).execute();
  await tx.db
    .updateTable('jobs')
    .set({ array_materialized: from + n, updated_at: now })
    .where('id', '=', p.id)
    .execute();
  if (failedChildren.length) {
    await failDependents(tx, failedChildren, now);
    await childFinished(tx, p.id, succeededNow, failedNow, now);
  }
  return n;
}

function withoutSeq(p: JobRow): NewJobRow {
  const { seq: _seq, ...rest } = p;
  return rest;
}

/** N_TO_N edges bind children to children; at the parent they block nothing. */
const ADMISSION_DEPS = new InListStatement(
  (list) =>
    'SELECT d.job_id, d.depends_on_id, j.status FROM job_dependencies d LEFT JOIN jobs j ON j.id = d.depends_on_id' +
    ` WHERE d.job_id IN (${list}) AND (d.type IS NULL OR d.type <> 'N_TO_N')`,
);
const ADMIT_RUNNABLE = new FixedStatement<never>("UPDATE jobs SET status = 'RUNNABLE', status_reason = NULL, updated_at = ?, runnable_at = ?, pending_deps = 0 WHERE id = ? AND status = 'SUBMITTED'");
const ADMIT_PENDING = new FixedStatement<never>("UPDATE jobs SET status = 'PENDING', status_reason = NULL, updated_at = ?, pending_deps = ? WHERE id = ? AND status = 'SUBMITTED'");

/**
 * SUBMITTED → PENDING/RUNNABLE, or FAILED when a dependency has already failed.
 * Returns how many jobs were admitted, and how many of them are RUNNABLE (a pass with none
 * and nothing else to do need not schedule). Runs at the start of each scheduler pass.
 *
 * Plain jobs go RUNNABLE set-wise (admitPlain). The dependencies of the batch's other jobs
 * are read in one query, and each of them that goes PENDING or RUNNABLE is written with one
 * fixed statement (setStatus's write: neither state has side effects). A dependency admitted
 * earlier in the batch counts with its new state. A job that fails ends the shortcut:
 * failing dependents can change the states of jobs the read saw, so the jobs after it read
 * their dependencies one by one again.
 */
export async function admitSubmitted(tx: Tx, now: number, limit: number): Promise<{ admitted: number; runnable: number }> {
  const jobs = (await tx.db
    .selectFrom('jobs')
    .select(['id', 'status', 'depends_on', 'array_size', 'parent_id'])
    .where('status', '=', 'SUBMITTED')
    .orderBy('seq')
    .limit(limit)
    .execute()) as Pick<JobRow, 'id' | 'status' | 'depends_on' | 'array_size' | 'parent_id'>[];
  // Most submissions are plain jobs without dependencies: they become RUNNABLE together, in
  // one statement per run of them (in submission order, so the events keep their order).
  let plain: string[] = [];
  const flushPlain = async () => {
    if (plain.length) await admitPlain(tx, plain, now);
    plain = [];
  };
  // Only SubmitJob creates SUBMITTED rows, and it records edges only for a non-empty
  // dependsOn: with `[]` there is nothing to look up.
  const isPlain = (job: (typeof jobs)[number]) => job.depends_on === '[]' && job.array_size === null;
  const depsOf = new Map<string, { depends_on_id: string; status: string | null }[]>();
  const withDeps = jobs.filter((j) => !isPlain(j)).map((j) => j.id);
  for (const d of await ADMISSION_DEPS.all<{ job_id: string; depends_on_id: string; status: string | null }>(tx.db, withDeps)) {
    (depsOf.get(d.job_id) ?? depsOf.set(d.job_id, []).get(d.job_id)!).push(d);
  }
  /** states given in this batch, while no job has failed */
  const admitted = new Map<string, JobStatus>();
  let batchRead = true;
  for (const job of jobs) {
    if (isPlain(job)) {
      plain.push(job.id);
      admitted.set(job.id, 'RUNNABLE');
      continue;
    }
    await flushPlain();
    const deps = batchRead
      ? (depsOf.get(job.id) ?? []).map((d) => ({ status: admitted.get(d.depends_on_id) ?? d.status }))
      : await tx.db
          .selectFrom('job_dependencies as d')
          .leftJoin('jobs as j', 'j.id', 'd.depends_on_id')
          .select(['d.depends_on_id', 'j.status'])
          .where('d.job_id', '=', job.id)
          .where((eb) => eb.or([eb('d.type', 'is', null), eb('d.type', '!=', 'N_TO_N')]))
          .execute();
    const failed = deps.some((d) => d.status === 'FAILED');
    const pending = deps.filter((d) => d.status !== 'SUCCEEDED').length;
    if (failed) {
      batchRead = false;
      await setStatus(tx, job, 'FAILED', REASONS.dependentJobFailed, now, { pending_deps: pending });
      if (job.array_size !== null && job.parent_id === null) await failUnbornChildren(tx, job.id, REASONS.dependentJobFailed, now);
      await failDependents(tx, [job.id], now);
    } else if (pending > 0 || (job.array_size !== null && job.parent_id === null)) {
      // An array parent waits in PENDING while its children run, as AWS shows it.
      const change = transition(job.id, 'SUBMITTED', 'PENDING', null, now);
      await ADMIT_PENDING.run(tx.db, [now, pending, job.id]);
      tx.emit(change);
      admitted.set(job.id, 'PENDING');
    } else {
      const change = transition(job.id, 'SUBMITTED', 'RUNNABLE', null, now);
      await ADMIT_RUNNABLE.run(tx.db, [now, now, job.id]);
      tx.emit(change);
      admitted.set(job.id, 'RUNNABLE');
    }
  }
  await flushPlain();
  // (A later failure in the batch may yet fail a job counted here: counting it is harmless.)
  let runnable = 0;
  for (const state of admitted.values()) if (state === 'RUNNABLE') runnable++;
  return { admitted: jobs.length, runnable };
}

const admitPlainByCount = new Map<number, FixedStatement<never>>();

/**
 * SUBMITTED → RUNNABLE for jobs without dependencies: what `setStatus(tx, job, 'RUNNABLE',
 * null, now, { pending_deps: 0 })` does for each, in one fixed statement per 100 jobs.
 */
async function admitPlain(tx: Tx, ids: string[], now: number): Promise<void> {
  const changes = ids.map((id) => transition(id, 'SUBMITTED', 'RUNNABLE', null, now));
  for (let i = 0; i < ids.length; i += FIXED_IN_LIMIT) {
    const chunk = ids.slice(i, i + FIXED_IN_LIMIT);
    let stmt = admitPlainByCount.get(chunk.length);
    if (!stmt) {
      stmt = new FixedStatement<never>(
        `update "jobs" set "pending_deps" = 0, "status" = 'RUNNABLE', "status_reason" = null, "updated_at" = ?, "runnable_at" = ? ` +
          `where "status" = 'SUBMITTED' and "id" in (${placeholders(chunk.length)})`,
      );
      admitPlainByCount.set(chunk.length, stmt);
    }
    await stmt.run(tx.db, [now, now, ...chunk]);
  }
  for (const c of changes) tx.emit(c);
}

/**
 * The columns a scheduler pass needs of every job at the head of a queue. A pass looks at up
 * to 256 jobs to place a few: reading whole rows (the spec, tags and dependencies as JSON)
 * made the head read the largest single cost of a pass. Full rows are read for the jobs
 * that are placed (`getJobs`).
 */
export const HEAD_COLUMNS = [
  'id',
  'seq',
  'queue',
  'status',
  'status_reason',
  'wait_code',
  'wait_since',
  'vcpus',
  'memory_mib',
  'gpus',
  'consumables',
  'share_identifier',
  'scheduling_priority',
  'num_nodes',
  'node_index',
  'parent_id',
] as const;
export type HeadRow = Pick<JobRow, (typeof HEAD_COLUMNS)[number]>;

// Nodes wait with their gang's parent, which is what gets placed: node_index is null.
const RUNNABLE_HEAD = new FixedStatement<HeadRow>(
  `select ${HEAD_COLUMNS.map((c) => `"${c}"`).join(', ')} from "jobs" ` +
    `where "queue" = ? and "status" = 'RUNNABLE' and "node_index" is null order by "seq" limit ?`,
);

/** A head row from its columns in HEAD_COLUMNS order. */
function headRow(r: unknown[]): HeadRow {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < HEAD_COLUMNS.length; i++) row[HEAD_COLUMNS[i]] = r[i];
  return row as HeadRow;
}

/** The first `limit` RUNNABLE jobs of a FIFO queue, in submission order (every scheduler pass reads it). */
export async function runnableHead(db: Reader, queue: string, limit: number): Promise<HeadRow[]> {
  return RUNNABLE_HEAD.objects(db, [queue, limit], headRow);
}

/**
 * The shares of a fair-share queue that have RUNNABLE jobs. A loose index scan — one index
 * probe per share — so the cost does not grow with the number of queued jobs.
 */
export async function activeShares(db: Reader, queue: string): Promise<string[]> {
  const rows = await sql<{ s: string | null }>`
    WITH RECURSIVE shares(s) AS (
      SELECT (SELECT min(share_identifier) FROM jobs WHERE queue = ${queue} AND status = 'RUNNABLE' AND share_identifier IS NOT NULL)
      UNION ALL
      SELECT (SELECT min(share_identifier) FROM jobs WHERE queue = ${queue} AND status = 'RUNNABLE' AND share_identifier > shares.s)
      FROM shares WHERE shares.s IS NOT NULL
    )
    SELECT s FROM shares WHERE s IS NOT NULL`.execute(db);
  return rows.rows.map((r) => r.s!);
}

/** The first `limit` RUNNABLE jobs of one share: schedulingPriority first, then submission order. */
export async function shareHead(db: Reader, queue: string, share: string, limit: number): Promise<HeadRow[]> {
  return db
    .selectFrom('jobs')
    .select(HEAD_COLUMNS)
    .where('queue', '=', queue)
    .where('status', '=', 'RUNNABLE')
    .where('share_identifier', '=', share)
    .where('node_index', 'is', null)
    .orderBy('scheduling_priority', 'desc')
    .orderBy('seq')
    .limit(limit)
    .execute() as Promise<HeadRow[]>;
}

/** vCPUs of STARTING/RUNNING jobs per queue and share (a multi-node job counts once, as its parent's totals). */
export async function runningByShare(db: Reader): Promise<{ queue: string; share: string | null; vcpus: number }[]> {
  const rows = await db
    .selectFrom('jobs')
    .select(['queue', 'share_identifier', (eb) => eb.fn.sum<number>('vcpus').as('vcpus')])
    .where('status', 'in', ['STARTING', 'RUNNING'])
    .where('node_index', 'is', null)
    .groupBy(['queue', 'share_identifier'])
    .execute();
  return rows.map((r) => ({ queue: r.queue, share: r.share_identifier, vcpus: Number(r.vcpus) }));
}

/** vCPUs and memory held by STARTING/RUNNING jobs, per instance, and how many of those jobs are STARTING. */
export async function usageByInstance(db: Reader): Promise<Map<string, { vcpus: number; memoryMiB: number; gpus: number; jobs: number; starting: number }>> {
  const starting = sql<number>`sum(case when ${sql.ref('status')} = 'STARTING' then 1 else 0 end)`;
  const rows = await db
    .selectFrom('jobs')
    .select(['instance_id', (eb) => eb.fn.sum<number>('vcpus').as('vcpus'), (eb) => eb.fn.sum<number>('memory_mib').as('mem'), (eb) => eb.fn.sum<number>('gpus').as('gpus'), (eb) => eb.fn.countAll<number>().as('n'), starting.as('starting')])
    .where('status', 'in', ['STARTING', 'RUNNING'])
    .where('instance_id', 'is not', null)
    .groupBy('instance_id')
    .execute();
  return new Map(
    rows.map((r) => [r.instance_id as string, { vcpus: Number(r.vcpus), memoryMiB: Number(r.mem), gpus: Number(r.gpus), jobs: Number(r.n), starting: Number(r.starting) }]),
  );
}

const RECORD_WAIT = new FixedStatement<never>("UPDATE jobs SET wait_code = ?, wait_since = ?, status_reason = ? WHERE id = ? AND status = 'RUNNABLE'");

/** Why a RUNNABLE job waits, as a pass found it (a pass writes it for each job whose reason changed). */
export async function recordWait(db: Reader, jobId: string, code: string, now: number, statusReason: string | null): Promise<void> {
  await RECORD_WAIT.run(db, [code, now, statusReason, jobId]);
}

/** What placing a job (not a multi-node parent) reads of it: `startAttempt`'s columns and its consumables. */
export type PlacementRow = Pick<JobRow, 'id' | 'status' | 'attempt_count' | 'spec' | 'vcpus' | 'memory_mib' | 'gpus' | 'consumables'>;
const PLACEMENT_ROWS = new InListStatement((list) => `SELECT id, status, attempt_count, spec, vcpus, memory_mib, gpus, consumables FROM jobs WHERE id IN (${list})`);

export async function placementRows(db: Reader, ids: string[]): Promise<PlacementRow[]> {
  return ids.length ? PLACEMENT_ROWS.all<PlacementRow>(db, ids) : [];
}

const INSERT_ATTEMPT = new FixedStatement<never>(
  'INSERT INTO attempts (job_id, attempt, token, instance_id, ce_name, status, created_at, started_at, stopped_at, exit_code, reason, status_reason,' +
    " log_stream_name, vcpus, memory_mib, gpus, rate_per_hour, pricing, log_group) VALUES (?, ?, ?, ?, ?, 'STARTING', ?, NULL, NULL, NULL, NULL, NULL, ?, ?, ?, ?, ?, ?, ?)",
);
const PLACE_JOB = new FixedStatement<never>(
  "UPDATE jobs SET status = 'STARTING', status_reason = NULL, updated_at = ?, attempt_count = ?, ce_name = ?, instance_id = ?, log_stream_name = ?," +
    ' wait_code = NULL, wait_since = NULL WHERE id = ? AND status = ?',
);

/**
 * Places a RUNNABLE job on an instance: a new attempt with its fencing token, job → STARTING.
 * Runs once per placed job, so its statements are fixed SQL (FixedStatement); `spec` may be
 * given already parsed.
 */
export async function startAttempt(
  tx: Tx,
  job: Pick<JobRow, 'id' | 'status' | 'attempt_count' | 'spec' | 'vcpus' | 'memory_mib' | 'gpus'>,
  placement: { instanceId: string; ceName: string; token: string; logStreamName: string; rate?: { perHour: number; pricing: string | null } },
  now: number,
  spec: JobSpec = jobSpecOf(job),
): Promise<number> {
  const attempt = job.attempt_count + 1;
  const logGroup = logGroupOf(spec.containerProperties);
  await INSERT_ATTEMPT.run(tx.db, [
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
  // setStatus's write, as one fixed statement: STARTING is not final and has no roll-up.
  const change = transition(job.id, job.status as JobStatus, 'STARTING', null, now);
  await PLACE_JOB.run(tx.db, [now, attempt, placement.ceName, placement.instanceId, placement.logStreamName, job.id, job.status]);
  tx.emit(change);
  return attempt;
}

/** The attempt a report is about, if the report's token still owns it. */
async function fencedAttempt(tx: Tx, jobId: string, attempt: number, token: string, instanceId?: string): Promise<{ job: JobRow; attempt: AttemptRow } | undefined> {
  const a = await getAttempt(tx.db, jobId, attempt);
  if (!a || a.token !== token || isFinal(a.status)) return undefined;
  // An agent speaks only for the attempts placed on its own instance, token or not.
  if (instanceId !== undefined && a.instance_id !== instanceId) return undefined;
  const job = await getJob(tx.db, jobId);
  if (!job || job.attempt_count !== attempt || (job.status !== 'STARTING' && job.status !== 'RUNNING')) return undefined;
  return { job, attempt: a };
}

/** The agent says the process started. Returns false when the report is stale (fenced off). */
export async function markRunning(tx: Tx, jobId: string, attempt: number, token: string, startedAt: number, now: number, instanceId?: string): Promise<boolean> {
  const found = await fencedAttempt(tx, jobId, attempt, token, instanceId);
  if (!found) return false;
  if (found.job.status === 'RUNNING') return true;
  await tx.db.updateTable('attempts').set({ status: 'RUNNING', started_at: startedAt }).where('job_id', '=', jobId).where('attempt', '=', attempt).execute();
  await setStatus(tx, found.job, 'RUNNING', null, now, { started_at: startedAt });
  if (found.job.node_index !== null) await nodeRunning(tx, found.job, startedAt, now);
  return true;
}

export interface AttemptEnd {
  exitCode: number | null;
  /** container-level reason from the executor, if any */
  reason: string | null;
  /** the attempt's statusReason; defaults from the exit code */
  statusReason?: string;
  timedOut?: boolean;
  stoppedAt: number;
  /** the job's process never started: the job ends from STARTING, never RUNNING, with no startedAt */
  neverStarted?: boolean;
}

/**
 * The attempt ended. Decides the job's fate: SUCCEEDED on exit 0; otherwise a retry
 * (back to RUNNABLE) if the retry strategy says so, else FAILED with dependents failed too.
 * Returns false when the report is stale.
 */
export async function finishAttempt(tx: Tx, jobId: string, attempt: number, token: string, end: AttemptEnd, now: number, instanceId?: string): Promise<boolean> {
  const found = await fencedAttempt(tx, jobId, attempt, token, instanceId);
  if (!found) return false;
  let { job } = found;
  const neverStarted = end.neverStarted === true && job.node_index === null;
  if (job.status === 'STARTING' && !neverStarted) {
    // The process ended before its RUNNING report was applied: RUNNING first, as AWS shows it.
    const startedAt = end.stoppedAt;
    await tx.db.updateTable('attempts').set({ started_at: startedAt }).where('job_id', '=', jobId).where('attempt', '=', attempt).execute();
    await setStatus(tx, job, 'RUNNING', null, now, { started_at: startedAt });
    job = { ...job, status: 'RUNNING', started_at: startedAt };
    if (job.node_index !== null) await nodeRunning(tx, job, startedAt, now);
  }
  const succeeded = end.exitCode === 0 && !job.terminate_reason && !end.timedOut;
  const statusReason =
    job.terminate_reason ?? end.statusReason ?? (end.timedOut ? REASONS.timeout : REASONS.essentialContainerExited);
  await tx.db
    .updateTable('attempts')
    .set({
      status: succeeded ? 'SUCCEEDED' : 'FAILED',
      stopped_at: end.stoppedAt,
      exit_code: end.exitCode,
      reason: end.reason,
      status_reason: succeeded ? null : statusReason,
      started_at: neverStarted ? null : (found.attempt.started_at ?? end.stoppedAt),
    })
    .where('job_id', '=', jobId)
    .where('attempt', '=', attempt)
    .execute();
  if (job.node_index !== null) {
    await nodeEnded(tx, job, { succeeded, statusReason, exitCode: end.exitCode, reason: end.reason, timedOut: end.timedOut === true, stoppedAt: end.stoppedAt }, now);
    return true;
  }
  if (succeeded) {
    await setStatus(tx, job, 'SUCCEEDED', REASONS.essentialContainerExited, now, { exit_code: end.exitCode, stopped_at: end.stoppedAt });
    await releaseDependents(tx, job.id, now);
    return true;
  }
  const outcome: AttemptOutcome = {
    exitCode: end.exitCode,
    reason: end.reason,
    statusReason,
    terminatedByUser: job.terminate_reason !== null,
    timedOut: end.timedOut === true,
  };
  const spec = jobSpecOf(job);
  if (shouldRetry(spec.retryStrategy, attempt, outcome)) {
    await setStatus(tx, job, 'RUNNABLE', null, now, { exit_code: end.exitCode, instance_id: null, ce_name: null, started_at: null });
  } else {
    await setStatus(tx, job, 'FAILED', statusReason, now, { exit_code: end.exitCode, stopped_at: end.stoppedAt });
    await failDependents(tx, [job.id], now);
  }
  return true;
}

/** A dependency succeeded: count it off its dependents and release those with none left. */
export async function releaseDependents(tx: Tx, jobId: string, now: number): Promise<void> {
  const dependents = await tx.db
    .selectFrom('job_dependencies')
    .select('job_id')
    .where('depends_on_id', '=', jobId)
    .where((eb) => eb.or([eb('type', 'is', null), eb('type', '!=', 'N_TO_N'), eb('job_id', 'like', '%:%')]))
    .execute();
  if (dependents.length === 0) return;
  const ids = dependents.map((d) => d.job_id);
  await tx.db.updateTable('jobs').set((eb) => ({ pending_deps: eb('pending_deps', '-', 1) })).where('id', 'in', ids).where('status', '=', 'PENDING').execute();
  const ready = (await tx.db
    .selectFrom('jobs')
    .select(['id', 'status', 'array_size', 'parent_id'])
    .where('id', 'in', ids)
    .where('status', '=', 'PENDING')
    .where('pending_deps', '<=', 0)
    .execute()) as Pick<JobRow, 'id' | 'status' | 'array_size' | 'parent_id'>[];
  // An array parent whose dependencies are met stays PENDING: expandArrays now creates its
  // children. Made RUNNABLE it would be placed and run as a job of its own.
  for (const j of ready) if (j.array_size === null || j.parent_id !== null) await setStatus(tx, j, 'RUNNABLE', null, now);
}

/** Dependencies failed: fail every not-yet-final dependent, and theirs, level by level. */
export async function failDependents(tx: Tx, jobIds: string[], now: number): Promise<void> {
  let frontier = jobIds;
  while (frontier.length) {
    const next: string[] = [];
    for (let i = 0; i < frontier.length; i += 500) {
      const chunk = frontier.slice(i, i + 500);
      const dependents = (await tx.db
        .selectFrom('job_dependencies as d')
        .innerJoin('jobs as j', 'j.id', 'd.job_id')
        .select(['j.id', 'j.status', 'j.parent_id', 'j.array_size', 'j.array_materialized'])
        .where('d.depends_on_id', 'in', chunk)
        .where('j.status', 'in', ['PENDING'])
        .where((eb) => eb.or([eb('d.type', 'is', null), eb('d.type', '!=', 'N_TO_N'), eb('j.parent_id', 'is not', null)]))
        .execute()) as Pick<JobRow, 'id' | 'status' | 'parent_id' | 'array_size' | 'array_materialized'>[];
      for (const d of dependents) {
        await setStatus(tx, d, 'FAILED', REASONS.dependentJobFailed, now);
        next.push(d.id);
        // An array that will never run still answers for every index, as a cancelled one does.
        if (d.array_size !== null && d.parent_id === null) await failUnbornChildren(tx, d.id, REASONS.dependentJobFailed, now);
      }
    }
    frontier = next;
  }
}

/**
 * CancelJob: SUBMITTED, PENDING and RUNNABLE jobs fail with the caller's reason (and their
 * dependents with "Dependent Job failed"). STARTING/RUNNING jobs are left alone, as AWS does.
 * Returns whether the job was cancelled.
 */
export async function cancelJob(tx: Tx, job: Pick<JobRow, 'id' | 'status'>, reason: string, now: number): Promise<boolean> {
  if (!['SUBMITTED', 'PENDING', 'RUNNABLE'].includes(job.status)) return false;
  const full = (await getJob(tx.db, job.id))!;
  if (full.array_size !== null && full.parent_id === null) {
    await stopArray(tx, full, reason, 'CANCEL', now);
    return true;
  }
  await setStatus(tx, full, 'FAILED', reason, now, { stopped_by: 'CANCEL' });
  if (full.num_nodes !== null && full.node_index === null) await cancelNodes(tx, full.id, reason, now);
  await failDependents(tx, [job.id], now);
  return true;
}

/**
 * Cancel or terminate an array: children not yet started fail with the reason (those never
 * created are created FAILED, so every index has an answer), running ones are terminated
 * when `how` is TERMINATE. The parent ends when its last child does.
 */
async function stopArray(tx: Tx, parent: JobRow, reason: string, how: 'CANCEL' | 'TERMINATE', now: number): Promise<string[]> {
  await tx.db.updateTable('jobs').set({ stopped_by: how, terminate_reason: reason, updated_at: now }).where('id', '=', parent.id).execute();
  const parentNow = { ...parent, stopped_by: how, terminate_reason: reason };
  if (parent.status === 'SUBMITTED') {
    await setStatus(tx, parent, 'PENDING', null, now, { pending_deps: 0 });
    parentNow.status = 'PENDING';
  }
  const instances: string[] = [];
  for (;;) {
    const waiting = (await tx.db
      .selectFrom('jobs')
      .select(['id', 'status', 'parent_id'])
      .where('parent_id', '=', parent.id)
      .where('status', 'in', ['SUBMITTED', 'PENDING', 'RUNNABLE'])
      .limit(500)
      .execute()) as Pick<JobRow, 'id' | 'status' | 'parent_id'>[];
    if (waiting.length === 0) break;
    for (const c of waiting) {
      await setStatus(tx, c, 'FAILED', reason, now, { stopped_by: how });
      await failDependents(tx, [c.id], now);
    }
  }
  if (how === 'TERMINATE') {
    const running = await tx.db
      .selectFrom('jobs')
      .select(['id', 'instance_id'])
      .where('parent_id', '=', parent.id)
      .where('status', 'in', ['STARTING', 'RUNNING'])
      .execute();
    if (running.length) {
      await tx.db.updateTable('jobs').set({ terminate_reason: reason, stopped_by: how, updated_at: now }).where('id', 'in', running.map((r) => r.id)).execute();
      for (const r of running) if (r.instance_id) instances.push(r.instance_id);
    }
  }
  await failUnbornChildren(tx, parent.id, reason, now);
  return instances;
}

/** Creates the children of an array that do not exist yet as FAILED rows with `reason`. */
async function failUnbornChildren(tx: Tx, parentId: string, reason: string, now: number): Promise<void> {
  for (;;) {
    const current = (await getJob(tx.db, parentId))!;
    const from = current.array_materialized ?? 0;
    const remaining = (current.array_size ?? 0) - from;
    if (remaining <= 0) return;
    await createChildren(tx, current, from, Math.min(1000, remaining), now, reason);
  }
}

/**
 * TerminateJob: cancels a job not yet placed; for STARTING/RUNNING records the reason so the
 * agent stops the process and the attempt's end fails the job with that reason, unretried.
 * Returns 'cancelled', 'terminating' or 'final'.
 */
export async function terminateJob(
  tx: Tx,
  job: Pick<JobRow, 'id' | 'status'>,
  reason: string,
  now: number,
): Promise<'cancelled' | 'terminating' | 'final' | { instances: string[] }> {
  const full = (await getJob(tx.db, job.id))!;
  if (full.array_size !== null && full.parent_id === null) {
    if (isFinal(full.status)) return 'final';
    return { instances: await stopArray(tx, full, reason, 'TERMINATE', now) };
  }
  if (await cancelJob(tx, job, reason, now)) return 'cancelled';
  if ((job.status === 'STARTING' || job.status === 'RUNNING') && full.num_nodes !== null && full.node_index === null) {
    await tx.db.updateTable('jobs').set({ terminate_reason: reason, stopped_by: 'TERMINATE', updated_at: now }).where('id', '=', job.id).execute();
    return { instances: await terminateNodes(tx, full.id, reason, now) };
  }
  if (job.status === 'STARTING' || job.status === 'RUNNING') {
    await tx.db.updateTable('jobs').set({ terminate_reason: reason, stopped_by: 'TERMINATE', updated_at: now }).where('id', '=', job.id).execute();
    return 'terminating';
  }
  return 'final';
}

/** Jobs whose attempt is STARTING/RUNNING on the given instances (agent loss, recovery). */
export async function activeAttemptsOn(db: Reader, instanceIds: string[]): Promise<AttemptRow[]> {
  if (instanceIds.length === 0) return [];
  return db.selectFrom('attempts').selectAll().where('instance_id', 'in', instanceIds).where('status', 'in', ['STARTING', 'RUNNING']).execute();
}

/** Fails an attempt whose host is gone; the retry strategy decides what happens to the job. */
export async function failLostAttempt(tx: Tx, a: AttemptRow, statusReason: string, now: number): Promise<boolean> {
  return finishAttempt(tx, a.job_id, a.attempt, a.token, { exitCode: null, reason: null, statusReason, stoppedAt: now }, now);
}

/**
 * An array's children by status, as AWS's statusSummary reports them. Children not yet
 * created count as PENDING when they will wait on other children (SEQUENTIAL, N_TO_N) or on
 * the parent's own dependencies, else as RUNNABLE.
 */
export async function arrayStatusSummary(db: Reader, parent: JobRow): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('jobs')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('parent_id', '=', parent.id)
    .groupBy('status')
    .execute();
  const summary: Record<string, number> = { STARTING: 0, FAILED: 0, RUNNING: 0, SUCCEEDED: 0, RUNNABLE: 0, SUBMITTED: 0, PENDING: 0 };
  for (const r of rows) summary[r.status] = Number(r.n);
  const unborn = (parent.array_size ?? 0) - (parent.array_materialized ?? 0);
  if (unborn > 0) summary[unbornChildStatus(parent)] += unborn;
  return summary;
}

/** The status an array's children that are not rows yet report as (see arrayStatusSummary). */
export function unbornChildStatus(parent: Pick<JobRow, 'status' | 'pending_deps' | 'depends_on'>): 'SUBMITTED' | 'PENDING' | 'RUNNABLE' {
  if (parent.status === 'SUBMITTED') return 'SUBMITTED';
  const deps = arrayDepsOf(parent.depends_on);
  return parent.pending_deps > 0 || deps.sequential || deps.nToN.length > 0 ? 'PENDING' : 'RUNNABLE';
}

/** Job counts by queue and status (metrics). Walks the (queue, status, seq) index. */
export async function countByQueueAndStatus(db: Reader): Promise<{ queue: string; status: string; count: number }[]> {
  const rows = await db
    .selectFrom('jobs')
    .select(['queue', 'status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(['queue', 'status'])
    .execute();
  return rows.map((r) => ({ queue: r.queue, status: r.status, count: Number(r.n) }));
}

/** created_at of the given jobs. */
export async function createdAtOf(db: Reader, ids: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.selectFrom('jobs').select(['id', 'created_at']).where('id', 'in', ids.slice(i, i + 500)).execute();
    for (const r of rows) out.set(r.id, Number(r.created_at));
  }
  return out;
}

/** Counts of jobs per status for one queue (GetJobQueueSnapshot, dashboard). */
export async function countByStatus(db: Reader, queue?: string): Promise<Record<string, number>> {
  let q = db.selectFrom('jobs').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status');
  if (queue !== undefined) q = q.where('queue', '=', queue);
  const rows = await q.execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** The jobs (not array children or nodes) that name one of these jobs in their dependsOn, oldest first. */
export async function dependentsOf(db: Reader, jobIds: string[]): Promise<JobRow[]> {
  if (jobIds.length === 0) return [];
  const direct = db.selectFrom('job_dependencies').select('job_id').where('depends_on_id', 'in', jobIds);
  return db.selectFrom('jobs').selectAll().where('id', 'in', direct).where('parent_id', 'is', null).orderBy('seq').execute() as Promise<JobRow[]>;
}

/** The indices of an array's FAILED children, ascending (reruns of failed children). */
export async function failedIndices(db: Reader, arrayJobId: string): Promise<number[]> {
  const rows = await db.selectFrom('jobs').select('array_index').where('parent_id', '=', arrayJobId).where('status', '=', 'FAILED').orderBy('array_index').execute();
  return rows.map((r) => Number(r.array_index));
}
