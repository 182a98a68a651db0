/**
 * better-sqlite3 behind Kysely, with prepared statements kept. Kysely's SQLite driver asks
 * for a new prepared statement for every query it runs, and preparing is a large share of a
 * scheduler pass (profiled: ~14% of server time); the same few hundred SQL texts come back
 * all the time. Statements are reused per SQL text, the least recently used dropped past
 * the limit. Reuse is safe: better-sqlite3 runs a statement to completion synchronously.
 */
import type SQLite from 'better-sqlite3';
import { CompiledQuery, type Kysely, type SqliteDatabase, type SqliteStatement, type Transaction } from 'kysely';
import { isPostgres } from './dialect.js';

const LIMIT = 1000;

/**
 * SQL texts that begin with this are prepared in better-sqlite3's raw mode: their rows come
 * back as arrays of the selected columns, in order. The driver builds a row object with one
 * property set per column, which for the scheduler's head read (256 rows of 16 columns, every
 * pass) cost about as much again as SQLite's own work; FixedStatement.objects builds the
 * objects in JavaScript instead.
 */
const RAW_ROWS = '/* rows as arrays */ ';

export function withStatementCache(db: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      let stmt = cache.get(sql);
      if (stmt) {
        cache.delete(sql); // re-insert: Map order is recency order
      } else {
        stmt = db.prepare(sql);
        if (sql.startsWith(RAW_ROWS)) stmt.raw(true);
        if (cache.size >= LIMIT) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, stmt);
      return stmt as unknown as SqliteStatement;
    },
  };
}

/**
 * A statement written once as SQL text, for the hottest paths (SubmitJob, DescribeJobs):
 * building a query with Kysely's builder and compiling it costs more CPU than SQLite takes
 * to run it (profiled: Kysely was ~15% of the server's busy time under SubmitJob load). The
 * text uses `?` placeholders; PostgreSQL gets `$1, $2, …`, rewritten once per statement. It
 * runs through the handle's own executor (its connection, its transaction), so it behaves
 * exactly as the builder's query would. Write it in the SQL both databases speak.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any> | Transaction<any>;

export class FixedStatement<R> {
  private pgText?: string;

  constructor(readonly text: string) {}

  async run(db: AnyDb, params: readonly unknown[]): Promise<R[]> {
    const text = isPostgres(db) ? (this.pgText ??= toPostgres(this.text)) : this.text;
    const r = await db.executeQuery<R>(CompiledQuery.raw(text, params as unknown[]));
    return r.rows;
  }

  /** Runs a statement that changes rows; returns how many it changed. */
  async exec(db: AnyDb, params: readonly unknown[]): Promise<number> {
    const text = isPostgres(db) ? (this.pgText ??= toPostgres(this.text)) : this.text;
    const r = await db.executeQuery(CompiledQuery.raw(text, params as unknown[]));
    return Number(r.numAffectedRows ?? 0);
  }

  /**
   * The rows as objects that `make` builds from each row's array of the selected columns, in
   * order: on SQLite the driver hands over arrays (RAW_ROWS), cheaper than its own objects
   * for wide rows. PostgreSQL's rows are objects with the selected names already: as they are.
   */
  async objects(db: AnyDb, params: readonly unknown[], make: (row: unknown[]) => R): Promise<R[]> {
    if (isPostgres(db)) return this.run(db, params);
    const r = await db.executeQuery<unknown[]>(CompiledQuery.raw(RAW_ROWS + this.text, params as unknown[]));
    return r.rows.map(make);
  }
}

/** `?` → `$n`. The fixed statements hold no string literals or comments with a `?`. */
function toPostgres(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

/** `?, ?, …` for `n` values. */
export function placeholders(n: number): string {
  return new Array<string>(n).fill('?').join(', ');
}

/**
 * A fixed statement around an `IN (?, …)` list, for batches of any size: the list is padded to
 * one of a few lengths (8, 16, … 512) with its last value — a repeated value in an IN list
 * changes nothing — so a handful of texts serve every batch and stay prepared. Longer lists
 * run in chunks of 512. `make` builds the text around the placeholders.
 */
export class InListStatement {
  static readonly MAX = 512;
  private readonly bySize = new Map<number, FixedStatement<unknown>>();

  constructor(private readonly make: (placeholders: string) => string) {}

  /** The rows of every chunk; `before` are bound ahead of the list. */
  async all<R>(db: AnyDb, values: readonly unknown[], before: readonly unknown[] = []): Promise<R[]> {
    const out: R[] = [];
    for (const [stmt, params] of this.chunks(values, before)) for (const r of await stmt.run(db, params)) out.push(r as R);
    return out;
  }

  /** Runs a statement that changes rows, chunk by chunk; returns how many it changed in all. */
  async exec(db: AnyDb, values: readonly unknown[], before: readonly unknown[] = []): Promise<number> {
    let n = 0;
    for (const [stmt, params] of this.chunks(values, before)) n += await stmt.exec(db, params);
    return n;
  }

  private *chunks(values: readonly unknown[], before: readonly unknown[]): Generator<[FixedStatement<unknown>, unknown[]]> {
    for (let i = 0; i < values.length; i += InListStatement.MAX) {
      const chunk = values.slice(i, i + InListStatement.MAX);
      let size = 8;
      while (size < chunk.length) size *= 2;
      while (chunk.length < size) chunk.push(chunk[chunk.length - 1]);
      let stmt = this.bySize.get(size);
      if (!stmt) this.bySize.set(size, (stmt = new FixedStatement<unknown>(this.make(placeholders(size)))));
      yield [stmt, [...before, ...chunk]];
    }
  }
}
