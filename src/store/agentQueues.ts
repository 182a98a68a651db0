/**
 * What the scheduler reads about work queued on agents (scheduler/schedule.ts, steps 8 and
 * 9): the STARTING jobs of instances, in the order their agent starts them, and how long the
 * jobs of each compute environment ran lately, from which the depth of its agents' queues
 * follows (scheduler/queueDepth.ts).
 */
import type { Reader } from './jobs.js';
import { FixedStatement, InListStatement } from './statementCache.js';

/** A STARTING job on an instance, with what the scheduler orders and sizes it by. */
export interface StartingJob {
  id: string;
  seq: number;
  queue: string;
  share_identifier: string | null;
  scheduling_priority: number;
  vcpus: number;
  memory_mib: number;
  gpus: number;
  /** a node of a multi-node job: never queued work */
  node_index: number | null;
  instance_id: string;
  /** being terminated: it ends at its agent, it is not taken back */
  terminate_reason: string | null;
  /** already asked for (store/withdrawals.ts) */
  withdraw_at: number | null;
}

const STARTING_ON = new InListStatement(
  (list) =>
    'SELECT j.id, j.seq, j.queue, j.share_identifier, j.scheduling_priority, j.vcpus, j.memory_mib, j.gpus, j.node_index, j.instance_id, j.terminate_reason, a.withdraw_at' +
    ' FROM jobs j JOIN attempts a ON a.job_id = j.id AND a.attempt = j.attempt_count' +
    ` WHERE j.instance_id IN (${list}) AND j.status = 'STARTING' ORDER BY a.created_at, j.seq`,
);

/** The STARTING jobs on these instances, in placement order (the order their agents start them in). */
export async function startingOn(db: Reader, instanceIds: readonly string[]): Promise<StartingJob[]> {
  if (instanceIds.length === 0) return [];
  const rows = await STARTING_ON.all<StartingJob>(db, instanceIds);
  // The IN list is padded by repeating its last value: a row may come twice.
  const seen = new Set<string>();
  return rows.filter((r) => !seen.has(r.id) && seen.add(r.id));
}

/** How long the jobs of one compute environment ran lately. */
export interface RunTimes {
  /** jobs seen */
  jobs: number;
  /** mean time from RUNNING to the end, ms */
  meanMs: number;
  /** mean vCPUs per job */
  meanVcpus: number;
}

const RECENT = new FixedStatement<{ ce_name: string | null; ms: number; vcpus: number }>(
  'SELECT ce_name, stopped_at - started_at AS ms, vcpus FROM jobs WHERE status = ? AND stopped_at >= ? AND started_at IS NOT NULL AND node_index IS NULL ORDER BY stopped_at DESC LIMIT ?',
);

/**
 * Run times of the jobs that ended since `since` (the latest `limit` of each outcome), per
 * compute environment. Reads the (status, stopped_at) index backwards: its cost is the
 * limit's, not the number of jobs kept.
 */
export async function recentRunTimes(db: Reader, since: number, limit: number): Promise<Map<string, RunTimes>> {
  const sums = new Map<string, { jobs: number; ms: number; vcpus: number }>();
  for (const status of ['SUCCEEDED', 'FAILED']) {
    for (const r of await RECENT.run(db, [status, since, limit])) {
      if (r.ce_name === null) continue;
      const s = sums.get(r.ce_name) ?? sums.set(r.ce_name, { jobs: 0, ms: 0, vcpus: 0 }).get(r.ce_name)!;
      s.jobs++;
      s.ms += Math.max(0, Number(r.ms));
      s.vcpus += Number(r.vcpus);
    }
  }
  return new Map([...sums].map(([ce, s]) => [ce, { jobs: s.jobs, meanMs: s.ms / s.jobs, meanVcpus: s.vcpus / s.jobs }]));
}
