/**
 * Queries of the consumable_resources table, and the one place that says how many units of
 * each resource are in use.
 */
import { sql } from 'kysely';
import type { Db } from './db.js';
import type { ConsumableResourceTable } from './schema.js';

export type ConsumableResourceRow = ConsumableResourceTable;

export async function getConsumableResource(db: Db, name: string): Promise<ConsumableResourceRow | undefined> {
  return db.selectFrom('consumable_resources').selectAll().where('name', '=', name).executeTakeFirst();
}

/**
 * Which names a listing keeps: a name matches when it equals one of `exact` or begins with
 * one of `prefixes`, ignoring case (ListConsumableResources' CONSUMABLE_RESOURCE_NAME filter).
 * Each entry of the array is one filter; a name must pass every filter.
 */
export interface NameMatch {
  exact: string[];
  prefixes: string[];
}

export async function listConsumableResources(
  db: Db,
  opts: { after?: string; limit: number; names?: readonly NameMatch[] },
): Promise<ConsumableResourceRow[]> {
  let q = db.selectFrom('consumable_resources').selectAll().orderBy('name').limit(opts.limit);
  if (opts.after !== undefined) q = q.where('name', '>', opts.after);
  for (const match of opts.names ?? []) {
    // substr/lower rather than LIKE: names may contain `_`, which LIKE reads as a wildcard.
    q = q.where((eb) =>
      eb.or([
        ...match.exact.map((v) => eb(sql<string>`lower(name)`, '=', v.toLowerCase())),
        ...match.prefixes.map((p) => eb(sql<string>`substr(lower(name), 1, ${p.length})`, '=', p.toLowerCase())),
      ]),
    );
  }
  return q.execute();
}

export async function insertConsumableResource(db: Db, row: ConsumableResourceRow): Promise<void> {
  await db.insertInto('consumable_resources').values(row).execute();
}

export async function updateConsumableResource(db: Db, name: string, patch: Partial<ConsumableResourceRow>): Promise<void> {
  await db.updateTable('consumable_resources').set(patch).where('name', '=', name).execute();
}

export async function deleteConsumableResource(db: Db, name: string): Promise<void> {
  await db.deleteFrom('consumable_resources').where('name', '=', name).execute();
}

/**
 * Units of each named resource held by jobs right now, by resource name (every name asked
 * for is in the map).
 *
 * AWS holds a job's units from STARTING until SUCCEEDED or FAILED. A REPLENISHABLE resource
 * gets them back then; a NON_REPLENISHABLE one never does: the scheduler that places the job
 * also lowers the resource's `total_quantity` by what the job took.
 *
 * Jobs do not hold units yet: until the scheduler places jobs by their
 * consumableResourceProperties (issue 4) every quantity is 0. This function is where that
 * work fills in the sum over STARTING and RUNNING jobs; DescribeConsumableResource and
 * ListConsumableResources read in-use quantities only through it.
 */
export async function inUseQuantities(_db: Db, names: readonly string[]): Promise<Map<string, number>> {
  return new Map(names.map((n) => [n, 0]));
}
