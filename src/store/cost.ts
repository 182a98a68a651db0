/**
 * Cost reports: the attempts that reserved capacity in a time range, with the resources they
 * reserved and their rate (fixed at placement, model/cost.ts), summed per group.
 *
 * An attempt counts for the part of its reservation inside the range: from placement
 * (attempts.created_at) to its end (stopped_at; now for one still running). Groups:
 *   job     a job as ListJobs lists it: the nodes of a multi-node job and the children of an
 *           array job count for their parent — except under `jobId` naming that array,
 *           where each child is a row of its own (the drill-down into one array)
 *   array   an array job (its children's attempts); jobs outside arrays are one group
 *   queue   the job queue
 *   share   the fair-share identifier
 *   tag:K   the value of tag K (array children and nodes carry their parent's tags)
 * Lost work is the cost of attempts whose host went away under them (Spot interruptions,
 * agent losses): capacity paid for and then thrown away.
 *
 * Used against asked: for the attempts whose CPU time and peak memory were measured
 * (store/attemptUsage.ts), what they used beside what they reserved while their processes ran
 * (from started_at to their end, or to their latest figures while they run), the part inside
 * the range.
 */
import { jobKind } from '../model/jobKind.js';
import type { CostRow } from '../model/cost.js';
import { isLostWork } from '../model/cost.js';
import type { Db } from './db.js';
import { fromJson } from './json.js';

export type CostGroup = 'job' | 'array' | 'queue' | 'share' | `tag:${string}`;

export interface CostQuery {
  /** epoch ms, inclusive / exclusive */
  from: number;
  to: number;
  groupBy: CostGroup;
  /** only this job (with its array children or nodes) */
  jobId?: string;
  queue?: string;
  now: number;
}

export const NOT_AN_ARRAY = '(not an array)';
const NONE = '(none)';

export async function costReport(db: Db, q: CostQuery): Promise<{ rows: CostRow[]; total: CostRow }> {
  let query = db
    .selectFrom('attempts as a')
    .innerJoin('jobs as j', 'j.id', 'a.job_id')
    .select([
      'a.job_id',
      'a.created_at',
      'a.stopped_at',
      'a.vcpus',
      'a.memory_mib',
      'a.gpus',
      'a.rate_per_hour',
      'a.pricing',
      'a.status_reason',
      'a.started_at',
      'a.cpu_seconds',
      'a.peak_memory_bytes',
      'a.usage_at',
      'j.name',
      'j.parent_id',
      'j.node_index',
      'j.array_size',
      'j.num_nodes',
      'j.array_index',
      'j.queue',
      'j.share_identifier',
      'j.tags',
      'j.vcpus as job_vcpus',
      'j.memory_mib as job_memory_mib',
      'j.gpus as job_gpus',
    ])
    .where('a.created_at', '<', q.to)
    .where((eb) => eb.or([eb('a.stopped_at', 'is', null), eb('a.stopped_at', '>', q.from)]));
  if (q.queue) query = query.where('j.queue', '=', q.queue);
  if (q.jobId) query = query.where((eb) => eb.or([eb('j.id', '=', q.jobId!), eb('j.parent_id', '=', q.jobId!)]));
  const attempts = await query.execute();

  // Array children and nodes carry their parent's tags and name.
  const parentIds = [...new Set(attempts.map((a) => a.parent_id).filter((p): p is string => !!p))];
  const parents = new Map<string, { name: string; tags: string }>();
  for (let i = 0; i < parentIds.length; i += 500) {
    for (const p of await db.selectFrom('jobs').select(['id', 'name', 'tags']).where('id', 'in', parentIds.slice(i, i + 500)).execute()) parents.set(p.id, p);
  }

  const groups = new Map<string, CostRow>();
  const total = emptyRow('total');
  for (const a of attempts) {
    const start = Math.max(Number(a.created_at), q.from);
    const end = Math.min(a.stopped_at === null ? q.now : Number(a.stopped_at), q.to);
    const seconds = Math.max(0, end - start) / 1000;
    // Attempts recorded before reservations were kept (migration 010) use the job's.
    const vcpus = a.vcpus ?? Number(a.job_vcpus);
    const mem = a.memory_mib ?? Number(a.job_memory_mib);
    const gpus = a.gpus ?? Number(a.job_gpus);
    const cost = ((a.rate_per_hour ?? 0) * seconds) / 3600;
    const lost = isLostWork(a.status_reason);
    const parent = a.parent_id ? parents.get(a.parent_id) : undefined;
    let key: string;
    let name: string | undefined;
    const g = q.groupBy;
    if (g === 'job') {
      const kind = jobKind(a);
      const rolledUp = kind === 'node' || (kind === 'arrayChild' && q.jobId !== a.parent_id);
      key = rolledUp ? a.parent_id! : a.job_id;
      name = rolledUp ? parent?.name : a.name;
    } else if (g === 'array') {
      key = a.array_index !== null && a.parent_id ? a.parent_id : NOT_AN_ARRAY;
      name = a.array_index !== null ? parent?.name : undefined;
    } else if (g === 'queue') key = a.queue;
    else if (g === 'share') key = a.share_identifier ?? NONE;
    else {
      const tags = fromJson<Record<string, string>>(parent?.tags ?? a.tags, {});
      key = tags[g.slice(4)] ?? NONE;
    }
    const row = groups.get(key) ?? groups.set(key, { ...emptyRow(key), name }).get(key)!;
    const used = usedInRange(a, vcpus, mem, q);
    for (const r of [row, total]) {
      if (used) {
        r.measuredAttempts += 1;
        r.cpuSecondsUsed += used.cpuSeconds;
        r.vcpuSecondsWhileRunning += used.vcpuSeconds;
        r.peakGibSeconds += used.peakGibSeconds;
        r.gibSecondsWhileRunning += used.gibSeconds;
      }
      r.attempts += 1;
      r.vcpuSeconds += vcpus * seconds;
      r.gibSeconds += (mem / 1024) * seconds;
      r.gpuSeconds += gpus * seconds;
      r.cost += cost;
      if (lost) {
        r.lostCost += cost;
        r.lostAttempts += 1;
      }
      if (a.pricing === null) r.unpriced += 1;
    }
  }
  const rows = [...groups.values()].sort((x, y) => y.cost - x.cost || y.vcpuSeconds - x.vcpuSeconds || x.key.localeCompare(y.key));
  return { rows, total };
}

function emptyRow(key: string): CostRow {
  return {
    key,
    attempts: 0,
    vcpuSeconds: 0,
    gibSeconds: 0,
    gpuSeconds: 0,
    cost: 0,
    lostCost: 0,
    lostAttempts: 0,
    unpriced: 0,
    measuredAttempts: 0,
    cpuSecondsUsed: 0,
    vcpuSecondsWhileRunning: 0,
    peakGibSeconds: 0,
    gibSecondsWhileRunning: 0,
  };
}

/** A measured attempt's use and what it reserved while it ran, the part inside the range (see the file comment); undefined: not measured. */
function usedInRange(
  a: { started_at: number | null; stopped_at: number | null; usage_at: number | null; cpu_seconds: number | null; peak_memory_bytes: number | null },
  vcpus: number,
  memoryMiB: number,
  q: CostQuery,
): { cpuSeconds: number; vcpuSeconds: number; peakGibSeconds: number; gibSeconds: number } | undefined {
  if (a.started_at === null || a.usage_at === null || a.cpu_seconds === null || a.peak_memory_bytes === null) return undefined;
  const start = Number(a.started_at);
  const end = a.stopped_at === null ? Number(a.usage_at) : Number(a.stopped_at);
  if (end <= start) return undefined;
  const inside = Math.max(0, Math.min(end, q.to) - Math.max(start, q.from)) / 1000;
  const share = inside / ((end - start) / 1000);
  return {
    cpuSeconds: Number(a.cpu_seconds) * share,
    vcpuSeconds: vcpus * inside,
    peakGibSeconds: (Number(a.peak_memory_bytes) / 1024 ** 3) * inside,
    gibSeconds: (memoryMiB / 1024) * inside,
  };
}
