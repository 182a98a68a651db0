/**
 * A write transaction that collects the job state changes it makes and hands them to the
 * event publisher only after the commit, so no one ever sees an event for a change that was
 * rolled back.
 */
import type { Transaction } from 'kysely';
import type { JobStateChange } from '../model/jobStateMachine.js';
import type { Db } from './db.js';
import type { Database } from './schema.js';

export interface Tx {
  db: Transaction<Database> | Db;
  emit(change: JobStateChange): void;
}

export type Publisher = (changes: JobStateChange[]) => void;

export class UnitOfWork {
  private readonly listeners: Publisher[] = [];

  constructor(readonly db: Db) {}

  onCommitted(listener: Publisher): void {
    this.listeners.push(listener);
  }

  async write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const changes: JobStateChange[] = [];
    const result = await this.db.transaction().execute((trx) => fn({ db: trx, emit: (c) => changes.push(c) }));
    if (changes.length) for (const l of this.listeners) l(changes);
    return result;
  }
}
