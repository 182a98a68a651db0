import type { Kysely } from 'kysely';

/**
 * Indexes the dashboard's reads need to stay fast with a million jobs (store/jobReports.ts):
 * - `jobs_queue_seq`: the jobs table filtered by queue alone, newest first, one page at a
 *   time (the (queue, status, seq) index serves queue + state, not queue alone);
 * - `jobs_created`: a time filter becomes a range of `seq` (submission order), so a page
 *   of an old time window does not walk every newer job;
 * - `jobs_status_stopped`: throughput and failures of the last hour read only the jobs that
 *   ended in it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('jobs_queue_seq').on('jobs').columns(['queue', 'seq']).execute();
  await db.schema.createIndex('jobs_created').on('jobs').columns(['created_at']).execute();
  await db.schema.createIndex('jobs_status_stopped').on('jobs').columns(['status', 'stopped_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('jobs_queue_seq').execute();
  await db.schema.dropIndex('jobs_created').execute();
  await db.schema.dropIndex('jobs_status_stopped').execute();
}
