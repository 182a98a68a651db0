import type { Kysely } from 'kysely';
import { realType } from '../dialect.js';

/**
 * Multi-node parallel jobs and attempt cost.
 *
 * jobs.num_nodes   a multi-node parent: how many nodes its gang has (null for other jobs).
 * jobs.node_index  a node of a multi-node job (`<parentId>#<index>`); its parent is parent_id.
 * attempts.vcpus / memory_mib / gpus   what the attempt reserved on its instance, so cost and
 *                  accounting read the attempt alone, whatever the job's spec says later.
 * attempts.rate_per_hour   the attempt's hourly cost at the prices in force when it was
 *                  placed (0 when no price applies); cost = rate × reserved hours.
 * attempts.pricing  where that rate came from, e.g. `spot:m5.large` or `fargate` (null: none).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('num_nodes', 'integer').execute();
  await db.schema.alterTable('jobs').addColumn('node_index', 'integer').execute();
  await db.schema.alterTable('attempts').addColumn('vcpus', realType(db)).execute();
  await db.schema.alterTable('attempts').addColumn('memory_mib', 'integer').execute();
  await db.schema.alterTable('attempts').addColumn('gpus', 'integer').execute();
  await db.schema.alterTable('attempts').addColumn('rate_per_hour', realType(db)).execute();
  await db.schema.alterTable('attempts').addColumn('pricing', 'text').execute();
  await db.schema.createIndex('attempts_created').on('attempts').column('created_at').execute();
}
