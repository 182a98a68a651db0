import type { Kysely } from 'kysely';

/**
 * A RUNNABLE job waiting for capacity keeps the scheduler pass's account of it: what its
 * capacity comes from or what holds it (compute/planScaling.ts), as JSON. `why` reads it on
 * every server, the leader and those that do not run the scheduler alike. And the dashboard's
 * compute page counts the last hour's launches and terminations: by time, not by scanning.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('wait_detail', 'text').execute();
  await db.schema.createIndex('instances_launched_at').on('instances').column('launched_at').execute();
  await db.schema.createIndex('instances_terminated_at').on('instances').column('terminated_at').execute();
}
