/**
 * Log events of attempts, in CloudWatch Logs terms: a group (default /aws/batch/job), a stream
 * per attempt (the attempt's logStreamName), events with a timestamp and a message. Events
 * are appended in batches as agents report them, so lines are readable while a job runs.
 */
import type { Db } from './db.js';
import type { Tx } from './unitOfWork.js';

type Writer = Tx['db'] | Db;

export const DEFAULT_LOG_GROUP = '/aws/batch/job';

export interface NewLogEvent {
  logGroup: string;
  logStream: string;
  timestamp: number;
  message: string;
}

export async function appendLogEvents(db: Writer, events: NewLogEvent[], ingestionTime: number): Promise<void> {
  // SQLite limits bound parameters per statement; 6 columns × 150 rows stays well inside it.
  for (let i = 0; i < events.length; i += 150) {
    await db
      .insertInto('log_events')
      .values(
        events.slice(i, i + 150).map((e) => ({
          log_group: e.logGroup,
          log_stream: e.logStream,
          timestamp: e.timestamp,
          ingestion_time: ingestionTime,
          message: e.message,
        })),
      )
      .execute();
  }
}

export interface LogEventRow {
  id: number;
  timestamp: number;
  ingestion_time: number;
  message: string;
}

/** Events of one stream in order, after (or before, backwards) a given event id. */
export async function readLogStream(
  db: Writer,
  opts: { logGroup: string; logStream: string; afterId?: number; beforeId?: number; limit: number; backwards?: boolean },
): Promise<LogEventRow[]> {
  let q = db
    .selectFrom('log_events')
    .select(['id', 'timestamp', 'ingestion_time', 'message'])
    .where('log_group', '=', opts.logGroup)
    .where('log_stream', '=', opts.logStream)
    .limit(opts.limit);
  if (opts.afterId !== undefined) q = q.where('id', '>', opts.afterId);
  if (opts.beforeId !== undefined) q = q.where('id', '<', opts.beforeId);
  q = q.orderBy('id', opts.backwards ? 'desc' : 'asc');
  const rows = await q.execute();
  return opts.backwards ? rows.reverse() : rows;
}
