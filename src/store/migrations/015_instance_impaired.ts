import type { Kysely } from 'kysely';

/**
 * Why an instance takes no work while its agent lives (state IMPAIRED): its container engine
 * does not answer, its work directory's disk is full. Null when it can take work.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('instances').addColumn('status_reason', 'text').execute();
}
