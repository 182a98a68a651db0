import type { Kysely } from 'kysely';

/**
 * attempts.withdraw_at  when the scheduler asked the attempt's agent to give it back: it was
 *                       queued there, not yet started, and a job that should run before it
 *                       was placed on the same instance (scheduler/schedule.ts, step 9); null:
 *                       not asked. The agent gives it up if it has not started it
 *                       (store/withdrawals.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('attempts').addColumn('withdraw_at', 'bigint').execute();
}
