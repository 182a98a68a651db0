import { sql, type Kysely } from 'kysely';

/**
 * Log streams as a summary table, kept by the same transaction that appends their events, so
 * DescribeLogStreams and DescribeLogGroups cost O(streams listed), never O(events). Also the
 * indexes FilterLogEvents (a group's events in timestamp order) and stream lookups by name
 * (a job's stream before its first line) need.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('log_streams')
    .addColumn('log_group', 'text', (c) => c.notNull())
    .addColumn('log_stream', 'text', (c) => c.notNull())
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('first_event_timestamp', 'bigint', (c) => c.notNull())
    .addColumn('last_event_timestamp', 'bigint', (c) => c.notNull())
    .addColumn('last_ingestion_time', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('log_streams_pk', ['log_group', 'log_stream'])
    .execute();
  await db.schema.createIndex('log_streams_last_event').on('log_streams').columns(['log_group', 'last_event_timestamp', 'log_stream']).execute();
  await db.schema.createIndex('log_events_group_time').on('log_events').columns(['log_group', 'timestamp', 'id']).execute();
  await db.schema.createIndex('attempts_log_stream').on('attempts').column('log_stream_name').execute();
  // Databases that already hold events get their streams summarised once.
  await sql`
    INSERT INTO log_streams (log_group, log_stream, creation_time, first_event_timestamp, last_event_timestamp, last_ingestion_time)
    SELECT log_group, log_stream, MIN(ingestion_time), MIN(timestamp), MAX(timestamp), MAX(ingestion_time)
    FROM log_events GROUP BY log_group, log_stream`.execute(db);
}
