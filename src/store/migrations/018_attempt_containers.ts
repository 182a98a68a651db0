import type { Kysely } from 'kysely';

/**
 * attempts.containers  how each container of a task ended (jobs of ecsProperties and
 *                      eksProperties): JSON [{name, exitCode, reason?}], as the agent reported
 *                      it (model/taskSpec.ts, executor/pod.ts); null for a job of one container.
 *                      DescribeJobs shows it per attempt (taskProperties, eksAttempts) and,
 *                      for the current attempt, in the job's ecsProperties or eksProperties.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('attempts').addColumn('containers', 'text').execute();
}
