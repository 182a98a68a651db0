/**
 * The reads that explain why a job waits (scheduler/why.ts): what a job waits on, where it
 * stands in its queue, and how fast its queue's jobs and instances have been starting.
 */
import type { Db } from './db.js';
import type { JobRow } from './jobs.js';

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

/** How many attempts of the queue's jobs were placed since `since`, and when the oldest of them was. */
export async function startsSince(db: Db, queue: string, since: number): Promise<{ starts: number; oldest: number | null }> {
  const started = await db
    .selectFrom('attempts as a')
    .innerJoin('jobs as j', 'j.id', 'a.job_id')
    .select([(eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.min<number>('a.created_at').as('oldest')])
    .where('a.created_at', '>', since)
    .where('j.queue', '=', queue)
    .executeTakeFirst();
  return { starts: Number(started?.n ?? 0), oldest: started?.oldest == null ? null : Number(started.oldest) };
}

/** For each instance launched since `since` that has started a job: how long from its launch to its first job (ms). */
export async function launchToFirstJob(db: Db, since: number): Promise<number[]> {
  const recent = await db
    .selectFrom('instances as i')
    .innerJoin('attempts as a', 'a.instance_id', 'i.id')
    .select(['i.id', 'i.launched_at', (eb) => eb.fn.min<number>('a.started_at').as('first')])
    .where('i.launched_at', '>', since)
    .where('a.started_at', 'is not', null)
    .groupBy(['i.id', 'i.launched_at'])
    .execute();
  return recent.map((r) => Number(r.first) - Number(r.launched_at));
}
