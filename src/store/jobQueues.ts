/** Queries of the job_queues table. */
import type { Db } from './db.js';
import type { JobQueueTable } from './schema.js';

export type JobQueueRow = JobQueueTable;

export async function getJobQueue(db: Db, name: string): Promise<JobQueueRow | undefined> {
  return db.selectFrom('job_queues').selectAll().where('name', '=', name).executeTakeFirst();
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
  await db.insertInto('job_queues').values(row).execute();
}

export async function updateJobQueue(db: Db, name: string, patch: Partial<JobQueueRow>): Promise<void> {
  await db.updateTable('job_queues').set(patch).where('name', '=', name).execute();
}

export async function deleteJobQueue(db: Db, name: string): Promise<void> {
  await db.deleteFrom('job_queues').where('name', '=', name).execute();
}
