import type { Kysely } from 'kysely';
import { autoId } from '../dialect.js';

/**
 * Operations: the webhook outbox, the trigger file ledger, and log groups per attempt.
 *
 * - `webhook_outbox`: one row per (webhook, job state change) still to deliver, written in the
 *   same transaction as the change, deleted once delivered; `id` orders a hook's events.
 * - `trigger_files`: every file a trigger rule has submitted (rule, path, size, mtime): a file
 *   is submitted once, across restarts.
 * - `attempts.log_group`: the attempt's CloudWatch log group (its job definition's
 *   awslogs-group option, else /aws/batch/job); null on rows from before, meaning the default.
 * - `log_streams.has_events`: a stream is created when its attempt starts, before its first
 *   line (as AWS does); until then its event timestamps are placeholders and not reported.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('webhook_outbox')
    .addColumn('id', ...autoId(db))
    .addColumn('hook', 'text', (c) => c.notNull())
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .execute();
  await db.schema.createIndex('webhook_outbox_hook').on('webhook_outbox').columns(['hook', 'id']).execute();
  await db.schema
    .createTable('trigger_files')
    .addColumn('rule', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('mtime_ms', 'bigint', (c) => c.notNull())
    .addColumn('job_id', 'text')
    .addColumn('submitted_at', 'bigint', (c) => c.notNull())
    .addColumn('error', 'text')
    .addPrimaryKeyConstraint('trigger_files_pk', ['rule', 'path', 'size', 'mtime_ms'])
    .execute();
  await db.schema.alterTable('attempts').addColumn('log_group', 'text').execute();
  await db.schema.alterTable('log_streams').addColumn('has_events', 'integer', (c) => c.notNull().defaultTo(1)).execute();
}
