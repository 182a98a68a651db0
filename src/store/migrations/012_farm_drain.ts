import type { Kysely } from 'kysely';

/**
 * The farm's drain (`openbatch drain`, src/store/drain.ts): one row while the farm is being
 * drained, none otherwise. Every control plane sharing the database reads it.
 *
 * name       'drain'
 * stop_jobs  1: running jobs are stopped too (--stop-jobs); 0: they finish
 * since      epoch ms when the drain began
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('farm_drain')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('stop_jobs', 'integer', (c) => c.notNull())
    .addColumn('since', 'bigint', (c) => c.notNull())
    .execute();
}
