/**
 * Queries of the consumable_resources table, and the one place that says how many units of
 * each resource are in use.
 */
import { sql } from 'kysely';
import type { Db } from './db.js';
import { encodeColumns, type WithValues } from './json.js';
import { nameMatches } from './like.js';
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

/** A consumable resource as it is written: its tags as values. */
export type NewConsumableResource = WithValues<ConsumableResourceRow, { tags: Record<string, string> }>;

export async function insertConsumableResource(db: Db, row: NewConsumableResource): Promise<void> {
  await db.insertInto('consumable_resources').values(encodeColumns<ConsumableResourceRow>(row, ['tags'])).execute();
}

export async function updateConsumableResource(db: Db, name: string, patch: { total_quantity: number }): Promise<void> {
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
 * The sum is over STARTING and RUNNING jobs; DescribeConsumableResource and
 * ListConsumableResources read in-use quantities only through it.
 */
export async function inUseQuantities(db: Db, names: readonly string[]): Promise<Map<string, number>> {
  const out = new Map(names.map((n) => [n, 0]));
  const replenishable = new Set(
    (await db.selectFrom('consumable_resources').select(['name', 'resource_type']).execute())
      .filter((r) => r.resource_type !== 'NON_REPLENISHABLE')
      .map((r) => r.name),
  );
  const holders = await db
    .selectFrom('jobs')
    .select('consumables')
    .where('status', 'in', ['STARTING', 'RUNNING'])
    .where('consumables', 'is not', null)
    .execute();
  for (const h of holders) {
    for (const c of JSON.parse(h.consumables!) as { name: string; quantity: number }[]) {
      if (out.has(c.name) && replenishable.has(c.name)) out.set(c.name, out.get(c.name)! + c.quantity);
    }
  }
  return out;
}

/** Units free now of every consumable resource, by name: total minus what running jobs hold. */
export async function availableQuantities(db: Db): Promise<Map<string, number>> {
  const rows = await db.selectFrom('consumable_resources').select(['name', 'total_quantity']).execute();
  const inUse = await inUseQuantities(db, rows.map((r) => r.name));
  return new Map(rows.map((r) => [r.name, Number(r.total_quantity) - (inUse.get(r.name) ?? 0)]));
}

/**
 * A NON_REPLENISHABLE resource is consumed by the jobs that start with it: its total goes
 * down by what they take, for good.
 */
export async function consumeNonReplenishable(db: Db, taken: Map<string, number>): Promise<void> {
  for (const [name, quantity] of taken) {
    await db
      .updateTable('consumable_resources')
      .set((eb) => ({ total_quantity: eb('total_quantity', '-', quantity) }))
      .where('name', '=', name)
      .where('resource_type', '=', 'NON_REPLENISHABLE')
      .execute();
  }
}

/**
 * Jobs that require a resource, newest first. Requirements live in the jobs' JSON column,
 * so this scans the jobs table: fine for an occasional question, not for a hot path.
 * `names` match case-insensitively, a trailing `*` by prefix.
 */
export async function listJobsRequiring(
  db: Db,
  resource: string,
  f: { statuses?: string[]; names?: string[]; afterSeq?: number; limit: number },
) {
  let q = db
    .selectFrom('jobs')
    .selectAll()
    .where('consumables', 'like', `%"name":${JSON.stringify(resource)}%`)
    .orderBy('seq', 'desc')
    .limit(f.limit);
  if (f.afterSeq !== undefined) q = q.where('seq', '<', f.afterSeq);
  if (f.statuses) q = q.where('status', 'in', f.statuses.length ? f.statuses : ['']);
  if (f.names) {
    const names = f.names;
    q = q.where((eb) => eb.or(names.map((v) => nameMatches('name', v))));
  }
  return q.execute();
}
