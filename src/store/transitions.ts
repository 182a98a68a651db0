/**
 * The one writer of job status. Every job that comes into being and every status change goes
 * through this file: `createJobs` inserts new rows (SubmitJob's in SUBMITTED; array children
 * and gang nodes already past it), `applyTransitions` applies a batch of changes. Callers
 * decide (admission, placement, agent reports, gangs, cancel, terminate); this file writes.
 *
 * applyTransitions(tx, changes, now):
 *   1. checks each change against the state machine (model/jobStateMachine.ts) and makes its
 *      event; several changes of one job in a batch (STARTING → RUNNING → SUCCEEDED, as one
 *      agent report batch can say) are one write from the first status to the last;
 *   2. writes them grouped by from → to and columns into fixed statements: one `… WHERE
 *      status = ? AND id IN (…)` where every job of the group gets the same values, else one
 *      prepared `… WHERE id = ? AND status = ?` per job;
 *   3. checks that each statement changed exactly the rows it was given: a job no longer in
 *      the status the caller read is a bug of ours, and the transaction rolls back;
 *   4. emits the events, in the order of the changes (published after the commit);
 *   5. follows what the jobs that ended cause (`settle`), level by level, set-wise:
 *      - a SUCCEEDED job counts off its dependents' pending dependencies; those with none
 *        left become RUNNABLE (an array parent stays PENDING: its children are made next);
 *      - a FAILED job fails its PENDING dependents with "Dependent Job failed", and theirs;
 *      - an array parent that FAILED before all its children existed gets them, FAILED with
 *        its reason, so that every index answers;
 *      - an array child that ended counts on its parent; the last one decides the parent:
 *        SUCCEEDED when every child did, else FAILED.
 *      Nodes of multi-node jobs have no dependents and count on nothing: their gang's rules
 *      are store/gangs.ts's, which decides with transitions like everyone else.
 *
 * Dependencies: `job_dependencies` holds one edge per (job, dependency); `jobs.pending_deps`
 * counts the dependencies not yet SUCCEEDED. N_TO_N edges bind children to children; the
 * parent-level N_TO_N edge that SubmitJob records blocks nothing.
 */
import { serverError } from '../model/errors.js';
import { jobKind, type JobKind } from '../model/jobKind.js';
import { isFinal, reopenNode, submitted, transition, type JobStateChange, type JobStatus } from '../model/jobStateMachine.js';
import { REASONS } from '../model/reasons.js';
import type { NewJob } from '../model/submission.js';
import { arrayDepsOf, getJob, newJobRow, type JobRow, type NewJobRow } from './jobs.js';
import { toJson } from './json.js';
import type { JobTable } from './schema.js';
import { FixedStatement, InListStatement, placeholders } from './statementCache.js';
import type { Tx } from './unitOfWork.js';

/** The columns a status change may write besides status, status_reason, updated_at, runnable_at and stopped_at. */
export type StatusColumns = Partial<
  Pick<
    JobTable,
    | 'started_at'
    | 'stopped_at'
    | 'exit_code'
    | 'instance_id'
    | 'ce_name'
    | 'attempt_count'
    | 'log_stream_name'
    | 'wait_code'
    | 'wait_since'
    | 'pending_deps'
    | 'stopped_by'
  >
>;

/** Every StatusColumns key, in the order statements list them (the type makes it complete). */
const SET_COLUMNS = Object.keys({
  started_at: 1,
  stopped_at: 1,
  exit_code: 1,
  instance_id: 1,
  ce_name: 1,
  attempt_count: 1,
  log_stream_name: 1,
  wait_code: 1,
  wait_since: 1,
  pending_deps: 1,
  stopped_by: 1,
} satisfies Record<keyof StatusColumns, 1>) as (keyof StatusColumns)[];

/** The columns that tell a job's kind (model/jobKind.ts). */
type KindColumns = Pick<JobRow, 'parent_id' | 'array_size' | 'num_nodes' | 'node_index'>;

/**
 * A job as the caller read it: `status` is what the write expects to find. With its kind
 * columns the writer needs no read of its own to follow what the job's end causes.
 */
export type JobRef = Pick<JobRow, 'id' | 'status'> & Partial<KindColumns>;

/** One status change of one job. */
export interface Transition {
  job: JobRef;
  to: JobStatus;
  statusReason: string | null;
  /** columns written with the status */
  set?: StatusColumns;
  /** a node of a gang going back to RUNNABLE for the gang's next attempt, from wherever it was (model: reopenNode) */
  reopen?: true;
}

/** A job that reached SUCCEEDED or FAILED, with what its end causes to be followed. */
export interface Ended {
  id: string;
  status: 'SUCCEEDED' | 'FAILED';
  statusReason: string | null;
  kind: JobKind;
  parentId: string | null;
}

/** Applies a batch of status changes and everything their ends cause. See the file comment. */
export async function applyTransitions(tx: Tx, changes: Transition[], now: number): Promise<void> {
  if (changes.length) await settle(tx, await write(tx, changes, now), now);
}

interface Write {
  ref: JobRef;
  guard: JobStatus;
  to: JobStatus;
  statusReason: string | null;
  set: StatusColumns;
  reopen: boolean;
}

/** Steps 1–4: checks, writes and emits; returns the jobs that ended. */
async function write(tx: Tx, changes: Transition[], now: number): Promise<Ended[]> {
  const byJob = new Map<string, Write>();
  const writes: Write[] = [];
  const events: JobStateChange[] = [];
  for (const c of changes) {
    const w = byJob.get(c.job.id);
    const from = c.job.status as JobStatus;
    if (w && w.to !== from) throw serverError(`internal: job ${c.job.id} changes from ${from} in a batch that left it ${w.to}`);
    events.push(c.reopen ? reopenNode(c.job.id, hasKind(c.job) ? jobKind(c.job) : 'job', from, now) : transition(c.job.id, from, c.to, c.statusReason, now));
    if (w) {
      w.to = c.to;
      w.statusReason = c.statusReason;
      w.reopen ||= c.reopen === true;
      Object.assign(w.set, c.set);
    } else {
      const nw: Write = { ref: c.job, guard: from, to: c.to, statusReason: c.statusReason, set: { ...c.set }, reopen: c.reopen === true };
      byJob.set(c.job.id, nw);
      writes.push(nw);
    }
  }
  const groups = new Map<string, { columns: (keyof StatusColumns)[]; guard: JobStatus; to: JobStatus; rows: { id: string; values: unknown[] }[] }>();
  for (const w of writes) {
    const final = isFinal(w.to);
    if (final) w.set.stopped_at ??= now;
    const columns = SET_COLUMNS.filter((c) => w.set[c] !== undefined);
    const key = `${w.guard}>${w.to}|${columns.join(',')}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { columns, guard: w.guard, to: w.to, rows: [] }));
    g.rows.push({ id: w.ref.id, values: [w.statusReason, ...columns.map((c) => w.set[c])] });
  }
  for (const g of groups.values()) {
    let changed = 0;
    const statements = statementsFor(g.columns, g.to === 'RUNNABLE');
    // runnable_at is now for RUNNABLE: bound after updated_at
    const head = (values: unknown[]) => (g.to === 'RUNNABLE' ? [g.to, values[0], now, now, ...values.slice(1)] : [g.to, values[0], now, ...values.slice(1)]);
    if (g.rows.length > 1 && g.rows.every((r) => sameValues(r.values, g.rows[0].values))) {
      changed = await statements.many.exec(tx.db, g.rows.map((r) => r.id), [...head(g.rows[0].values), g.guard]);
    } else {
      for (const r of g.rows) changed += await statements.one.exec(tx.db, [...head(r.values), r.id, g.guard]);
    }
    if (changed !== g.rows.length) {
      throw serverError(`internal: ${g.rows.length - changed} of ${g.rows.length} jobs were no longer ${g.guard} when changed to ${g.to} (e.g. ${g.rows[0].id})`);
    }
  }
  for (const e of events) tx.emit(e);
  const ended = writes.filter((w) => (w.to === 'SUCCEEDED' || w.to === 'FAILED') && !w.reopen);
  const missing = ended.filter((w) => !hasKind(w.ref)).map((w) => w.ref.id);
  const kinds = new Map<string, KindColumns>();
  for (const r of await KIND_COLUMNS.all<KindColumns & { id: string }>(tx.db, missing)) kinds.set(r.id, r);
  return ended.map((w) => {
    const k = hasKind(w.ref) ? w.ref : kinds.get(w.ref.id)!;
    return { id: w.ref.id, status: w.to as Ended['status'], statusReason: w.statusReason, kind: jobKind(k), parentId: k.parent_id };
  });
}

function hasKind(r: JobRef): r is JobRef & KindColumns {
  return r.parent_id !== undefined && r.array_size !== undefined && r.num_nodes !== undefined && r.node_index !== undefined;
}

function sameValues(a: unknown[], b: unknown[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const KIND_COLUMNS = new InListStatement((list) => `SELECT id, parent_id, array_size, num_nodes, node_index FROM jobs WHERE id IN (${list})`);

const statementCache = new Map<string, { one: FixedStatement<never>; many: InListStatement }>();

/** The two statements of a group: one job at a time, and every job of a list at once. */
function statementsFor(columns: (keyof StatusColumns)[], runnable: boolean): { one: FixedStatement<never>; many: InListStatement } {
  const key = `${runnable ? 'R' : '-'}${columns.join(',')}`;
  let s = statementCache.get(key);
  if (!s) {
    const set = ['status = ?', 'status_reason = ?', 'updated_at = ?', ...(runnable ? ['runnable_at = ?'] : []), ...columns.map((c) => `${c} = ?`)].join(', ');
    s = {
      one: new FixedStatement<never>(`UPDATE jobs SET ${set} WHERE id = ? AND status = ?`),
      many: new InListStatement((list) => `UPDATE jobs SET ${set} WHERE status = ? AND id IN (${list})`),
    };
    statementCache.set(key, s);
  }
  return s;
}

/** Step 5: follows what ended jobs cause until nothing more does. */
export async function settle(tx: Tx, ended: Ended[], now: number): Promise<void> {
  while (ended.length) {
    const counted = ended.filter((e) => e.kind !== 'node');
    const next: Transition[] = [
      ...(await released(tx, counted.filter((e) => e.status === 'SUCCEEDED').map((e) => e.id))),
      ...(await failedDependents(tx, counted.filter((e) => e.status === 'FAILED').map((e) => e.id))),
    ];
    const created: Ended[] = [];
    for (const e of counted) {
      if (e.kind === 'arrayParent' && e.status === 'FAILED') created.push(...(await failUnbornChildren(tx, e.id, e.statusReason ?? REASONS.dependentJobFailed, now)));
    }
    next.push(...(await rolledUp(tx, counted.filter((e) => e.kind === 'arrayChild'), now)));
    ended = [...created, ...(await write(tx, next, now))];
  }
}

const RELEASED = new InListStatement(
  (list) =>
    'SELECT d.job_id, j.status, j.pending_deps, j.parent_id, j.array_size, j.num_nodes, j.node_index, count(*) AS n' +
    ' FROM job_dependencies d JOIN jobs j ON j.id = d.job_id' +
    ` WHERE d.depends_on_id IN (${list}) AND j.status = 'PENDING' AND (d.type IS NULL OR d.type <> 'N_TO_N' OR j.parent_id IS NOT NULL)` +
    ' GROUP BY d.job_id, j.status, j.pending_deps, j.parent_id, j.array_size, j.num_nodes, j.node_index',
);
const COUNT_OFF = new InListStatement((list) => `UPDATE jobs SET pending_deps = pending_deps - ? WHERE status = 'PENDING' AND id IN (${list})`);

/** Dependencies succeeded: counts them off their dependents; those with none left become RUNNABLE. */
async function released(tx: Tx, succeeded: string[]): Promise<Transition[]> {
  if (succeeded.length === 0) return [];
  type Row = KindColumns & { job_id: string; status: string; pending_deps: number; n: number };
  const byJob = new Map<string, Row>();
  for (const r of await RELEASED.all<Row>(tx.db, succeeded)) {
    const seen = byJob.get(r.job_id);
    if (seen) seen.n += Number(r.n);
    else byJob.set(r.job_id, { ...r, n: Number(r.n) });
  }
  const byCount = new Map<number, string[]>();
  for (const r of byJob.values()) (byCount.get(r.n) ?? byCount.set(r.n, []).get(r.n)!).push(r.job_id);
  for (const [n, ids] of byCount) await COUNT_OFF.exec(tx.db, ids, [n]);
  const out: Transition[] = [];
  for (const r of byJob.values()) {
    // An array parent whose dependencies are met stays PENDING: expandArrays now creates its
    // children. Made RUNNABLE it would be placed and run as a job of its own.
    if (Number(r.pending_deps) - r.n > 0 || jobKind(r) === 'arrayParent') continue;
    out.push({ job: { id: r.job_id, status: r.status, parent_id: r.parent_id, array_size: r.array_size, num_nodes: r.num_nodes, node_index: r.node_index }, to: 'RUNNABLE', statusReason: null });
  }
  return out;
}

const FAILED_DEPENDENTS = new InListStatement(
  (list) =>
    'SELECT DISTINCT j.id, j.status, j.parent_id, j.array_size, j.num_nodes, j.node_index FROM job_dependencies d JOIN jobs j ON j.id = d.job_id' +
    ` WHERE d.depends_on_id IN (${list}) AND j.status = 'PENDING' AND (d.type IS NULL OR d.type <> 'N_TO_N' OR j.parent_id IS NOT NULL)`,
);

/** Dependencies failed: their PENDING dependents fail too (and theirs, at the next level). */
async function failedDependents(tx: Tx, failed: string[]): Promise<Transition[]> {
  if (failed.length === 0) return [];
  const seen = new Set<string>();
  const out: Transition[] = [];
  for (const r of await FAILED_DEPENDENTS.all<KindColumns & { id: string; status: string }>(tx.db, failed)) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    out.push({ job: r, to: 'FAILED', statusReason: REASONS.dependentJobFailed });
  }
  return out;
}

const COUNT_CHILDREN = new FixedStatement<never>('UPDATE jobs SET array_succeeded = array_succeeded + ?, array_failed = array_failed + ?, updated_at = ? WHERE id = ?');

/**
 * Counts ended children on their parents; the last one decides the parent: SUCCEEDED when
 * every child succeeded, FAILED otherwise (a cancelled or terminated array with the caller's
 * reason, as its children have it).
 */
async function rolledUp(tx: Tx, children: Ended[], now: number): Promise<Transition[]> {
  const counts = new Map<string, { succeeded: number; failed: number }>();
  for (const c of children) {
    const n = counts.get(c.parentId!) ?? counts.set(c.parentId!, { succeeded: 0, failed: 0 }).get(c.parentId!)!;
    if (c.status === 'SUCCEEDED') n.succeeded++;
    else n.failed++;
  }
  const out: Transition[] = [];
  for (const [parentId, n] of counts) {
    await COUNT_CHILDREN.exec(tx.db, [n.succeeded, n.failed, now, parentId]);
    const parent = (await getJob(tx.db, parentId))!;
    if (isFinal(parent.status)) continue;
    if ((parent.array_succeeded ?? 0) + (parent.array_failed ?? 0) < (parent.array_size ?? 0)) continue;
    if ((parent.array_failed ?? 0) === 0) out.push({ job: parent, to: 'SUCCEEDED', statusReason: null });
    else out.push({ job: parent, to: 'FAILED', statusReason: parent.stopped_by ? (parent.terminate_reason ?? REASONS.arrayChildFailed) : REASONS.arrayChildFailed });
  }
  return out;
}

/** Every column a job row has but `seq`, in the order of the insert statements' placeholders (the type makes it complete). */
const JOB_COLUMNS = Object.keys({
  id: 1, arn: 1, name: 1, queue: 1, queue_arn: 1, definition_arn: 1, status: 1, status_reason: 1, wait_code: 1, wait_since: 1, wait_detail: 1,
  created_at: 1, updated_at: 1, runnable_at: 1, started_at: 1, stopped_at: 1, spec: 1, depends_on: 1, pending_deps: 1,
  vcpus: 1, memory_mib: 1, gpus: 1, share_identifier: 1, scheduling_priority: 1, consumables: 1, max_attempts: 1,
  attempt_count: 1, timeout_seconds: 1, ce_name: 1, instance_id: 1, exit_code: 1, log_stream_name: 1, terminate_reason: 1,
  stopped_by: 1, array_size: 1, array_index: 1, parent_id: 1, array_materialized: 1, array_succeeded: 1, array_failed: 1,
  tags: 1, num_nodes: 1, node_index: 1,
} satisfies Record<keyof NewJobRow, 1>) as (keyof NewJobRow)[];

/** Rows per INSERT: 20 rows of 42 columns stay under every driver's limit of bound values. */
const INSERT_ROWS = 20;
const insertBySize = new Map<number, FixedStatement<never>>();

function insertStatement(rows: number): FixedStatement<never> {
  let s = insertBySize.get(rows);
  if (!s) {
    const one = `(${placeholders(JOB_COLUMNS.length)})`;
    s = new FixedStatement<never>(`INSERT INTO jobs (${JOB_COLUMNS.join(', ')}) VALUES ${new Array(rows).fill(one).join(', ')}`);
    insertBySize.set(rows, s);
  }
  return s;
}

/** A dependency edge: `jobId` waits on `dependsOnId`. */
export interface DependencyEdge {
  job_id: string;
  depends_on_id: string;
  type: string | null;
}

const insertEdgesBySize = new Map<number, FixedStatement<never>>();

/** Records dependency edges (an edge already there stays as it is). */
export async function insertEdges(tx: Tx, edges: DependencyEdge[]): Promise<void> {
  for (let i = 0; i < edges.length; i += 300) {
    const chunk = edges.slice(i, i + 300);
    let s = insertEdgesBySize.get(chunk.length);
    if (!s) {
      const values = new Array(chunk.length).fill('(?, ?, ?)').join(', ');
      insertEdgesBySize.set(chunk.length, (s = new FixedStatement<never>(`INSERT INTO job_dependencies (job_id, depends_on_id, type) VALUES ${values} ON CONFLICT DO NOTHING`)));
    }
    await s.exec(tx.db, chunk.flatMap((e) => [e.job_id, e.depends_on_id, e.type]));
  }
}

/**
 * Inserts new jobs and emits the events of their coming into being: SUBMITTED for what
 * SubmitJob accepted; rows created past SUBMITTED (array children, gang nodes) report the
 * step from SUBMITTED to their status, as AWS shows them.
 */
export async function createJobs(tx: Tx, rows: NewJobRow[], now: number): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_ROWS) {
    const chunk = rows.slice(i, i + INSERT_ROWS);
    await insertStatement(chunk.length).exec(tx.db, chunk.flatMap((row) => JOB_COLUMNS.map((c) => row[c] ?? null)));
  }
  for (const row of rows) {
    tx.emit(row.status === 'SUBMITTED' ? submitted(row.id, row.created_at) : transition(row.id, 'SUBMITTED', row.status as JobStatus, row.status_reason, now));
  }
}

/** Creates the job SubmitJob decided on (model/submission.ts), in SUBMITTED, with its dependency edges. */
export async function createSubmittedJob(tx: Tx, job: NewJob): Promise<void> {
  const array = job.arraySize !== null;
  await createJobs(
    tx,
    [
      newJobRow({
        id: job.id,
        arn: job.arn,
        name: job.name,
        queue: job.queue,
        queue_arn: job.queueArn,
        definition_arn: job.definitionArn,
        created_at: job.createdAt,
        spec: toJson(job.spec),
        depends_on: toJson(job.dependsOn),
        pending_deps: job.edges.length,
        vcpus: job.resources.vcpus,
        memory_mib: job.resources.memoryMiB,
        gpus: job.resources.gpus,
        share_identifier: job.shareIdentifier,
        scheduling_priority: job.schedulingPriority,
        consumables: job.consumables.length ? toJson(job.consumables) : null,
        max_attempts: job.maxAttempts,
        timeout_seconds: job.timeoutSeconds,
        array_size: job.arraySize,
        array_materialized: array ? 0 : null,
        array_succeeded: array ? 0 : null,
        array_failed: array ? 0 : null,
        tags: toJson(job.tags),
        num_nodes: job.numNodes,
      }),
    ],
    job.createdAt,
  );
  await insertEdges(tx, job.edges.map((e) => ({ job_id: job.id, depends_on_id: e.jobId, type: e.type })));
}

/**
 * Creates children [from, from+n) of an array parent. With `failReason` they are created
 * FAILED (a cancelled array, or one that failed before they existed), otherwise PENDING or
 * RUNNABLE by their dependencies (FAILED when one of those failed already). Returns the
 * children created FAILED, whose ends the caller settles.
 */
export async function createChildren(tx: Tx, p: JobRow, from: number, n: number, now: number, failReason: string | null): Promise<Ended[]> {
  const deps = arrayDepsOf(p.depends_on);
  const edges: DependencyEdge[] = [];
  const childId = (i: number) => `${p.id}:${i}`;
  for (let i = from; i < from + n && !failReason; i++) {
    for (const other of deps.nToN) edges.push({ job_id: childId(i), depends_on_id: `${other}:${i}`, type: 'N_TO_N' });
    if (deps.sequential && i > 0) edges.push({ job_id: childId(i), depends_on_id: childId(i - 1), type: 'SEQUENTIAL' });
  }
  const targets = [...new Set(edges.map((e) => e.depends_on_id))];
  const status = new Map<string, string>();
  for (const r of await STATUS_OF.all<{ id: string; status: string }>(tx.db, targets)) status.set(r.id, r.status);
  const edgesOf = new Map<string, DependencyEdge[]>();
  for (const e of edges) (edgesOf.get(e.job_id) ?? edgesOf.set(e.job_id, []).get(e.job_id)!).push(e);
  const rows: NewJobRow[] = [];
  const failed: Ended[] = [];
  const { seq: _seq, ...base } = p;
  for (let i = from; i < from + n; i++) {
    const mine = edgesOf.get(childId(i)) ?? [];
    // A child's predecessor created in this same batch is still pending, whatever its fate.
    const depFailed = mine.some((e) => status.get(e.depends_on_id) === 'FAILED');
    const pending = mine.filter((e) => status.get(e.depends_on_id) !== 'SUCCEEDED').length;
    const to: JobStatus = failReason || depFailed ? 'FAILED' : pending > 0 ? 'PENDING' : 'RUNNABLE';
    const reason = failReason ?? (depFailed ? REASONS.dependentJobFailed : null);
    if (to === 'FAILED') failed.push({ id: childId(i), status: 'FAILED', statusReason: reason, kind: 'arrayChild', parentId: p.id });
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
  }
  await createJobs(tx, rows, now);
  await insertEdges(tx, edges);
  await SET_MATERIALIZED.exec(tx.db, [from + n, now, p.id]);
  return failed;
}

const STATUS_OF = new InListStatement((list) => `SELECT id, status FROM jobs WHERE id IN (${list})`);
const SET_MATERIALIZED = new FixedStatement<never>('UPDATE jobs SET array_materialized = ?, updated_at = ? WHERE id = ?');

/** Creates the children of an array that do not exist yet as FAILED rows with `reason`; returns them to be settled. */
export async function failUnbornChildren(tx: Tx, parentId: string, reason: string, now: number): Promise<Ended[]> {
  const out: Ended[] = [];
  for (;;) {
    const current = (await getJob(tx.db, parentId))!;
    const from = current.array_materialized ?? 0;
    const remaining = (current.array_size ?? 0) - from;
    if (remaining <= 0) return out;
    out.push(...(await createChildren(tx, current, from, Math.min(1000, remaining), now, reason)));
  }
}
