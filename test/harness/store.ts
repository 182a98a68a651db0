/**
 * A store for store-level tests: SQLite in memory, or — on the suite's PostgreSQL pass
 * (OPENBATCH_TEST_DATABASE_URL set) — PostgreSQL. Both are migrated to the latest schema, as
 * a server's store is. On PostgreSQL a test file's process makes one database and each store
 * opened starts from it emptied (creating a database per test costs a second or more).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { JobStateChange } from '../../src/model/jobStateMachine.js';
import { openPostgres, openSqlite, type OpenedStore } from '../../src/store/db.js';
import { UnitOfWork } from '../../src/store/unitOfWork.js';
import { onPostgres, testDatabaseFor } from '../helpers/postgres.js';

export interface TestStore {
  store: OpenedStore;
  uow: UnitOfWork;
  /** every state change committed so far, in commit order */
  events: JobStateChange[];
  /** which store this is */
  kind: 'sqlite' | 'postgres';
  /** PostgreSQL: the database's URL (a server on this store needs it for its notifications) */
  url: string;
  close(): Promise<void>;
}

/**
 * This process's PostgreSQL databases not in use: a store opened while another is still open
 * gets a database of its own (a test may keep two control planes). run-tests.mjs drops them
 * with the others after the run.
 */
const idle: string[] = [];

async function emptiedPostgres(): Promise<{ store: OpenedStore; url: string; release(): void }> {
  const url = idle.pop() ?? (await testDatabaseFor(`store-tests-${process.pid}-${randomUUID()}`));
  const store = await openPostgres(url, 4);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'kysely\\_%'");
    if (rows.length) await c.query(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(', ')} RESTART IDENTITY`);
  } finally {
    await c.end();
  }
  return { store, url, release: () => void idle.push(url) };
}

export async function openTestStore(): Promise<TestStore> {
  const { store, url, release } = onPostgres() ? await emptiedPostgres() : { store: await openSqlite(':memory:'), url: '', release: () => undefined };
  const uow = new UnitOfWork(store.db);
  const events: JobStateChange[] = [];
  uow.onCommitted((changes) => events.push(...changes));
  return {
    store,
    uow,
    events,
    kind: store.kind,
    url,
    async close() {
      await store.close();
      release();
    },
  };
}
