/**
 * Log events of attempts, in CloudWatch Logs terms: a group (default /aws/batch/job), a stream
 * per attempt (the attempt's logStreamName), events with a timestamp and a message. Events
 * are appended in batches as agents report them, so lines are readable while a job runs.
 *
 * `log_streams` summarises each stream that has events (first/last event time, last
 * ingestion); it is updated in the same transaction as the events it describes, so listing
 * streams and groups never reads the events themselves.
 */
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Db } from './db.js';
import { isPostgres } from './dialect.js';
import type { Database } from './schema.js';
import { transaction, type Tx } from './unitOfWork.js';
import { FixedStatement } from './statementCache.js';

type Writer = Tx['db'] | Db;

export const DEFAULT_LOG_GROUP = '/aws/batch/job';

export interface NewLogEvent {
  logGroup: string;
  logStream: string;
  timestamp: number;
  message: string;
}

/**
 * The smaller (or larger) of a stored column and the value of the row being upserted; the
 * upserted value alone while the stored stream has no events (its timestamps are placeholders).
 */
function pick(column: string, op: '<' | '>') {
  return sql<number>`CASE WHEN log_streams.has_events = 0 OR excluded.${sql.ref(column)} ${sql.raw(op)} log_streams.${sql.ref(column)} THEN excluded.${sql.ref(column)} ELSE log_streams.${sql.ref(column)} END`;
}

/**
 * Creates an attempt's stream when the attempt starts, before its first line, as AWS does:
 * DescribeLogStreams lists it and GetLogEvents answers (with no events) at once.
 */
const CREATE_LOG_STREAM = new FixedStatement<never>(
  'INSERT INTO log_streams (log_group, log_stream, creation_time, first_event_timestamp, last_event_timestamp, last_ingestion_time, has_events)' +
    ' VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (log_group, log_stream) DO NOTHING',
);

/** Runs once per placed attempt: fixed SQL (FixedStatement). */
export async function createLogStream(db: Writer, logGroup: string, logStream: string, now: number): Promise<void> {
  await CREATE_LOG_STREAM.run(db, [logGroup, logStream, now, now, now, now]);
}

const DROP_EMPTY_LOG_STREAM = new FixedStatement<never>('DELETE FROM log_streams WHERE log_group = ? AND log_stream = ? AND has_events = 0');

/** Removes a stream no line was ever written to (the stream of an attempt that was taken back before it ran). */
export async function dropEmptyLogStream(db: Writer, logGroup: string, logStream: string): Promise<void> {
  await DROP_EMPTY_LOG_STREAM.exec(db, [logGroup, logStream]);
}

/** The log group of a job's attempts: its definition's awslogs-group option, else /aws/batch/job. */
export function logGroupOf(containerProperties: { logConfiguration?: { options?: Record<string, string> } } | undefined): string {
  return containerProperties?.logConfiguration?.options?.['awslogs-group'] || DEFAULT_LOG_GROUP;
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
  const streams = new Map<string, { log_group: string; log_stream: string; first: number; last: number }>();
  for (const e of events) {
    const key = `${e.logGroup}\n${e.logStream}`;
    const s = streams.get(key);
    if (!s) streams.set(key, { log_group: e.logGroup, log_stream: e.logStream, first: e.timestamp, last: e.timestamp });
    else {
      s.first = Math.min(s.first, e.timestamp);
      s.last = Math.max(s.last, e.timestamp);
    }
  }
  for (const s of streams.values()) {
    await db
      .insertInto('log_streams')
      .values({
        log_group: s.log_group,
        log_stream: s.log_stream,
        creation_time: ingestionTime,
        first_event_timestamp: s.first,
        last_event_timestamp: s.last,
        last_ingestion_time: ingestionTime,
      })
      .onConflict((oc) =>
        oc.columns(['log_group', 'log_stream']).doUpdateSet({
          first_event_timestamp: pick('first_event_timestamp', '<'),
          last_event_timestamp: pick('last_event_timestamp', '>'),
          last_ingestion_time: pick('last_ingestion_time', '>'),
          has_events: 1,
        }),
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

/**
 * Events of one stream in order, after (or before, backwards) a given event id, within
 * [startTime, endTime). Backwards reads return the `limit` events nearest the cursor, still
 * in ascending order.
 */
export async function readLogStream(
  db: Writer,
  opts: {
    logGroup: string;
    logStream: string;
    afterId?: number;
    beforeId?: number;
    startTime?: number;
    endTime?: number;
    limit: number;
    backwards?: boolean;
  },
): Promise<LogEventRow[]> {
  let q = db
    .selectFrom('log_events')
    .select(['id', 'timestamp', 'ingestion_time', 'message'])
    .where('log_group', '=', opts.logGroup)
    .where('log_stream', '=', opts.logStream)
    .limit(opts.limit);
  if (opts.afterId !== undefined) q = q.where('id', '>', opts.afterId);
  if (opts.beforeId !== undefined) q = q.where('id', '<', opts.beforeId);
  if (opts.startTime !== undefined) q = q.where('timestamp', '>=', opts.startTime);
  if (opts.endTime !== undefined) q = q.where('timestamp', '<', opts.endTime);
  q = q.orderBy('id', opts.backwards ? 'desc' : 'asc');
  const rows = await q.execute();
  return opts.backwards ? rows.reverse() : rows;
}

/**
 * What a filter pattern for unstructured events asks, already parsed: every term of `all`,
 * at least one of `any` (when there are some) and none of `none` appear in the message,
 * case-sensitively.
 */
export interface TermMatch {
  all: string[];
  any: string[];
  none: string[];
}

export interface FilterQuery {
  logGroup: string;
  /** only these streams (at most 100) */
  streams?: string[];
  streamPrefix?: string;
  startTime?: number;
  /** inclusive, as FilterLogEvents defines it */
  endTime?: number;
  match: TermMatch;
  /** continue after this (timestamp, id) */
  after?: { timestamp: number; id: number };
  limit: number;
}

export interface FilteredEventRow extends LogEventRow {
  log_stream: string;
}

/** `column` starts with `prefix`, case-sensitively (LIKE is case-insensitive in SQLite). */
function startsWith(eb: ExpressionBuilder<Database, 'log_events' | 'log_streams'>, column: 'log_stream', prefix: string): Expression<SqlBool> {
  return eb.and([eb(column, '>=', prefix), eb(sql<string>`substr(${sql.ref(column)}, 1, ${prefix.length})`, '=', prefix)]);
}

/** Case-sensitive substring test: SQLite's `instr`, PostgreSQL's `strpos`. */
function contains(db: Writer, term: string) {
  return isPostgres(db) ? sql<boolean>`strpos(message, ${term}) > 0` : sql<boolean>`instr(message, ${term}) > 0`;
}

/** A group's events in (timestamp, id) order that match the query. */
export async function filterLogEvents(db: Writer, f: FilterQuery): Promise<FilteredEventRow[]> {
  let q = db
    .selectFrom('log_events')
    .select(['id', 'log_stream', 'timestamp', 'ingestion_time', 'message'])
    .where('log_group', '=', f.logGroup)
    .orderBy('timestamp', 'asc')
    .orderBy('id', 'asc')
    .limit(f.limit);
  if (f.streams) q = q.where('log_stream', 'in', f.streams);
  if (f.streamPrefix !== undefined) {
    const prefix = f.streamPrefix;
    q = q.where((eb) => startsWith(eb, 'log_stream', prefix));
  }
  if (f.startTime !== undefined) q = q.where('timestamp', '>=', f.startTime);
  if (f.endTime !== undefined) q = q.where('timestamp', '<=', f.endTime);
  if (f.after) {
    const { timestamp, id } = f.after;
    q = q.where((eb) => eb.or([eb('timestamp', '>', timestamp), eb.and([eb('timestamp', '=', timestamp), eb('id', '>', id)])]));
  }
  for (const term of f.match.all) q = q.where(contains(db, term));
  for (const term of f.match.none) q = q.where(sql<boolean>`NOT (${contains(db, term)})`);
  if (f.match.any.length) q = q.where((eb) => eb.or(f.match.any.map((t) => contains(db, t))));
  return q.execute();
}

export interface LogStreamRow {
  log_stream: string;
  creation_time: number;
  first_event_timestamp: number;
  last_event_timestamp: number;
  last_ingestion_time: number;
  /** 0: no events yet, the timestamps above are placeholders */
  has_events: number;
}

export type StreamOrder =
  | { by: 'name'; descending: boolean; prefix?: string; after?: string }
  | { by: 'lastEventTime'; descending: boolean; after?: { last: number; name: string } };

/** A page of a group's streams that have events, by name or by last event time. */
export async function listLogStreams(db: Writer, logGroup: string, order: StreamOrder, limit: number): Promise<LogStreamRow[]> {
  const dir = order.descending ? 'desc' : 'asc';
  const cmp = order.descending ? '<' : '>';
  let q = db
    .selectFrom('log_streams')
    .select(['log_stream', 'creation_time', 'first_event_timestamp', 'last_event_timestamp', 'last_ingestion_time', 'has_events'])
    .where('log_group', '=', logGroup)
    .limit(limit);
  if (order.by === 'name') {
    const { prefix, after } = order;
    if (prefix !== undefined) q = q.where((eb) => startsWith(eb, 'log_stream', prefix));
    if (after !== undefined) q = q.where('log_stream', cmp, after);
    q = q.orderBy('log_stream', dir);
  } else {
    const { after } = order;
    if (after) {
      q = q.where((eb) =>
        eb.or([eb('last_event_timestamp', cmp, after.last), eb.and([eb('last_event_timestamp', '=', after.last), eb('log_stream', cmp, after.name)])]),
      );
    }
    q = q.orderBy('last_event_timestamp', dir).orderBy('log_stream', dir);
  }
  return q.execute();
}

/**
 * Whether a stream exists: it has a summary row (made when its attempt started, or by its
 * first events), or it is the stream of an attempt from before streams were made at start.
 */
export async function logStreamExists(db: Writer, logGroup: string, logStream: string): Promise<boolean> {
  const row = await db.selectFrom('log_streams').select('log_stream').where('log_group', '=', logGroup).where('log_stream', '=', logStream).executeTakeFirst();
  if (row) return true;
  const attempt = await db.selectFrom('attempts').select('log_group').where('log_stream_name', '=', logStream).limit(1).executeTakeFirst();
  return attempt !== undefined && (attempt.log_group ?? DEFAULT_LOG_GROUP) === logGroup;
}

export interface LogGroupRow {
  log_group: string;
  creation_time: number | null;
}

/**
 * Groups in name order: every group that has streams, plus the default group, which always
 * exists. `after` continues after a name; `prefix` and `contains` are case-sensitive.
 */
export async function listLogGroups(db: Writer, opts: { prefix?: string; contains?: string; names?: string[]; after?: string; limit: number }): Promise<LogGroupRow[]> {
  const rows = await db
    .selectFrom('log_streams')
    .select(['log_group', (eb) => eb.fn.min<number>('creation_time').as('creation_time')])
    .groupBy('log_group')
    .execute();
  const groups = new Map<string, number | null>(rows.map((r) => [r.log_group, r.creation_time]));
  if (!groups.has(DEFAULT_LOG_GROUP)) groups.set(DEFAULT_LOG_GROUP, null);
  // Groups are few (one per logConfiguration group in use): filtering them here is cheap.
  return [...groups.entries()]
    .map(([log_group, creation_time]) => ({ log_group, creation_time }))
    .filter((g) => opts.prefix === undefined || g.log_group.startsWith(opts.prefix))
    .filter((g) => opts.contains === undefined || g.log_group.includes(opts.contains))
    .filter((g) => opts.names === undefined || opts.names.includes(g.log_group))
    .filter((g) => opts.after === undefined || g.log_group > opts.after)
    .sort((a, b) => (a.log_group < b.log_group ? -1 : a.log_group > b.log_group ? 1 : 0))
    .slice(0, opts.limit);
}

/** Whether a group exists: the default group always does, others while they have streams. */
export async function logGroupExists(db: Writer, logGroup: string): Promise<boolean> {
  if (logGroup === DEFAULT_LOG_GROUP) return true;
  const row = await db.selectFrom('log_streams').select('log_group').where('log_group', '=', logGroup).limit(1).executeTakeFirst();
  return row !== undefined;
}

/**
 * Retention: deletes events whose timestamp is before `cutoff`, a bounded batch per
 * statement so a large backlog never holds the writer for long, then brings the summaries
 * of the streams it touched up to date (a stream left without events disappears).
 * Returns how many events were deleted.
 */
export async function deleteLogEventsBefore(db: Db, cutoff: number, batch = 5000): Promise<number> {
  const streams = await db
    .selectFrom('log_streams')
    .select(['log_group', 'log_stream'])
    .where('first_event_timestamp', '<', cutoff)
    .execute();
  let deleted = 0;
  for (const s of streams) {
    for (;;) {
      const res = await db
        .deleteFrom('log_events')
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('log_events')
            .select('id')
            .where('log_group', '=', s.log_group)
            .where('log_stream', '=', s.log_stream)
            .where('timestamp', '<', cutoff)
            .limit(batch),
        )
        .executeTakeFirst();
      const n = Number(res.numDeletedRows);
      deleted += n;
      if (n < batch) break;
    }
    await transaction(db, async (trx) => {
      const left = await trx
        .selectFrom('log_events')
        .select([(eb) => eb.fn.min<number>('timestamp').as('first'), (eb) => eb.fn.count<number>('id').as('n')])
        .where('log_group', '=', s.log_group)
        .where('log_stream', '=', s.log_stream)
        .executeTakeFirstOrThrow();
      const gone = trx.deleteFrom('log_streams').where('log_group', '=', s.log_group).where('log_stream', '=', s.log_stream);
      if (Number(left.n) === 0) await gone.execute();
      else
        await trx
          .updateTable('log_streams')
          .set({ first_event_timestamp: left.first })
          .where('log_group', '=', s.log_group)
          .where('log_stream', '=', s.log_stream)
          .execute();
    });
  }
  return deleted;
}
