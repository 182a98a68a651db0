/** Queries of the job_queues table. */
import type { JobStateTimeLimitAction } from '@aws-sdk/client-batch';
import type { Db } from './db.js';
import { encodeColumns, fromJson, type WithValues } from './json.js';
import type { JobQueueTable } from './schema.js';
import { cachedLookup, lookupsChanged } from './lookupCache.js';
import { FixedStatement } from './statementCache.js';

export type JobQueueRow = JobQueueTable;

/** One compute environment of a queue's order, by name. */
export interface CeOrderEntry {
  order: number;
  computeEnvironment: string;
}

/** A job queue as it is written: its order, time limit actions and tags as values. */
export type NewJobQueue = WithValues<JobQueueRow, { ce_order: CeOrderEntry[]; time_limit_actions: JobStateTimeLimitAction[]; tags: Record<string, string> }>;
const JSON_COLUMNS = ['ce_order', 'time_limit_actions', 'tags'] as const;

/** A queue's compute environments in the order it tries them, by name. */
export function ceOrderOf(queue: Pick<JobQueueRow, 'ce_order'>): CeOrderEntry[] {
  return fromJson<CeOrderEntry[]>(queue.ce_order, []);
}

/** A queue's jobStateTimeLimitActions. */
export function timeLimitActionsOf(queue: Pick<JobQueueRow, 'time_limit_actions'>): JobStateTimeLimitAction[] {
  return fromJson<JobStateTimeLimitAction[]>(queue.time_limit_actions, []);
}

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

export async function insertJobQueue(db: Db, row: NewJobQueue): Promise<void> {
  lookupsChanged();
  await db.insertInto('job_queues').values(encodeColumns<JobQueueRow>(row, JSON_COLUMNS)).execute();
  lookupsChanged();
}

export async function updateJobQueue(db: Db, name: string, patch: Partial<NewJobQueue>): Promise<void> {
  lookupsChanged();
  await db.updateTable('job_queues').set(encodeColumns<Partial<JobQueueRow>>(patch, JSON_COLUMNS)).where('name', '=', name).execute();
  lookupsChanged();
}

export async function deleteJobQueue(db: Db, name: string): Promise<void> {
  lookupsChanged();
  await db.deleteFrom('job_queues').where('name', '=', name).execute();
  lookupsChanged();
}
