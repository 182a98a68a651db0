/** Queries of the job_queues table. */
import type { Db } from './db.js';
import type { JobQueueTable } from './schema.js';
import { cachedLookup, lookupsChanged } from './lookupCache.js';
import { FixedStatement } from './statementCache.js';

export type JobQueueRow = JobQueueTable;

export async function getJobQueue(db: Db, name: string): Promise<JobQueueRow | undefined> {
  return db.selectFrom('job_queues').selectAll().where('name', '=', name).executeTakeFirst();
}

const QUEUE_BY_NAME = new FixedStatement<JobQueueRow>('select * from "job_queues" where "name" = ?');

/** `getJobQueue` through the lookup cache (lookupCache.ts says when it may be stale): a frozen row. */
export async function getJobQueueCached(db: Db, name: string): Promise<Readonly<JobQueueRow> | undefined> {
  return cachedLookup(db, `queue\0${name}`, async () => (await QUEUE_BY_NAME.run(db, [name]))[0]);
}

export async function listJobQueues(db: Db, opts: { names?: string[]; after?: string; limit: number }): Promise<JobQueueRow[]> {
  let q = db.selectFrom('job_queues').selectAll().orderBy('name').limit(opts.limit);
  if (opts.names) q = q.where('name', 'in', opts.names.length ? opts.names : ['']);
  if (opts.after !== undefined) q = q.where('name', '>', opts.after);
  return q.execute();
}

export async function allJobQueues(db: Db): Promise<JobQueueRow[]> {
  return db.selectFrom('job_queues').selectAll().orderBy('name').execute();
}

export async function insertJobQueue(db: Db, row: JobQueueRow): Promise<void> {
  lookupsChanged();
  await db.insertInto('job_queues').values(row).execute();
  lookupsChanged();
}

export async function updateJobQueue(db: Db, name: string, patch: Partial<JobQueueRow>): Promise<void> {
  lookupsChanged();
  await db.updateTable('job_queues').set(patch).where('name', '=', name).execute();
  lookupsChanged();
}

export async function deleteJobQueue(db: Db, name: string): Promise<void> {
  lookupsChanged();
  await db.deleteFrom('job_queues').where('name', '=', name).execute();
  lookupsChanged();
}
