import type { Kysely } from 'kysely';
import { realType } from '../dialect.js';

/**
 * What each attempt really used (model/usage.ts, store/attemptUsage.ts), as its agent reports
 * it while it runs and at its end; null where nothing was measured (an older agent, a host
 * that gives no such figure, an attempt that never started).
 *
 * attempts.cpu_seconds        CPU time of its processes, user and system
 * attempts.peak_memory_bytes  the most memory it held at once
 * attempts.memory_bytes       memory it held at the latest sample
 * attempts.read_bytes / write_bytes  bytes read from and written to block devices
 * attempts.usage_at           when the latest figures were taken (epoch ms)
 * attempts.usage_source       cgroup, proc or engine
 * attempts.memory_series      memory over time while it ran: JSON [[epoch ms, bytes], …], at
 *                             most 120 points (older ones thinned)
 * jobs_definition_stopped     a job definition's latest ended jobs, for right-sizing advice
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const c of ['cpu_seconds', 'peak_memory_bytes', 'memory_bytes', 'read_bytes', 'write_bytes']) {
    await db.schema.alterTable('attempts').addColumn(c, realType(db)).execute();
  }
  await db.schema.alterTable('attempts').addColumn('usage_at', 'bigint').execute();
  await db.schema.alterTable('attempts').addColumn('usage_source', 'text').execute();
  await db.schema.alterTable('attempts').addColumn('memory_series', 'text').execute();
  await db.schema.createIndex('jobs_definition_stopped').on('jobs').columns(['definition_arn', 'stopped_at']).execute();
}
