/** Queries of the consumable_resources table. */
import type { Db } from './db.js';
import type { ConsumableResourceTable } from './schema.js';

export type ConsumableResourceRow = ConsumableResourceTable;

export async function getConsumableResource(db: Db, name: string): Promise<ConsumableResourceRow | undefined> {
  return db.selectFrom('consumable_resources').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function listConsumableResources(db: Db, opts: { after?: string; limit: number }): Promise<ConsumableResourceRow[]> {
  let q = db.selectFrom('consumable_resources').selectAll().orderBy('name').limit(opts.limit);
  if (opts.after !== undefined) q = q.where('name', '>', opts.after);
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
