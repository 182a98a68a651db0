/**
 * Job queues and job definitions as SubmitJob looks them up by name, kept in memory: every
 * SubmitJob reads both, and the two reads with their query building were a large share of
 * its server time, while these rows change a few times a day. Compute environments likewise,
 * for the agents' polls and reports, which need their CE's settings (its tags).
 *
 * When a cached row may be served:
 * - Every write to job_queues, job_definitions or compute_environments in this process (the
 *   store functions of jobQueues.ts, jobDefinitions.ts and computeEnvironments.ts, TagResource)
 *   calls `lookupsChanged()`, which bumps a
 *   generation: every entry of an older generation, of every database, is stale. A read
 *   that began before a change does not store what it read (it may be the old row). Writes
 *   call it before and after their statement; inside a transaction "after" is still before
 *   the commit, but on SQLite no read runs between that statement and the commit (Kysely
 *   gives the one connection to one user at a time), so a read after the change sees it;
 *   the handlers that write in a transaction (RegisterJobDefinition, DeleteJobQueue) call
 *   it once more after the commit, for PostgreSQL's pool, where reads do run meanwhile.
 * - SQLite: this server is the only process that opens the database file, so the entries
 *   are exact and live until the next change.
 * - PostgreSQL: other control planes share the database and write without telling this
 *   one. An entry serves for at most `PG_MAX_AGE_MS` after it was read, so a queue disabled
 *   or a definition deregistered on another server is honoured here within that time (the
 *   check was outside the insert's transaction before too, so a short window existed).
 *
 * Rows handed out are frozen and shared: callers must not change them.
 */
import { isPostgres } from './dialect.js';
import type { Db } from './db.js';

/** How long a PostgreSQL entry may serve: another server's change is seen within this. */
export const PG_MAX_AGE_MS = 1_000;
const MAX_ENTRIES = 1_000;

interface Entry {
  value: unknown;
  /** performance.now() when the read began */
  at: number;
  /** the generation it was read in: an entry of an older one is stale */
  gen: number;
}

let generation = 0;
const caches = new WeakMap<Db, Map<string, Entry>>();

/** A job queue, job definition or compute environment changed (or is about to): forget every cached lookup. */
export function lookupsChanged(): void {
  generation++;
}

/**
 * `load()`'s answer for `key`, from the cache when it may serve (see above). Misses (undefined)
 * are not cached: a resource created by another server is found at once.
 */
export async function cachedLookup<T extends object>(db: Db, key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new Map()));
  const gen = generation;
  const hit = cache.get(key);
  const maxAge = isPostgres(db) ? PG_MAX_AGE_MS : Infinity;
  if (hit && hit.gen === gen && performance.now() - hit.at < maxAge) return hit.value as T;
  const at = performance.now();
  const value = await load();
  if (value !== undefined && generation === gen) {
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(key, { value: Object.freeze(value), at, gen });
  }
  return value;
}
