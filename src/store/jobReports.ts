/**
 * Read-only views of the jobs table for the dashboard: what AWS Batch has no operation for
 * (jobs across every queue, throughput, failures by reason, the state of every index of an
 * array, who depends on a job). Nothing here writes; jobs.ts owns every write.
 *
 * Each query is shaped for an index so that it stays fast with a million jobs:
 * - a jobs page walks `seq` (submission order) backwards from a cursor with
 *   jobs_queue_seq, jobs_queue_status_seq or jobs_status_seq, one query per state, and stops
 *   after a page; a time window becomes a `seq` range through jobs_created;
 * - throughput and failures read only the jobs that ended in the window (jobs_status_stopped);
 * - an array's states read its child rows (jobs_parent), the rest are children not yet created.
 */
import { jobKind } from '../model/jobKind.js';
import { sql } from 'kysely';
import type { Db } from './db.js';
import { getJobs, unbornChildStatus, type JobRow } from './jobs.js';
import { nameMatches } from './like.js';
import { fromJson } from './json.js';
import type { Tx } from './unitOfWork.js';

type Reader = Tx['db'] | Db;

/** The columns a row of the jobs table shows. */
export type JobListRow = Pick<
  JobRow,
  'seq' | 'id' | 'name' | 'queue' | 'status' | 'status_reason' | 'wait_code' | 'created_at' | 'started_at' | 'stopped_at' | 'array_size' | 'array_succeeded' | 'array_failed' | 'exit_code' | 'attempt_count'
>;

const LIST_COLUMNS = ['seq', 'id', 'name', 'queue', 'status', 'status_reason', 'wait_code', 'created_at', 'started_at', 'stopped_at', 'array_size', 'array_succeeded', 'array_failed', 'exit_code', 'attempt_count'] as const;

export interface JobPageFilter {
  queue?: string;
  statuses?: string[];
  /** case-insensitive name; a trailing `*` matches by prefix */
  namePattern?: string;
  /** created at or after (epoch ms) */
  createdFrom?: number;
  /** created before (epoch ms) */
  createdTo?: number;
  /** the page continues below this seq (the last row of the previous page) */
  beforeSeq?: number;
  limit: number;
}

/**
 * Submissions are numbered in commit order while their created_at comes from the clock a
 * moment earlier, so the two can disagree by the length of a commit. A time bound becomes a
 * seq bound taken over this much slack, and the exact created_at test still applies.
 */
const SEQ_SLACK_MS = 60_000;

/**
 * A name filter cannot use an index (it matches a prefix of lower(name)), so with it a page
 * reads at most this many submissions' worth of rows, newest first, and answers with what it
 * found and where to resume: every request stays cheap, and paging on searches further back.
 */
const NAME_SCAN_ROWS = 200_000;

export interface JobPage {
  rows: JobListRow[];
  /** the cursor of the next (older) page; null when no older job can match */
  resumeBefore: number | null;
}

/**
 * One page of top-level jobs (array children are reached through their parent), newest
 * first. A filter on several states runs one indexed query per state and merges them.
 */
export async function jobsPage(db: Reader, f: JobPageFilter): Promise<JobPage> {
  let minSeq = 0;
  let maxSeq = f.beforeSeq;
  if (f.createdFrom !== undefined) {
    const r = await db
      .selectFrom('jobs')
      .select((eb) => eb.fn.min<number>('seq').as('s'))
      .where('created_at', '>=', f.createdFrom)
      .where('created_at', '<', f.createdFrom + SEQ_SLACK_MS)
      .executeTakeFirst();
    if (r?.s != null) minSeq = Number(r.s);
    else {
      // nothing in the first minute of the window: start at the first job created after it
      const first = await db.selectFrom('jobs').select('seq').where('created_at', '>=', f.createdFrom).orderBy('created_at').limit(1).executeTakeFirst();
      if (!first) return { rows: [], resumeBefore: null };
      minSeq = Number(first.seq);
    }
  }
  if (f.createdTo !== undefined) {
    const r = await db
      .selectFrom('jobs')
      .select((eb) => eb.fn.max<number>('seq').as('s'))
      .where('created_at', '<', f.createdTo)
      .where('created_at', '>=', f.createdTo - SEQ_SLACK_MS)
      .executeTakeFirst();
    let bound = r?.s != null ? Number(r.s) : undefined;
    if (bound === undefined) {
      const last = await db.selectFrom('jobs').select('seq').where('created_at', '<', f.createdTo).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
      if (!last) return { rows: [], resumeBefore: null };
      bound = Number(last.seq);
    }
    maxSeq = maxSeq === undefined ? bound + 1 : Math.min(maxSeq, bound + 1);
  }
  const statuses = f.statuses?.length ? [...new Set(f.statuses)] : [undefined];
  const query = async (lo: number, hi: number | undefined, limit: number) => {
    const one = (status: string | undefined) => {
      // coalesce: `parent_id IS NULL` would lead the planner to the parent index and a sort of
      // every top-level job; walking seq backwards and skipping children stops after a page
      let q = db.selectFrom('jobs').select([...LIST_COLUMNS]).where(sql<boolean>`coalesce(${sql.ref('parent_id')}, '') = ''`);
      if (f.queue !== undefined) q = q.where('queue', '=', f.queue);
      if (status !== undefined) q = q.where('status', '=', status);
      if (f.namePattern !== undefined) q = q.where(nameMatches('name', f.namePattern));
      if (f.createdFrom !== undefined) q = q.where('created_at', '>=', f.createdFrom);
      if (f.createdTo !== undefined) q = q.where('created_at', '<', f.createdTo);
      if (lo > 0) q = q.where('seq', '>=', lo);
      if (hi !== undefined) q = q.where('seq', '<', hi);
      return q.orderBy('seq', 'desc').limit(limit).execute() as Promise<JobListRow[]>;
    };
    const rows = (await Promise.all(statuses.map(one))).flat().map((r) => ({ ...r, seq: Number(r.seq) }));
    return rows.sort((a, b) => b.seq - a.seq).slice(0, limit);
  };
  if (f.namePattern === undefined) {
    const rows = await query(minSeq, maxSeq, f.limit + 1);
    return { rows: rows.slice(0, f.limit), resumeBefore: rows.length > f.limit ? rows[f.limit - 1].seq : null };
  }
  let hi = maxSeq ?? Number((await db.selectFrom('jobs').select((eb) => eb.fn.max<number>('seq').as('s')).executeTakeFirst())?.s ?? 0) + 1;
  const lo = Math.max(minSeq, hi - NAME_SCAN_ROWS);
  const rows = await query(lo, hi, f.limit + 1);
  if (rows.length > f.limit) return { rows: rows.slice(0, f.limit), resumeBefore: rows[f.limit - 1].seq };
  hi = lo;
  return { rows, resumeBefore: hi > Math.max(minSeq, 1) ? hi : null };
}

/** Jobs that ended per queue, minute and outcome since `since` (array parents excluded: they run nothing). */
export async function endedPerMinute(db: Reader, since: number): Promise<{ queue: string; status: string; minute: number; count: number }[]> {
  const minute = sql<number>`${sql.ref('stopped_at')} / 60000`;
  const rows = await db
    .selectFrom('jobs')
    .select(['queue', 'status', minute.as('minute'), (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', 'in', ['SUCCEEDED', 'FAILED'])
    .where('stopped_at', '>=', since)
    .where((eb) => eb.or([eb('array_size', 'is', null), eb('parent_id', 'is not', null)]))
    .groupBy(['queue', 'status', minute])
    .execute();
  return rows.map((r) => ({ queue: r.queue, status: r.status, minute: Math.floor(Number(r.minute)), count: Number(r.n) }));
}

/** Jobs that failed since `since`, per queue, reason and exit code, most frequent first. */
export async function failuresByReason(db: Reader, since: number): Promise<{ queue: string; reason: string | null; exitCode: number | null; count: number }[]> {
  const rows = await db
    .selectFrom('jobs')
    .select(['queue', 'status_reason', 'exit_code', (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', '=', 'FAILED')
    .where('stopped_at', '>=', since)
    .groupBy(['queue', 'status_reason', 'exit_code'])
    .execute();
  return rows
    .map((r) => ({ queue: r.queue, reason: r.status_reason, exitCode: r.exit_code === null ? null : Number(r.exit_code), count: Number(r.n) }))
    .sort((a, b) => b.count - a.count);
}

/** vCPUs held by STARTING and RUNNING jobs, per compute environment. */
export async function vcpusInUseByCe(db: Reader): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('jobs')
    .select(['ce_name', (eb) => eb.fn.sum<number>('vcpus').as('v')])
    .where('status', 'in', ['STARTING', 'RUNNING'])
    .where('ce_name', 'is not', null)
    .groupBy('ce_name')
    .execute();
  return new Map(rows.map((r) => [r.ce_name as string, Number(r.v)]));
}

/**
 * The status of every index of an array, in index order: child rows as they are, children
 * not created yet as arrayStatusSummary counts them. Null when `parent` is not an array parent.
 */
export async function arrayIndexStates(db: Reader, parent: JobRow): Promise<string[] | null> {
  if (jobKind(parent) !== 'arrayParent') return null;
  const size = parent.array_size!;
  const states = new Array<string>(size).fill(unbornChildStatus(parent));
  const rows = await db.selectFrom('jobs').select(['array_index', 'status']).where('parent_id', '=', parent.id).execute();
  for (const r of rows) if (r.array_index !== null && r.array_index < size) states[Number(r.array_index)] = r.status;
  return states;
}

export interface GraphNode {
  id: string;
  name: string;
  status: string;
  arraySize: number | null;
}

/**
 * A job's dependency neighbourhood: the jobs it waits on and the jobs that wait on it, up to
 * `depth` steps each way and at most `maxNodes` jobs. Edges point from a dependency to its
 * dependent (render → stitch). Upstream comes from each job's dependsOn; downstream from the
 * job_dependencies primary key (depends_on_id, job_id).
 */
export async function dependencyNeighbourhood(
  db: Reader,
  jobId: string,
  depth = 2,
  maxNodes = 60,
): Promise<{ nodes: GraphNode[]; edges: { from: string; to: string; type: string | null }[]; truncated: boolean }> {
  const nodes = new Map<string, JobRow>();
  const edges = new Map<string, { from: string; to: string; type: string | null }>();
  let truncated = false;
  const [start] = await getJobs(db, [jobId]);
  if (!start) return { nodes: [], edges: [], truncated };
  nodes.set(start.id, start);
  let up = [start];
  let down = [start.id];
  for (let d = 0; d < depth; d++) {
    const upIds: string[] = [];
    for (const j of up) {
      for (const dep of fromJson<{ jobId?: string; type?: string }[]>(j.depends_on, [])) {
        if (!dep.jobId) continue;
        edges.set(`${dep.jobId}>${j.id}`, { from: dep.jobId, to: j.id, type: dep.type ?? null });
        if (!nodes.has(dep.jobId)) upIds.push(dep.jobId);
      }
    }
    const downRows = down.length
      ? await db
          .selectFrom('job_dependencies')
          .innerJoin('jobs', 'jobs.id', 'job_dependencies.job_id')
          .select(['job_dependencies.job_id', 'job_dependencies.depends_on_id', 'job_dependencies.type', 'jobs.parent_id', 'jobs.array_size', 'jobs.num_nodes', 'jobs.node_index'])
          .where('job_dependencies.depends_on_id', 'in', down)
          .limit(maxNodes + 1)
          .execute()
      : [];
    const downIds: string[] = [];
    for (const e of downRows) {
      // an array's children depend on each other's rows; the graph stays at the level of the jobs a person submitted
      if (jobKind(e) === 'arrayChild' && jobKind(start) !== 'arrayChild') continue;
      edges.set(`${e.depends_on_id}>${e.job_id}`, { from: e.depends_on_id, to: e.job_id, type: e.type });
      if (!nodes.has(e.job_id)) downIds.push(e.job_id);
    }
    const room = maxNodes - nodes.size;
    const wanted = [...new Set([...upIds, ...downIds])];
    if (wanted.length > room) truncated = true;
    const fetched = await getJobs(db, wanted.slice(0, Math.max(0, room)));
    for (const j of fetched) nodes.set(j.id, j);
    up = fetched.filter((j) => upIds.includes(j.id));
    down = fetched.filter((j) => downIds.includes(j.id)).map((j) => j.id);
  }
  return {
    nodes: [...nodes.values()].map((j) => ({ id: j.id, name: j.name, status: j.status, arraySize: jobKind(j) === 'arrayParent' ? j.array_size : null })),
    edges: [...edges.values()].filter((e) => nodes.has(e.from) && nodes.has(e.to)),
    truncated,
  };
}
