import type { Kysely } from 'kysely';
import { isPostgres, realType } from '../dialect.js';

/**
 * What an instance shows besides its capacity: the launch template applied to it (JSON,
 * null when none) and, for a Spot instance under interruption notice, when the notice ends.
 * Fargate tasks are sized exactly to their job, so an instance's vCPUs may be fractional
 * (0.25): SQLite keeps reals in the integer column as they are, PostgreSQL needs the type.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('instances').addColumn('launch_template', 'text').execute();
  await db.schema.alterTable('instances').addColumn('interrupt_at', 'bigint').execute();
  if (isPostgres(db)) {
    await db.schema.alterTable('instances').alterColumn('vcpus', (c) => c.setDataType(realType(db))).execute();
  }
}
