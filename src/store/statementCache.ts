/**
 * better-sqlite3 behind Kysely, with prepared statements kept. Kysely's SQLite driver asks
 * for a new prepared statement for every query it runs, and preparing is a large share of a
 * scheduler pass (profiled: ~14% of server time); the same few hundred SQL texts come back
 * all the time. Statements are reused per SQL text, the least recently used dropped past
 * the limit. Reuse is safe: better-sqlite3 runs a statement to completion synchronously.
 */
import type SQLite from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

const LIMIT = 1000;

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
        if (cache.size >= LIMIT) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, stmt);
      return stmt as unknown as SqliteStatement;
    },
  };
}
