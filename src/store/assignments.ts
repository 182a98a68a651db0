/**
 * What the agents' hub reads of the attempts placed on an instance: the live attempts to
 * hand out or stop (each with the job columns its assignment is built from), the log stream
 * an attempt's lines go to, and where a gang's main node runs.
 */
import type { Db } from './db.js';
import type { JobRow, Reader } from './jobs.js';
import { providerDataOf } from './instances.js';
import { DEFAULT_LOG_GROUP } from './logEvents.js';

/** A live (STARTING or RUNNING) attempt on an instance, with the job columns its assignment needs. */
export type ActiveAttempt = Pick<
  JobRow,
  'arn' | 'definition_arn' | 'spec' | 'name' | 'queue' | 'array_index' | 'array_size' | 'timeout_seconds' | 'vcpus' | 'memory_mib' | 'gpus' | 'terminate_reason' | 'node_index' | 'num_nodes' | 'parent_id'
> & {
  job_id: string;
  attempt: number;
  token: string;
  log_stream_name: string;
  /** the attempt's log group; null: the default, /aws/batch/job */
  log_group: string | null;
  ce_name: string;
  /** the attempt's own status: STARTING or RUNNING */
  a_status: string;
  /** when an agent was first handed the attempt (null: not yet) */
  delivered_at: number | null;
  /** when the scheduler asked for it back, queued and not started (store/withdrawals.ts); null: not asked */
  withdraw_at: number | null;
};

/** The live attempts placed on an instance, in placement order (an agent that queues work starts it in this order). */
export async function activeAttemptsOf(db: Db, instanceId: string): Promise<ActiveAttempt[]> {
  return (await db
    .selectFrom('attempts as a')
    .innerJoin('jobs as j', 'j.id', 'a.job_id')
    .select(['a.job_id', 'a.attempt', 'a.token', 'a.log_stream_name', 'a.log_group', 'a.ce_name', 'a.status as a_status', 'a.delivered_at', 'a.withdraw_at', 'j.terminate_reason'])
    .select(['j.arn', 'j.definition_arn', 'j.spec', 'j.name', 'j.queue', 'j.array_index', 'j.array_size', 'j.timeout_seconds', 'j.vcpus', 'j.memory_mib', 'j.gpus', 'j.node_index', 'j.num_nodes', 'j.parent_id'])
    .where('a.instance_id', '=', instanceId)
    .where('a.status', 'in', ['STARTING', 'RUNNING'])
    .orderBy('a.created_at')
    .orderBy('j.seq')
    .execute()) as ActiveAttempt[];
}

/** Where an attempt's log lines go, with what fences them: its token and instance. */
export interface AttemptLogTarget {
  token: string;
  instanceId: string;
  group: string;
  stream: string;
}

export async function attemptLogTarget(db: Reader, jobId: string, attempt: number): Promise<AttemptLogTarget | undefined> {
  const a = await db.selectFrom('attempts').select(['token', 'log_stream_name', 'log_group', 'instance_id']).where('job_id', '=', jobId).where('attempt', '=', attempt).executeTakeFirst();
  return a && { token: a.token, instanceId: a.instance_id, group: a.log_group ?? DEFAULT_LOG_GROUP, stream: a.log_stream_name };
}

/**
 * The address the other nodes of a gang reach its main node at, for the attempt `attempt`:
 * 127.0.0.1 on a local instance, the address or hostname a joined agent advertised;
 * undefined when the main node's attempt is not placed.
 */
export async function mainNodeAddress(db: Db, mainNodeJobId: string, attempt: number): Promise<string | undefined> {
  const main = await db
    .selectFrom('attempts as at')
    .innerJoin('instances as i', 'i.id', 'at.instance_id')
    .select(['i.provider', 'i.provider_data'])
    .where('at.job_id', '=', mainNodeJobId)
    .where('at.attempt', '=', attempt)
    .executeTakeFirst();
  if (!main) return undefined;
  if (main.provider === 'local') return '127.0.0.1';
  const data = providerDataOf<{ address?: string; hostname?: string }>(main);
  return data.address ?? data.hostname ?? '127.0.0.1';
}
