/**
 * The CloudWatch Logs read API on the openbatch endpoint (awsJson1_1: `POST /` with
 * `X-Amz-Target: Logs_20140328.<Operation>`), so that `aws logs get-log-events
 * --endpoint-url …`, `aws logs filter-log-events` and the SDK's CloudWatchLogsClient read
 * job output unchanged. Served: GetLogEvents, FilterLogEvents, DescribeLogStreams,
 * DescribeLogGroups. Errors are CloudWatch's: InvalidParameterException for bad input,
 * ResourceNotFoundException for an unknown group or stream (HTTP 400, `{__type, message}`).
 *
 * GetLogEvents tokens name a position between events: `f/<id>` reads forward from after
 * event <id>, `b/<id>` backward from before it. A page returns `f/<its last id>` and
 * `b/<its first id>`; a page with nothing new returns the token it was given, which is how
 * followers (and the SDK's paginator) know they have reached the end for now.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestContext } from '../api/context.js';
import type { ServerConfig } from '../config.js';
import { BatchError } from '../model/errors.js';
import { parseBoundedJson } from '../jsonDepth.js';
import type { Db } from '../store/db.js';
import {
  filterLogEvents,
  listLogGroups,
  listLogStreams,
  logGroupExists,
  logStreamExists,
  readLogStream,
  type StreamOrder,
} from '../store/logEvents.js';
import { FilterPatternError, parseFilterPattern } from './filterPattern.js';

interface LogsContext {
  db: Db;
  config: ServerConfig;
  request: RequestContext;
}

type Input = Record<string, unknown>;
type LogsHandler = (input: Input, ctx: LogsContext) => Promise<unknown>;

function invalid(message: string): BatchError {
  return new BatchError('InvalidParameterException', 400, message);
}

function notFound(message: string): BatchError {
  return new BatchError('ResourceNotFoundException', 400, message);
}

// ---- input checks, named for the member they check ----

function str(input: Input, member: string, o: { required?: boolean; max?: number; pattern?: RegExp; patternHint?: string } = {}): string | undefined {
  const v = input[member];
  if (v === undefined || v === null) {
    if (o.required) throw invalid(`${member} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw invalid(`${member} must be a string`);
  if (v.length === 0) throw invalid(`${member} must not be empty`);
  if (o.max !== undefined && v.length > o.max) throw invalid(`${member} must be at most ${o.max} characters`);
  if (o.pattern && !o.pattern.test(v)) throw invalid(`${member} '${v}' ${o.patternHint}`);
  return v;
}

function int(input: Input, member: string, min: number, max: number): number | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(`${member} must be an integer from ${min} to ${max}`);
  return v;
}

function bool(input: Input, member: string): boolean | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${member} must be true or false`);
  return v;
}

const STREAM_NAME = { max: 512, pattern: /^[^:*]*$/, patternHint: 'must not contain : or *' };
const GROUP_NAME = { max: 512, pattern: /^[.\-_/#A-Za-z0-9]+$/, patternHint: 'may hold only letters, digits and . - _ / #' };
const TIME_MAX = Number.MAX_SAFE_INTEGER;

/** The group name from a log group ARN (`arn:aws:logs:<region>:<account>:log-group:<name>[:*]`). */
function groupFromIdentifier(id: string): string {
  if (!id.startsWith('arn:')) return id;
  const m = /^arn:[^:]+:logs:[^:]*:[^:]*:log-group:(.+?)(:\*)?$/.exec(id);
  if (!m) throw invalid(`logGroupIdentifier '${id}' is neither a log group name nor a log group ARN (arn:aws:logs:<region>:<account>:log-group:<name>)`);
  return m[1];
}

/** logGroupName or logGroupIdentifier: exactly one, as CloudWatch requires. */
function logGroupOf(input: Input): string {
  const name = str(input, 'logGroupName', GROUP_NAME);
  const id = str(input, 'logGroupIdentifier', { max: 2048 });
  if (name !== undefined && id !== undefined) throw invalid('give logGroupName or logGroupIdentifier, not both');
  if (name === undefined && id === undefined) throw invalid('logGroupName (or logGroupIdentifier) is required, e.g. /aws/batch/job');
  return name ?? groupFromIdentifier(id!);
}

async function existingGroup(ctx: LogsContext, input: Input): Promise<string> {
  const group = logGroupOf(input);
  if (!(await logGroupExists(ctx.db, group))) throw notFound(`log group '${group}' does not exist; job output is in /aws/batch/job`);
  return group;
}

function stringList(input: Input, member: string, max: number): string[] | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length < 1 || v.length > max) throw invalid(`${member} must be a list of 1 to ${max} names`);
  return v.map((x, i) => {
    if (typeof x !== 'string' || x.length === 0) throw invalid(`${member}[${i}] must be a non-empty string`);
    return x;
  });
}

/** Opaque tokens of the listing operations: base64url JSON tagged with the operation. */
function encodeToken(op: string, position: unknown): string {
  return Buffer.from(JSON.stringify({ op, p: position })).toString('base64url');
}

function decodeToken<T>(op: string, token: string | undefined, check: (p: unknown) => boolean): T | undefined {
  if (token === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { op?: unknown; p?: unknown };
    if (parsed && parsed.op === op && check(parsed.p)) return parsed.p as T;
  } catch {
    // refused below
  }
  throw invalid(`nextToken is invalid for ${op}: pass the nextToken of the previous ${op} response unchanged`);
}

function arns(ctx: LogsContext, group: string) {
  const base = `arn:aws:logs:${ctx.request.scope.region}:${ctx.request.scope.account}:log-group:${group}`;
  return { group: `${base}:*`, groupArn: base, stream: (name: string) => `${base}:log-stream:${name}` };
}

// ---- operations ----

const getLogEvents: LogsHandler = async (input, ctx) => {
  const logStream = str(input, 'logStreamName', { required: true, ...STREAM_NAME })!;
  const limit = int(input, 'limit', 1, 10_000) ?? 10_000;
  const token = str(input, 'nextToken');
  const startFromHead = bool(input, 'startFromHead') ?? false;
  const startTime = int(input, 'startTime', 0, TIME_MAX);
  const endTime = int(input, 'endTime', 0, TIME_MAX);
  let direction: 'f' | 'b' = startFromHead ? 'f' : 'b';
  let cursor: number | undefined;
  if (token !== undefined) {
    const m = /^([fb])\/(\d{1,15})$/.exec(token);
    if (!m) throw invalid('nextToken is invalid: pass nextForwardToken or nextBackwardToken from a previous GetLogEvents response unchanged');
    direction = m[1] as 'f' | 'b';
    cursor = Number(m[2]);
  }
  const logGroup = await existingGroup(ctx, input);
  if (!(await logStreamExists(ctx.db, logGroup, logStream))) throw notFound(`log stream '${logStream}' does not exist in log group '${logGroup}'`);
  const rows = await readLogStream(ctx.db, {
    logGroup,
    logStream,
    afterId: direction === 'f' ? cursor : undefined,
    beforeId: direction === 'b' ? cursor : undefined,
    startTime,
    endTime,
    limit,
    backwards: direction === 'b',
  });
  let forward: number;
  let backward: number;
  if (rows.length) {
    forward = rows[rows.length - 1].id;
    backward = rows[0].id;
  } else if (cursor === undefined) {
    forward = 0;
    backward = 0;
  } else if (direction === 'f') {
    // Nothing after the cursor: the same forward token; backward reads from the cursor down.
    forward = cursor;
    backward = cursor + 1;
  } else {
    backward = cursor;
    forward = Math.max(cursor - 1, 0);
  }
  return {
    events: rows.map((r) => ({ timestamp: r.timestamp, message: r.message, ingestionTime: r.ingestion_time })),
    nextForwardToken: `f/${forward}`,
    nextBackwardToken: `b/${backward}`,
  };
};

const filterEvents: LogsHandler = async (input, ctx) => {
  const streams = stringList(input, 'logStreamNames', 100);
  const streamPrefix = str(input, 'logStreamNamePrefix', STREAM_NAME);
  if (streams && streamPrefix !== undefined) throw invalid('give logStreamNames or logStreamNamePrefix, not both');
  const startTime = int(input, 'startTime', 0, TIME_MAX);
  const endTime = int(input, 'endTime', 0, TIME_MAX);
  const limit = int(input, 'limit', 1, 10_000) ?? 10_000;
  const rawPattern = input.filterPattern;
  if (rawPattern !== undefined && rawPattern !== null && typeof rawPattern !== 'string') throw invalid('filterPattern must be a string');
  if (typeof rawPattern === 'string' && rawPattern.length > 1024) throw invalid('filterPattern must be at most 1024 characters');
  let match;
  try {
    match = parseFilterPattern(typeof rawPattern === 'string' ? rawPattern : '');
  } catch (e) {
    if (e instanceof FilterPatternError) throw invalid(e.message);
    throw e;
  }
  const after = decodeToken<{ t: number; i: number }>('FilterLogEvents', str(input, 'nextToken'), (p) => {
    const q = p as { t?: unknown; i?: unknown };
    return typeof p === 'object' && p !== null && Number.isSafeInteger(q.t) && Number.isSafeInteger(q.i);
  });
  const logGroup = await existingGroup(ctx, input);
  const rows = await filterLogEvents(ctx.db, {
    logGroup,
    streams,
    streamPrefix,
    startTime,
    endTime,
    match,
    after: after && { timestamp: after.t, id: after.i },
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    events: page.map((r) => ({
      logStreamName: r.log_stream,
      timestamp: r.timestamp,
      message: r.message,
      ingestionTime: r.ingestion_time,
      eventId: String(r.id),
    })),
    nextToken: rows.length > limit ? encodeToken('FilterLogEvents', { t: last.timestamp, i: last.id }) : undefined,
  };
};

const describeLogStreams: LogsHandler = async (input, ctx) => {
  const prefix = str(input, 'logStreamNamePrefix', STREAM_NAME);
  const orderByRaw = input.orderBy ?? 'LogStreamName';
  if (orderByRaw !== 'LogStreamName' && orderByRaw !== 'LastEventTime') throw invalid(`orderBy must be LogStreamName or LastEventTime (got '${String(orderByRaw)}')`);
  if (orderByRaw === 'LastEventTime' && prefix !== undefined) throw invalid('logStreamNamePrefix cannot be used with orderBy LastEventTime');
  const descending = bool(input, 'descending') ?? false;
  const limit = int(input, 'limit', 1, 50) ?? 50;
  const token = str(input, 'nextToken');
  let order: StreamOrder;
  if (orderByRaw === 'LogStreamName') {
    const after = decodeToken<string>('DescribeLogStreams', token, (p) => typeof p === 'string');
    order = { by: 'name', descending, prefix, after };
  } else {
    const after = decodeToken<[number, string]>('DescribeLogStreams', token, (p) => Array.isArray(p) && p.length === 2 && Number.isSafeInteger(p[0]) && typeof p[1] === 'string');
    order = { by: 'lastEventTime', descending, after: after && { last: after[0], name: after[1] } };
  }
  const logGroup = await existingGroup(ctx, input);
  const rows = await listLogStreams(ctx.db, logGroup, order, limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const arn = arns(ctx, logGroup);
  return {
    logStreams: page.map((r) => ({
      logStreamName: r.log_stream,
      creationTime: r.creation_time,
      // A stream with no events yet has no event times (CloudWatch leaves them out too).
      firstEventTimestamp: r.has_events ? r.first_event_timestamp : undefined,
      lastEventTimestamp: r.has_events ? r.last_event_timestamp : undefined,
      lastIngestionTime: r.has_events ? r.last_ingestion_time : undefined,
      arn: arn.stream(r.log_stream),
      // CloudWatch itself reports 0 here (storedBytes of streams is deprecated).
      storedBytes: 0,
    })),
    nextToken:
      rows.length > limit
        ? encodeToken('DescribeLogStreams', order.by === 'name' ? last.log_stream : [last.last_event_timestamp, last.log_stream])
        : undefined,
  };
};

const describeLogGroups: LogsHandler = async (input, ctx) => {
  const prefix = str(input, 'logGroupNamePrefix', GROUP_NAME);
  const pattern = typeof input.logGroupNamePattern === 'string' && input.logGroupNamePattern === '' ? undefined : str(input, 'logGroupNamePattern', { max: 512 });
  if (prefix !== undefined && pattern !== undefined) throw invalid('give logGroupNamePrefix or logGroupNamePattern, not both');
  const identifiers = stringList(input, 'logGroupIdentifiers', 50);
  if (identifiers && (prefix !== undefined || pattern !== undefined)) throw invalid('logGroupIdentifiers cannot be combined with logGroupNamePrefix or logGroupNamePattern');
  const cls = input.logGroupClass;
  if (cls !== undefined && cls !== null && cls !== 'STANDARD' && cls !== 'INFREQUENT_ACCESS' && cls !== 'DELIVERY') {
    throw invalid(`logGroupClass must be STANDARD, INFREQUENT_ACCESS or DELIVERY (got '${String(cls)}')`);
  }
  const limit = int(input, 'limit', 1, 50) ?? 50;
  const after = decodeToken<string>('DescribeLogGroups', str(input, 'nextToken'), (p) => typeof p === 'string');
  // Every openbatch group is a STANDARD one.
  const rows =
    cls === undefined || cls === null || cls === 'STANDARD'
      ? await listLogGroups(ctx.db, { prefix, contains: pattern, names: identifiers?.map(groupFromIdentifier), after, limit: limit + 1 })
      : [];
  const page = rows.slice(0, limit);
  const retention = ctx.config.logRetentionDays;
  return {
    logGroups: page.map((g) => {
      const arn = arns(ctx, g.log_group);
      return {
        logGroupName: g.log_group,
        creationTime: g.creation_time ?? undefined,
        retentionInDays: retention > 0 ? retention : undefined,
        metricFilterCount: 0,
        arn: arn.group,
        logGroupArn: arn.groupArn,
        storedBytes: 0,
        logGroupClass: 'STANDARD',
      };
    }),
    nextToken: rows.length > limit ? encodeToken('DescribeLogGroups', page[page.length - 1].log_group) : undefined,
  };
};

const HANDLERS: Record<string, LogsHandler> = {
  GetLogEvents: getLogEvents,
  FilterLogEvents: filterEvents,
  DescribeLogStreams: describeLogStreams,
  DescribeLogGroups: describeLogGroups,
};

export function registerLogsApi(
  app: FastifyInstance,
  deps: { db: Db; config: ServerConfig },
  authenticate: (req: FastifyRequest) => RequestContext,
  sendError: (reply: FastifyReply, e: BatchError) => FastifyReply,
): void {
  app.post('/', async (req, reply) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const m = /^Logs_20140328\.(\w+)$/.exec(target);
    if (!m) return sendError(reply, invalid(`X-Amz-Target '${target}' is not a CloudWatch Logs operation (Logs_20140328.<Operation>)`));
    const request = authenticate(req);
    const handler = HANDLERS[m[1]];
    if (!handler) {
      return sendError(
        reply,
        new BatchError('UnknownOperationException', 400, `CloudWatch Logs operation ${m[1]} is not served by openbatch; it serves ${Object.keys(HANDLERS).join(', ')}`),
      );
    }
    const raw = req.body as Buffer | undefined;
    let input: Input = {};
    if (raw && raw.length) {
      input = parseBoundedJson(raw.toString('utf8'), invalid, 'request body is not valid JSON') as Input;
      if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('request body must be a JSON object');
    }
    const out = await handler(input, { ...deps, request });
    return reply.header('content-type', 'application/x-amz-json-1.1').send(out);
  });
}
