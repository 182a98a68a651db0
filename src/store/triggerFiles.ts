/**
 * The trigger ledger: each (rule, file path, size, mtime) a trigger rule has taken, with the
 * job it submitted. A row is written (job_id null) before the job is submitted and completed
 * after, so a file is submitted once across restarts; a row still without job after a crash
 * is resolved by looking for the job tagged with that file.
 */
import type { Db } from './db.js';

export interface FileKey {
  rule: string;
  path: string;
  size: number;
  mtimeMs: number;
}

export interface TriggerFileRow {
  rule: string;
  path: string;
  size: number;
  mtime_ms: number;
  job_id: string | null;
  submitted_at: number;
  error: string | null;
}


/** Claims a file for its rule; false when it was already claimed. */
export async function claimFile(db: Db, k: FileKey, now: number): Promise<boolean> {
  const res = await db
    .insertInto('trigger_files')
    .values({ rule: k.rule, path: k.path, size: k.size, mtime_ms: k.mtimeMs, job_id: null, submitted_at: now, error: null })
    .onConflict((oc) => oc.columns(['rule', 'path', 'size', 'mtime_ms']).doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function completeFile(db: Db, k: FileKey, outcome: { jobId?: string; error?: string }): Promise<void> {
  await db
    .updateTable('trigger_files')
    .set({ job_id: outcome.jobId ?? null, error: outcome.error?.slice(0, 1000) ?? null })
    .where('rule', '=', k.rule)
    .where('path', '=', k.path)
    .where('size', '=', k.size)
    .where('mtime_ms', '=', k.mtimeMs)
    .execute();
}

/** Whether the rule has taken this version of the file. */
export async function isClaimed(db: Db, k: FileKey): Promise<boolean> {
  const row = await db
    .selectFrom('trigger_files')
    .select('rule')
    .where('rule', '=', k.rule)
    .where('path', '=', k.path)
    .where('size', '=', k.size)
    .where('mtime_ms', '=', k.mtimeMs)
    .executeTakeFirst();
  return row !== undefined;
}

/** Claims left without job or error by a crash between claim and submission. */
export async function inDoubt(db: Db): Promise<TriggerFileRow[]> {
  return db.selectFrom('trigger_files').selectAll().where('job_id', 'is', null).where('error', 'is', null).execute();
}

/** Forgets a claim (an in-doubt claim whose job never came to be: the file is taken again). */
export async function releaseFile(db: Db, k: FileKey): Promise<void> {
  await db.deleteFrom('trigger_files').where('rule', '=', k.rule).where('path', '=', k.path).where('size', '=', k.size).where('mtime_ms', '=', k.mtimeMs).execute();
}

/** Jobs of a queue created since `since`, with their tags (to find an in-doubt claim's job). */
export async function jobsCreatedSince(db: Db, queue: string, since: number): Promise<{ id: string; tags: string }[]> {
  return db.selectFrom('jobs').select(['id', 'tags']).where('queue', '=', queue).where('created_at', '>=', since).execute();
}

/** Files taken by a rule, most recent first (for operators). */
export async function recentFiles(db: Db, rule: string, limit: number): Promise<TriggerFileRow[]> {
  return db.selectFrom('trigger_files').selectAll().where('rule', '=', rule).orderBy('submitted_at', 'desc').limit(limit).execute();
}
