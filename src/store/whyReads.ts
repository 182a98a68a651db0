/**
 * The reads that explain why a job waits (scheduler/why.ts): what a job waits on, where it
 * stands in its queue, what runs on the instances that hold the capacity it waits for and
 * how long such work and boots have taken lately (the facts its estimate is made from).
 */
import type { Db } from './db.js';
import type { JobRow } from './jobs.js';
import type { InstanceRow } from './instances.js';

/** A job's dependency edges, as SubmitJob (or array expansion) recorded them. */
export async function dependencyEdges(db: Db, jobId: string): Promise<{ dependsOnId: string; type: string | null }[]> {
  const rows = await db.selectFrom('job_dependencies').select(['depends_on_id', 'type']).where('job_id', '=', jobId).execute();
  return rows.map((r) => ({ dependsOnId: r.depends_on_id, type: r.type }));
}

/**
 * How many RUNNABLE jobs of `job`'s queue were submitted before it (gang nodes aside: they
 * wait with their parent), not counting those the scheduler found can never fit.
 */
export async function runnableAhead(db: Db, job: Pick<JobRow, 'queue' | 'seq'>): Promise<number> {
  const ahead = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('queue', '=', job.queue)
    .where('status', '=', 'RUNNABLE')
    .where('node_index', 'is', null)
    .where((eb) => eb.or([eb('wait_code', 'is', null), eb('wait_code', '!=', 'NEVER_FITS')]))
    .where('seq', '<', job.seq)
    .executeTakeFirst();
  return Number(ahead?.n ?? 0);
}

/** A job STARTING or RUNNING on an instance: what `why` needs to tell when it should end. */
export interface RunningJobRow {
  jobId: string;
  instanceId: string;
  queue: string;
  status: string;
  vcpus: number;
  /** when it started running; a STARTING job: when it was placed */
  since: number;
  definitionArn: string;
  /** its attempt timeout (attemptDurationSeconds), if it has one */
  timeoutSeconds: number | null;
}

/** The jobs STARTING or RUNNING on these instances. */
export async function jobsOn(db: Db, instanceIds: string[]): Promise<RunningJobRow[]> {
  if (instanceIds.length === 0) return [];
  const rows = await db
    .selectFrom('jobs')
    .select(['id', 'instance_id', 'queue', 'status', 'vcpus', 'started_at', 'updated_at', 'definition_arn', 'timeout_seconds'])
    .where('instance_id', 'in', instanceIds)
    .where('status', 'in', ['STARTING', 'RUNNING'])
    .execute();
  return rows.map((r) => ({
    jobId: r.id,
    instanceId: r.instance_id!,
    queue: r.queue,
    status: r.status,
    vcpus: Number(r.vcpus),
    since: Number(r.started_at ?? r.updated_at),
    definitionArn: r.definition_arn,
    timeoutSeconds: r.timeout_seconds === null ? null : Number(r.timeout_seconds),
  }));
}

/**
 * How long the jobs of these definitions ran, by definition: the last attempts of jobs that
 * finished since `since`, newest first (at most `limit` jobs looked at in all).
 */
export async function runTimes(db: Db, definitionArns: string[], since: number, limit = 500): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  if (definitionArns.length === 0) return out;
  const rows = await db
    .selectFrom('jobs')
    .select(['definition_arn', 'started_at', 'stopped_at'])
    .where('status', 'in', ['SUCCEEDED', 'FAILED'])
    .where('stopped_at', '>', since)
    .where('definition_arn', 'in', definitionArns)
    .where('started_at', 'is not', null)
    .orderBy('stopped_at', 'desc')
    .limit(limit)
    .execute();
  for (const r of rows) (out.get(r.definition_arn) ?? out.set(r.definition_arn, []).get(r.definition_arn)!).push(Number(r.stopped_at) - Number(r.started_at));
  return out;
}

/** How long instances launched since `since` took to boot: from their launch to their agent's first poll (ms). */
export async function bootTimes(db: Db, since: number): Promise<number[]> {
  const rows = await db.selectFrom('instances').select(['launched_at', 'ready_at']).where('launched_at', '>', since).where('ready_at', 'is not', null).orderBy('launched_at', 'desc').limit(50).execute();
  return rows.map((r) => Number(r.ready_at) - Number(r.launched_at)).filter((ms) => ms >= 0);
}

/** These instances, as they are now (those gone from the table left out). */
export async function instancesById(db: Db, ids: string[]): Promise<InstanceRow[]> {
  return ids.length ? db.selectFrom('instances').selectAll().where('id', 'in', ids).execute() : [];
}

/** The latest instance of a compute environment whose bootstrap failed, if one did since `since`: why its launches are held back. */
export async function lastBootstrapFailure(db: Db, ceName: string, since: number): Promise<string | undefined> {
  const row = await db
    .selectFrom('instances')
    .select('termination_reason')
    .where('ce_name', '=', ceName)
    .where('terminated_at', '>', since)
    .where('termination_reason', 'like', 'bootstrap failed%')
    .orderBy('terminated_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.termination_reason ?? undefined;
}
