/**
 * Opening the database: Kysely over better-sqlite3 in WAL mode, migrated to the latest schema.
 *
 * Durability: `synchronous = NORMAL` in WAL mode makes a commit durable against a process
 * crash (the WAL is written before the commit returns) but an OS crash may lose the last
 * transactions. `FULL` adds an fsync per commit. Because state changes are committed in
 * batches, FULL costs little and an accepted SubmitJob must survive a power cut too.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Migration, type MigrationProvider } from 'kysely';
import type { Database } from './schema.js';
import { withStatementCache } from './statementCache.js';
import * as m001 from './migrations/001_initial.js';
import * as m002 from './migrations/002_log_streams.js';
import * as m003 from './migrations/003_ops.js';
import * as m010 from './migrations/010_node_jobs_and_attempt_cost.js';

const migrations: Record<string, Migration> = {
  '001_initial': m001,
  '002_log_streams': m002,
  '003_ops': m003,
  '010_node_jobs_and_attempt_cost': m010,
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
  /** the raw handle, for the few places that need synchronous batch writes */
  sqlite: SQLite.Database;
  close(): Promise<void>;
}

export async function openSqlite(dataDir: string): Promise<OpenedStore> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const sqlite = new SQLite(join(dataDir, 'openbatch.db'));
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = OFF');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  const result = await new Migrator({ db, provider: new InCodeMigrations(), allowUnorderedMigrations: true }).migrateToLatest();
  if (result.error) throw result.error;
  return {
    db,
    sqlite,
    async close() {
      await db.destroy();
    },
  };
}
