/**
 * The webhook outbox: job state change events waiting for delivery, one row per webhook and
 * event. Rows are inserted by the transaction that makes the change and deleted once the
 * webhook has accepted them.
 */
import type { Transaction } from 'kysely';
import type { Db } from './db.js';
import type { Database } from './schema.js';

export interface OutboxRow {
  id: number;
  hook: string;
  job_id: string;
  body: string;
  attempts: number;
  next_attempt_at: number;
}

export interface NewOutboxRow {
  hook: string;
  jobId: string;
  body: string;
}

export async function enqueueEvents(db: Transaction<Database> | Db, rows: NewOutboxRow[], now: number): Promise<void> {
  // 6 bound parameters a row: 150 rows stay well inside SQLite's limit per statement.
  for (let i = 0; i < rows.length; i += 150) {
    await db
      .insertInto('webhook_outbox')
      .values(rows.slice(i, i + 150).map((r) => ({ hook: r.hook, job_id: r.jobId, body: r.body, created_at: now, next_attempt_at: now, last_error: null })))
      .execute();
  }
}

/** A hook's oldest undelivered events, in the order they were written. */
export async function pendingEvents(db: Db, hook: string, limit: number): Promise<OutboxRow[]> {
  return db
    .selectFrom('webhook_outbox')
    .select(['id', 'hook', 'job_id', 'body', 'attempts', 'next_attempt_at'])
    .where('hook', '=', hook)
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function deleteDelivered(db: Db, ids: number[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) await db.deleteFrom('webhook_outbox').where('id', 'in', ids.slice(i, i + 500)).execute();
}

export async function recordFailure(db: Db, id: number, attempts: number, nextAttemptAt: number, error: string): Promise<void> {
  await db.updateTable('webhook_outbox').set({ attempts, next_attempt_at: nextAttemptAt, last_error: error.slice(0, 500) }).where('id', '=', id).execute();
}

/** Deletes the events of hooks no longer configured; returns how many went. */
export async function dropOrphans(db: Db, hooks: string[]): Promise<number> {
  let q = db.deleteFrom('webhook_outbox');
  if (hooks.length) q = q.where('hook', 'not in', hooks);
  const res = await q.executeTakeFirst();
  return Number(res.numDeletedRows);
}

/** Undelivered events by hook (for /metrics and operators). */
export async function backlogByHook(db: Db): Promise<{ hook: string; n: number; oldest: number }[]> {
  const rows = await db
    .selectFrom('webhook_outbox')
    .select(['hook', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.min<number>('created_at').as('oldest')])
    .groupBy('hook')
    .execute();
  return rows.map((r) => ({ hook: r.hook, n: Number(r.n), oldest: Number(r.oldest) }));
}
