import { type Kysely, sql } from 'kysely';
import { autoId, realType } from '../dialect.js';

/**
 * The first schema: every AWS Batch resource, jobs with attempts, instances and log events.
 * (The few dialect helpers leave SQLite's schema exactly as it was first created.)
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('compute_environments')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('arn', 'text', (c) => c.notNull().unique())
    .addColumn('uuid', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_reason', 'text')
    .addColumn('compute_resources', 'text')
    .addColumn('service_role', 'text')
    .addColumn('extra', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('desired_vcpus', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('job_queues')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('arn', 'text', (c) => c.notNull().unique())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_reason', 'text')
    .addColumn('priority', 'integer', (c) => c.notNull())
    .addColumn('ce_order', 'text', (c) => c.notNull())
    .addColumn('scheduling_policy_arn', 'text')
    .addColumn('time_limit_actions', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('job_definitions')
    .addColumn('arn', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('job_definitions_name_revision', ['name', 'revision'])
    .execute();

  await db.schema
    .createTable('scheduling_policies')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('arn', 'text', (c) => c.notNull().unique())
    .addColumn('fairshare_policy', 'text')
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('consumable_resources')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('arn', 'text', (c) => c.notNull().unique())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('total_quantity', 'bigint', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('jobs')
    .addColumn('seq', ...autoId(db))
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('arn', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('queue', 'text', (c) => c.notNull())
    .addColumn('queue_arn', 'text', (c) => c.notNull())
    .addColumn('definition_arn', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_reason', 'text')
    .addColumn('wait_code', 'text')
    .addColumn('wait_since', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('runnable_at', 'bigint')
    .addColumn('started_at', 'bigint')
    .addColumn('stopped_at', 'bigint')
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('depends_on', 'text', (c) => c.notNull())
    .addColumn('pending_deps', 'integer', (c) => c.notNull())
    .addColumn('vcpus', realType(db), (c) => c.notNull())
    .addColumn('memory_mib', 'integer', (c) => c.notNull())
    .addColumn('gpus', 'integer', (c) => c.notNull())
    .addColumn('share_identifier', 'text')
    .addColumn('scheduling_priority', 'integer', (c) => c.notNull())
    .addColumn('consumables', 'text')
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('attempt_count', 'integer', (c) => c.notNull())
    .addColumn('timeout_seconds', 'integer')
    .addColumn('ce_name', 'text')
    .addColumn('instance_id', 'text')
    .addColumn('exit_code', 'integer')
    .addColumn('log_stream_name', 'text')
    .addColumn('terminate_reason', 'text')
    .addColumn('stopped_by', 'text')
    .addColumn('array_size', 'integer')
    .addColumn('array_index', 'integer')
    .addColumn('parent_id', 'text')
    .addColumn('array_materialized', 'integer')
    .addColumn('array_succeeded', 'integer')
    .addColumn('array_failed', 'integer')
    .addColumn('tags', 'text', (c) => c.notNull())
    .execute();
  // The scheduler reads the head of each queue: RUNNABLE jobs in submission order.
  await db.schema.createIndex('jobs_queue_status_seq').on('jobs').columns(['queue', 'status', 'seq']).execute();
  await db.schema.createIndex('jobs_status_seq').on('jobs').columns(['status', 'seq']).execute();
  // Fair-share queues read the head of each share: by schedulingPriority (high first), then submission.
  await db.schema
    .createIndex('jobs_share_head')
    .on('jobs')
    .columns(['queue', 'status', 'share_identifier', 'scheduling_priority desc', 'seq'])
    .execute();
  await db.schema.createIndex('jobs_parent').on('jobs').columns(['parent_id', 'array_index']).execute();
  // Children of a parent by status; with parent_id NULL and array_size NOT NULL it also finds
  // the array parents waiting for expansion without scanning every PENDING job.
  await db.schema.createIndex('jobs_parent_status').on('jobs').columns(['parent_id', 'status', 'array_size']).execute();
  await db.schema.createIndex('jobs_instance').on('jobs').columns(['instance_id', 'status']).execute();

  await db.schema
    .createTable('job_dependencies')
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('depends_on_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text')
    .addPrimaryKeyConstraint('job_dependencies_pk', ['depends_on_id', 'job_id'])
    .execute();

  await db.schema
    .createTable('attempts')
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('token', 'text', (c) => c.notNull())
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('ce_name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('stopped_at', 'bigint')
    .addColumn('exit_code', 'integer')
    .addColumn('reason', 'text')
    .addColumn('status_reason', 'text')
    .addColumn('log_stream_name', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('attempts_pk', ['job_id', 'attempt'])
    .execute();
  await db.schema.createIndex('attempts_instance_status').on('attempts').columns(['instance_id', 'status']).execute();

  await db.schema
    .createTable('instances')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('ce_name', 'text', (c) => c.notNull())
    .addColumn('instance_type', 'text', (c) => c.notNull())
    .addColumn('vcpus', 'integer', (c) => c.notNull())
    .addColumn('memory_mib', 'integer', (c) => c.notNull())
    .addColumn('gpus', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('provider_data', 'text', (c) => c.notNull())
    .addColumn('launched_at', 'bigint', (c) => c.notNull())
    .addColumn('last_heartbeat_at', 'bigint', (c) => c.notNull())
    .addColumn('terminated_at', 'bigint')
    .addColumn('termination_reason', 'text')
    .execute();
  await db.schema.createIndex('instances_ce_state').on('instances').columns(['ce_name', 'state']).execute();

  await db.schema
    .createTable('log_events')
    .addColumn('id', ...autoId(db))
    .addColumn('log_group', 'text', (c) => c.notNull())
    .addColumn('log_stream', 'text', (c) => c.notNull())
    .addColumn('timestamp', 'bigint', (c) => c.notNull())
    .addColumn('ingestion_time', 'bigint', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('log_events_stream').on('log_events').columns(['log_group', 'log_stream', 'id']).execute();
  void sql;
}
