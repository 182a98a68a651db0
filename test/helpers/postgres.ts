/**
 * The suite on PostgreSQL: when OPENBATCH_TEST_DATABASE_URL names a PostgreSQL server (an
 * account that may CREATE DATABASE), every test server gets a database of its own, created
 * on first use and named after the server's data directory, so a test that restarts a server
 * on the same data directory finds its state again. `npm test` runs the suite once without
 * the URL (SQLite) and once with it (scripts/run-tests.mjs, scripts/ci/postgres.sh).
 */
import { createHash } from 'node:crypto';
import pg from 'pg';

export const TEST_DATABASE_URL = process.env.OPENBATCH_TEST_DATABASE_URL ?? '';

/**
 * Test databases are named `<PREFIX><hash of the data dir>`; run-tests.mjs drops them all after
 * a run. Each run has a prefix of its own (OPENBATCH_TEST_DATABASE_PREFIX), so that runs
 * sharing one PostgreSQL server do not drop each other's databases.
 */
export const TEST_DATABASE_PREFIX = process.env.OPENBATCH_TEST_DATABASE_PREFIX ?? 'obtest_';

export function onPostgres(): boolean {
  return TEST_DATABASE_URL !== '';
}

function databaseName(dataDir: string): string {
  return TEST_DATABASE_PREFIX + createHash('sha256').update(dataDir).digest('hex').slice(0, 20);
}

function urlFor(name: string): string {
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = '/' + name;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The database URL for a test server on `dataDir` ('' on SQLite), the database created if new. */
export async function testDatabaseFor(dataDir: string): Promise<string> {
  if (!onPostgres()) return '';
  const name = databaseName(dataDir);
  await admin(async (c) => {
    const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount) return;
    try {
      await c.query(`CREATE DATABASE "${name}"`);
    } catch (e) {
      if ((e as { code?: string }).code !== '42P04') throw e; // created meanwhile by another server of the test
    }
  });
  return urlFor(name);
}

/** Drops the database of a test server on `dataDir` (its connections are closed by force). */
export async function dropTestDatabase(dataDir: string): Promise<void> {
  if (!onPostgres()) return;
  await admin((c) => c.query(`DROP DATABASE IF EXISTS "${databaseName(dataDir)}" WITH (FORCE)`));
}
