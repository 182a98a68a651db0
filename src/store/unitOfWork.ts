/**
 * A write transaction that collects the job state changes it makes and hands them to the
 * event publisher only after the commit, so no one ever sees an event for a change that was
 * rolled back.
 *
 * `writeGrouped` is group commit: writes that arrive while a grouped transaction commits
 * wait and then share the next transaction, so N concurrent SubmitJobs cost one fsync, not
 * N. Each caller still gets its answer only after its own write is durable. A grouped write
 * must not fail on its own (check what can fail before), because one failure rolls back
 * the whole group.
 *
 * `beforeCommit` hooks run inside the transaction, after the work and only when it changed
 * job states: what they write commits or rolls back with the changes (the webhook outbox
 * relies on this; an outbox written after the commit could lose events to a crash).
 *
 * On PostgreSQL every write transaction first takes one advisory transaction lock, so write
 * transactions run one at a time across every server sharing the database, as SQLite runs
 * them; each reads what the previous one committed (docs/design/postgres.md). Reads outside
 * transactions do not wait.
 */
import { sql, type Transaction } from 'kysely';
import { isPostgres } from './dialect.js';
import type { JobStateChange } from '../model/jobStateMachine.js';
import type { Db } from './db.js';
import type { Database } from './schema.js';

export interface Tx {
  db: Transaction<Database> | Db;
  emit(change: JobStateChange): void;
}

/** The advisory lock key every write transaction holds (any constant: "obwr" in ASCII). */
export const WRITE_LOCK = 0x6f627772;
/** deadlock_detected, serialization_failure */
const RETRYABLE = new Set(['40P01', '40001']);

export type Publisher = (changes: JobStateChange[]) => void;
/** A hook run inside a transaction that changed job states, with the transaction's handle. */
export type InTransaction = (db: Tx['db'], changes: JobStateChange[]) => Promise<void>;

/** Checks, inside a write transaction and under the write lock, that the writer may still write; throws if not. */
export type Fence = (db: Tx['db']) => Promise<void>;

export class UnitOfWork {
  private readonly listeners: Publisher[];
  private readonly inTransaction: InTransaction[];
  private readonly postgres: boolean;
  private fence: Fence | undefined;

  constructor(
    readonly db: Db,
    shared: { listeners: Publisher[]; inTransaction: InTransaction[] } = { listeners: [], inTransaction: [] },
  ) {
    this.postgres = isPostgres(db);
    this.listeners = shared.listeners;
    this.inTransaction = shared.inTransaction;
  }

  /**
   * The same unit of work (same listeners and hooks) for the writes of the leader: each of
   * its transactions first runs `fence`, after the write lock, so a deposed leader's late
   * write is refused instead of committed (docs/design/leader.md).
   */
  fenced(fence: Fence): UnitOfWork {
    const f = new UnitOfWork(this.db, { listeners: this.listeners, inTransaction: this.inTransaction });
    f.fence = fence;
    return f;
  }

  onCommitted(listener: Publisher): void {
    this.listeners.push(listener);
  }

  /** Runs `hook` in every transaction that changes job states, before it commits. */
  beforeCommit(hook: InTransaction): void {
    this.inTransaction.push(hook);
  }

  private group: { fn: (tx: Tx) => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private flushing = false;

  writeGrouped<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.group.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushing) {
        this.flushing = true;
        // One turn of the event loop first: better-sqlite3 commits synchronously, so requests
        // already waiting on their sockets would otherwise each get a transaction of their own.
        setImmediate(() => void this.flushGroups());
      }
    });
  }

  private async flushGroups(): Promise<void> {
    while (this.group.length) {
      const items = this.group.splice(0, 1000);
      try {
        const results = await this.write(async (tx) => {
          const out: unknown[] = [];
          for (const item of items) out.push(await item.fn(tx));
          return out;
        });
        items.forEach((item, i) => item.resolve(results[i]));
      } catch (e) {
        for (const item of items) item.reject(e);
      }
    }
    this.flushing = false;
  }

  async write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.writeOnce(fn);
      } catch (e) {
        // A statement outside these transactions (they cannot deadlock each other) may still
        // deadlock with one; PostgreSQL then aborts one side, and the transaction starts over.
        if (!this.postgres || attempt >= 5 || !RETRYABLE.has((e as { code?: string }).code ?? '')) throw e;
      }
    }
  }

  private async writeOnce<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const changes: JobStateChange[] = [];
    const result = await transaction(this.db, async (trx) => {
      if (this.postgres) await sql`SELECT pg_advisory_xact_lock(${WRITE_LOCK})`.execute(trx);
      if (this.fence) await this.fence(trx);
      const out = await fn({ db: trx, emit: (c) => changes.push(c) });
      if (changes.length) for (const h of this.inTransaction) await h(trx, changes);
      return out;
    });
    if (changes.length) for (const l of this.listeners) l(changes);
    return result;
  }
}

/**
 * Runs `fn` in a transaction and commits it; on an error, rolls back and throws that error.
 * The rollback may fail because the transaction is gone already — SQLite rolls a transaction
 * back itself when a write fails for lack of space (SQLITE_FULL), PostgreSQL ends the session
 * of a transaction left idle too long — and its "no transaction is active" must not hide the
 * error that says what happened. The connection goes back to its pool either way.
 */
export async function transaction<T>(db: Db, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  const trx = await db.startTransaction().execute();
  try {
    const out = await fn(trx);
    await trx.commit().execute();
    return out;
  } catch (e) {
    if (!trx.isCommitted && !trx.isRolledBack) await trx.rollback().execute().catch(() => undefined);
    throw e;
  }
}
