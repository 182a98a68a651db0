/**
 * The CloudWatch Logs read API on the openbatch endpoint (awsJson1_1: `POST /` with
 * `X-Amz-Target: Logs_20140328.<Operation>`), so that `aws logs get-log-events
 * --endpoint-url …` and the SDK's CloudWatchLogsClient read job output unchanged.
 *
 * Tokens: `f/<id>` continues forward after event id, `b/<id>` backward before it, as
 * CloudWatch's nextForwardToken / nextBackwardToken do.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BatchError, clientError } from '../model/errors.js';
import type { Db } from '../store/db.js';
import { readLogStream } from '../store/logEvents.js';

type LogsHandler = (input: Record<string, unknown>, db: Db) => Promise<unknown>;

function str(input: Record<string, unknown>, member: string, required = false): string | undefined {
  const v = input[member];
  if (v === undefined || v === null) {
    if (required) throw clientError(`${member} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw clientError(`${member} must be a string`);
  return v;
}

function int(input: Record<string, unknown>, member: string, min: number, max: number): number | undefined {
  const v = input[member];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw clientError(`${member} must be an integer from ${min} to ${max}`);
  return v;
}

const getLogEvents: LogsHandler = async (input, db) => {
  const logGroup = str(input, 'logGroupName') ?? str(input, 'logGroupIdentifier');
  if (!logGroup) throw clientError('logGroupName is required');
  const logStream = str(input, 'logStreamName', true)!;
  const limit = int(input, 'limit', 1, 10_000) ?? 10_000;
  const token = str(input, 'nextToken');
  const startFromHead = input.startFromHead === true;
  const startTime = int(input, 'startTime', 0, Number.MAX_SAFE_INTEGER);
  const endTime = int(input, 'endTime', 0, Number.MAX_SAFE_INTEGER);
  let direction: 'f' | 'b' = startFromHead ? 'f' : 'b';
  let cursor: number | undefined;
  if (token !== undefined) {
    const m = /^([fb])\/(\d+)$/.exec(token);
    if (!m) throw clientError('nextToken is invalid: pass nextForwardToken or nextBackwardToken from a previous response unchanged');
    direction = m[1] as 'f' | 'b';
    cursor = Number(m[2]);
  }
  let rows = await readLogStream(db, {
    logGroup,
    logStream,
    afterId: direction === 'f' ? cursor : undefined,
    beforeId: direction === 'b' ? cursor : undefined,
    limit,
    backwards: direction === 'b',
  });
  if (startTime !== undefined) rows = rows.filter((r) => r.timestamp >= startTime);
  if (endTime !== undefined) rows = rows.filter((r) => r.timestamp < endTime);
  const first = rows[0]?.id ?? cursor ?? 0;
  const last = rows[rows.length - 1]?.id ?? (cursor !== undefined ? cursor - (direction === 'f' ? 0 : 1) : 0);
  return {
    events: rows.map((r) => ({ timestamp: r.timestamp, message: r.message, ingestionTime: r.ingestion_time })),
    nextForwardToken: `f/${rows.length ? last : direction === 'f' ? (cursor ?? 0) : last}`,
    nextBackwardToken: `b/${rows.length ? first : (cursor ?? 0)}`,
  };
};

const HANDLERS: Record<string, LogsHandler> = {
  GetLogEvents: getLogEvents,
};

export function registerLogsApi(app: FastifyInstance, db: Db, authenticate: (req: FastifyRequest) => void, sendError: (reply: FastifyReply, e: BatchError) => FastifyReply): void {
  app.post('/', async (req, reply) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const m = /^Logs_20140328\.(\w+)$/.exec(target);
    if (!m) return sendError(reply, clientError(`X-Amz-Target '${target}' is not a CloudWatch Logs operation (Logs_20140328.<Operation>)`));
    authenticate(req);
    const handler = HANDLERS[m[1]];
    if (!handler) return sendError(reply, new BatchError('ClientException', 400, `CloudWatch Logs operation ${m[1]} is not served by openbatch; it serves ${Object.keys(HANDLERS).join(', ')}`));
    const raw = req.body as Buffer | undefined;
    let input: Record<string, unknown> = {};
    if (raw && raw.length) {
      try {
        input = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        throw clientError('request body is not valid JSON');
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) throw clientError('request body must be a JSON object');
    }
    const out = await handler(input, db);
    return reply.header('content-type', 'application/x-amz-json-1.1').send(out);
  });
}
