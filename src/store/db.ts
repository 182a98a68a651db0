/**
 * Opening the database, migrated to the latest schema: SQLite in the data directory (Kysely
 * over better-sqlite3 in WAL mode), or PostgreSQL when a `postgres://` URL is configured
 * (Kysely over a pg pool). docs/design/postgres.md explains how PostgreSQL keeps SQLite's
 * guarantees with many writers.
 *
 * SQLite
 * Durability: `synchronous = NORMAL` in WAL mode makes a commit durable against a process
 * crash (the WAL is written before the commit returns) but an OS crash may lose the last
 * transactions. `FULL` adds an fsync per commit. Because state changes are committed in
 * batches, FULL costs little and an accepted SubmitJob must survive a power cut too.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type SQLite from 'better-sqlite3';
import type pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Migration, type MigrationProvider } from 'kysely';
import type { StoreKind } from './dialect.js';
import type { Database } from './schema.js';
import { withStatementCache } from './statementCache.js';
import * as m001 from './migrations/001_initial.js';
import * as m002 from './migrations/002_log_streams.js';
import * as m003 from './migrations/003_ops.js';
import * as m007 from './migrations/007_dashboard_indexes.js';
import * as m008 from './migrations/008_leader_lease.js';
import * as m010 from './migrations/010_node_jobs_and_attempt_cost.js';
import * as m006 from './migrations/006_slurm_jobs.js';
import * as m004 from './migrations/004_instance_details.js';
import * as m011 from './migrations/011_chaos.js';
import * as m012 from './migrations/012_farm_drain.js';
import * as m013 from './migrations/013_attempt_delivery_and_join_token.js';
import * as m014 from './migrations/014_wait_detail.js';
import * as m015 from './migrations/015_instance_impaired.js';
import * as m016 from './migrations/016_attempt_withdrawal.js';
import * as m017 from './migrations/017_attempt_usage.js';
import * as m018 from './migrations/018_attempt_containers.js';

const migrations: Record<string, Migration> = {
  '001_initial': m001,
  '002_log_streams': m002,
  '003_ops': m003,
  '007_dashboard_indexes': m007,
  '008_leader_lease': m008,
  '010_node_jobs_and_attempt_cost': m010,
  '006_slurm_jobs': m006,
  '004_instance_details': m004,
  '011_chaos': m011,
  '012_farm_drain': m012,
  '013_attempt_delivery_and_join_token': m013,
  '014_wait_detail': m014,
  '015_instance_impaired': m015,
  '016_attempt_withdrawal': m016,
  '017_attempt_usage': m017,
  '018_attempt_containers': m018,
};

// Unordered: migrations are numbered when written, and work developed side by side may land
// out of number order; each migration must therefore stand on its own.
class InCodeMigrations implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

export type Db = Kysely<Database>;

export interface OpenedStore {
  db: Db;
  kind: StoreKind;
  /** SQLite only: the raw handle, for the few places that need synchronous batch writes */
  sqlite?: SQLite.Database;
  /** PostgreSQL only: the connection pool (the leader lease holds a connection of its own) */
  pool?: pg.Pool;
  close(): Promise<void>;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** The configured store: PostgreSQL when `databaseUrl` is set, else SQLite in `dataDir`. */
export async function openStore(config: { dataDir: string; databaseUrl: string }): Promise<OpenedStore> {
  if (!config.databaseUrl) return openSqlite(config.dataDir);
  if (!isPostgresUrl(config.databaseUrl)) throw new Error(`databaseUrl must be a postgres:// or postgresql:// URL (got '${redactUrl(config.databaseUrl)}')`);
  // The data directory still holds the agent join token and the work directories of local jobs.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  return openPostgres(config.databaseUrl);
}

/** The URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

async function migrate(db: Db): Promise<void> {
  const result = await new Migrator({ db, provider: new InCodeMigrations(), allowUnorderedMigrations: true }).migrateToLatest();
  if (result.error) throw result.error;
}

/** SQLite in `dataDir` (its file `openbatch.db`), or in memory with `':memory:'` (tests, benchmarks of the store alone). */
export async function openSqlite(dataDir: string): Promise<OpenedStore> {
  let file = ':memory:';
  if (dataDir !== ':memory:') {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // The database holds every job's command and environment: readable by its owner only.
    // SQLite gives the -wal and -shm files the mode of the database file.
    file = join(dataDir, 'openbatch.db');
    closeSync(openSync(file, 'a', 0o600));
    chmodSync(file, 0o600);
  }
  // Each driver is loaded by the store that uses it: a server on SQLite never loads pg, and
  // the reverse (docs/benchmarks.md, "Server start").
  const { default: Sqlite } = await import('better-sqlite3');
  const sqlite = new Sqlite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = OFF');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  await migrate(db);
  return {
    db,
    kind: 'sqlite',
    sqlite,
    async close() {
      await db.destroy();
    },
  };
}

/**
 * Integers come back as JavaScript numbers, as they do from SQLite: bigint columns hold epoch
 * milliseconds and row ids, far below 2^53, and COUNT/SUM return bigint or numeric.
 */
function pgTypesOf(types: typeof pg.types) {
  return {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      if (oid === types.builtins.INT8 || oid === types.builtins.NUMERIC) return (v: string) => Number(v);
      return types.getTypeParser(oid, format);
    },
  };
}

/**
 * PostgreSQL: a pool of connections. Several servers may open the same database at once:
 * Kysely's migrator takes an advisory lock, so exactly one of them migrates.
 */
/**
 * What keeps one server from stalling the others (docs/design/postgres.md, "no global stall"):
 * every write transaction takes the one write lock, so a server paused, cut off or wedged
 * inside one would hold up every write of every server. PostgreSQL ends a session whose
 * transaction sits idle for IDLE_IN_TRANSACTION_MS (no statement of ours waits that long
 * between two of its statements), which rolls it back and frees the lock; waiting for a lock
 * and running a statement are bounded too, and so is what this server waits for the database
 * (connecting, an answer): a database that does not answer is an error here, reported as the
 * store being unavailable, not a request that hangs. TCP keepalives find a dead peer.
 */
export const PG_SESSION = {
  /** a transaction idle this long (its server paused or cut off) is ended by PostgreSQL */
  idleInTransactionMs: 5_000,
  /** the longest wait for a lock (the write lock, a row lock) before the statement fails */
  lockTimeoutMs: 15_000,
  /** the longest statement */
  statementTimeoutMs: 60_000,
  /** the longest wait for an answer, on this side (the database or the network gone) */
  queryTimeoutMs: 70_000,
  /** the longest wait for a new connection */
  connectTimeoutMs: 5_000,
};

export async function openPostgres(url: string, poolSize = 10): Promise<OpenedStore> {
  const { default: pg } = await import('pg');
  const pgTypes = pgTypesOf(pg.types);
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    types: pgTypes as never,
    idle_in_transaction_session_timeout: PG_SESSION.idleInTransactionMs,
    lock_timeout: PG_SESSION.lockTimeoutMs,
    statement_timeout: PG_SESSION.statementTimeoutMs,
    query_timeout: PG_SESSION.queryTimeoutMs,
    connectionTimeoutMillis: PG_SESSION.connectTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // The database's side of the connection probes a silent peer too (a server cut off while
    // PostgreSQL sends it a result): dead after about 25 s instead of the system's 2 hours.
    options: '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3',
  });
  // An idle connection that breaks (database restart) is dropped from the pool, not fatal.
  pool.on('error', () => undefined);
  // So is one that breaks while checked out between two statements (the database restarted,
  // or it ended a transaction left idle: PG_SESSION): pg would throw its error at the process.
  // The next statement on it fails instead, and the pool drops it when it comes back.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  // Migrations on a connection of their own, without the timeouts: a server started beside
  // one that migrates waits for it however long it takes, and so may a migration's statement.
  const migrator = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1, types: pgTypes as never }) }) });
  try {
    await migrate(migrator);
  } catch (e) {
    await db.destroy();
    throw new Error(`database ${redactUrl(url)}: ${(e as Error).message}`);
  } finally {
    await migrator.destroy();
  }
  return {
    db,
    kind: 'postgres',
    pool,
    async close() {
      await db.destroy();
    },
  };
}
