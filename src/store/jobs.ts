/**
 * The job aggregate's reads: jobs, their attempts and their dependency edges as the API, the
 * scheduler and the agents' hub see them. Nothing here changes a job's status: every job that
 * comes into being and every status change goes through store/transitions.ts.
 *
 * Writers of the aggregate, by what they decide: admission.ts (SUBMITTED → PENDING/RUNNABLE),
 * arrays.ts (children made lazily), placement.ts (RUNNABLE → STARTING), gangs.ts (multi-node
 * jobs), attemptReports.ts (what agents and providers report: RUNNING, the attempt's end,
 * retries), cancellation.ts (CancelJob, TerminateJob).
 */
import { sql } from 'kysely';
import type { JobDependency } from '@aws-sdk/client-batch';
import { jobKind } from '../model/jobKind.js';
import type { JobSpec } from '../model/jobSpec.js';
import { nodeJobId } from '../model/multinode.js';
import type { Db } from './db.js';
import { nameMatches } from './like.js';
import { fromJson } from './json.js';
import type { AttemptTable, JobTable } from './schema.js';
import type { Tx } from './unitOfWork.js';
import { FixedStatement, InListStatement, placeholders } from './statementCache.js';

export type JobRow = Omit<JobTable, 'seq'> & { seq: number };
export type NewJobRow = Omit<JobTable, 'seq'>;
export type AttemptRow = AttemptTable;

/** The consumable resources a job holds while it runs. */
export function consumablesOf(job: Pick<JobRow, 'consumables'>): { name: string; quantity: number }[] {
  return fromJson<{ name: string; quantity: number }[]>(job.consumables, []);
}

/** A job's dependsOn as SubmitJob was given it. */
export function dependsOnOf(job: Pick<JobRow, 'depends_on'>): JobDependency[] {
  return fromJson<JobDependency[]>(job.depends_on, []);
}

/** A job's tags. */
export function jobTagsOf(job: Pick<JobRow, 'tags'>): Record<string, string> {
  return fromJson<Record<string, string>>(job.tags, {});
}

/** What the scheduler recorded of why a RUNNABLE job waits (scheduler/explain.ts WaitDetail), if anything. */
export function waitDetailOf<T>(job: Pick<JobRow, 'wait_detail'>): T | undefined {
  return fromJson<T | undefined>(job.wait_detail, undefined);
}

/** The columns a new job must be given; `newJobRow` fills in the rest. */
export type JobIdentity = Pick<NewJobRow, 'id' | 'arn' | 'name' | 'queue' | 'queue_arn' | 'definition_arn' | 'created_at' | 'spec' | 'vcpus' | 'memory_mib' | 'gpus'>;

/**
 * The one factory of job rows: a job nobody has looked at yet (SUBMITTED, no attempt, no
 * dependency, not an array or a gang) with the given columns over it. SubmitJob, the nodes
 * of a gang and the tests build their rows here; array children are their parent's row with
 * the child's own columns (store/transitions.ts createChildren).
 */
export function newJobRow(job: JobIdentity & Partial<NewJobRow>): NewJobRow {
  return {
    status: 'SUBMITTED',
    status_reason: null,
    wait_code: null,
    wait_since: null,
    wait_detail: null,
    updated_at: job.created_at,
    runnable_at: null,
    started_at: null,
    stopped_at: null,
    depends_on: '[]',
    pending_deps: 0,
    share_identifier: null,
    scheduling_priority: 0,
    consumables: null,
    max_attempts: 1,
    attempt_count: 0,
    timeout_seconds: null,
    ce_name: null,
    instance_id: null,
    exit_code: null,
    log_stream_name: null,
    terminate_reason: null,
    stopped_by: null,
    array_size: null,
    array_index: null,
    parent_id: null,
    array_materialized: null,
    array_succeeded: null,
    array_failed: null,
    tags: '{}',
    num_nodes: null,
    node_index: null,
    ...job,
  };
}

/** A handle to read with: the database, or a transaction's view of it. */
export type Reader = Tx['db'] | Db;

export function jobSpecOf(row: Pick<JobRow, 'spec'>): JobSpec {
  return fromJson<JobSpec>(row.spec, {} as JobSpec);
}

/** Whose attempts a job reports, as AWS does: a multi-node parent its main node's, any other job its own. */
export function attemptsHolderOf(job: JobRow): string {
  return jobKind(job) === 'gangParent' ? nodeJobId(job.id, jobSpecOf(job).gang?.mainNode ?? 0) : job.id;
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

/** How a task's containers ended in an attempt (null: a job of one container, or none reported). */
export function attemptContainersOf(a: Pick<AttemptRow, 'containers'>): { name: string; exitCode: number | null; reason?: string }[] | null {
  return a.containers ? fromJson(a.containers, null) : null;
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

/** What an array parent's dependsOn asks of its children. */
export interface ArrayDeps {
  nToN: string[];
  sequential: boolean;
}

export function arrayDepsOf(dependsOnJson: string): ArrayDeps {
  const deps = fromJson<{ jobId?: string; type?: string }[]>(dependsOnJson, []);
  return {
    nToN: deps.filter((d) => d.type === 'N_TO_N' && d.jobId).map((d) => d.jobId!),
    // With a job id, SEQUENTIAL is a plain dependency on that job (an edge of the parent), not an order of the children.
    sequential: deps.some((d) => d.type === 'SEQUENTIAL' && !d.jobId),
  };
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

/** What STARTING/RUNNING jobs hold of one instance. */
export interface InstanceUsage {
  vcpus: number;
  memoryMiB: number;
  gpus: number;
  jobs: number;
  /** how many of those jobs are STARTING */
  starting: number;
  /** when the latest of its RUNNING jobs started (epoch ms); null when none runs */
  lastStart: number | null;
}

/** What STARTING/RUNNING jobs hold, per instance. */
export async function usageByInstance(db: Reader): Promise<Map<string, InstanceUsage>> {
  const starting = sql<number>`sum(case when ${sql.ref('status')} = 'STARTING' then 1 else 0 end)`;
  const lastStart = sql<number | null>`max(case when ${sql.ref('status')} = 'RUNNING' then ${sql.ref('started_at')} end)`;
  const rows = await db
    .selectFrom('jobs')
    .select([
      'instance_id',
      (eb) => eb.fn.sum<number>('vcpus').as('vcpus'),
      (eb) => eb.fn.sum<number>('memory_mib').as('mem'),
      (eb) => eb.fn.sum<number>('gpus').as('gpus'),
      (eb) => eb.fn.countAll<number>().as('n'),
      starting.as('starting'),
      lastStart.as('last_start'),
    ])
    .where('status', 'in', ['STARTING', 'RUNNING'])
    .where('instance_id', 'is not', null)
    .groupBy('instance_id')
    .execute();
  return new Map(
    rows.map((r) => [
      r.instance_id as string,
      { vcpus: Number(r.vcpus), memoryMiB: Number(r.mem), gpus: Number(r.gpus), jobs: Number(r.n), starting: Number(r.starting), lastStart: r.last_start === null ? null : Number(r.last_start) },
    ]),
  );
}

const RECORD_WAIT = new FixedStatement<never>("UPDATE jobs SET wait_code = ?, wait_since = ?, status_reason = ?, wait_detail = ? WHERE id = ? AND status = 'RUNNABLE'");

/**
 * Why a RUNNABLE job waits, as a pass found it (a pass writes it for each job whose reason
 * changed): its code, since when, its statusReason (the job stays RUNNABLE, saying why, as
 * AWS's do) and, waiting for capacity, planScaling's account of it (JSON; `why` reads it).
 */
export async function recordWait(db: Reader, jobId: string, code: string, since: number, statusReason: string | null, detail: string | null): Promise<void> {
  await RECORD_WAIT.run(db, [code, since, statusReason, detail, jobId]);
}

/** The instance of a job's latest attempt, if it has one. */
export async function latestAttemptInstance(db: Reader, jobId: string): Promise<string | undefined> {
  const a = await db.selectFrom('attempts').select('instance_id').where('job_id', '=', jobId).orderBy('attempt', 'desc').limit(1).executeTakeFirst();
  return a?.instance_id ?? undefined;
}

/** Jobs whose attempt is STARTING/RUNNING on the given instances (agent loss, recovery). */
export async function activeAttemptsOn(db: Reader, instanceIds: string[]): Promise<AttemptRow[]> {
  if (instanceIds.length === 0) return [];
  return db.selectFrom('attempts').selectAll().where('instance_id', 'in', instanceIds).where('status', 'in', ['STARTING', 'RUNNING']).execute();
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
