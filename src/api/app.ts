/**
 * The HTTP face of openbatch: AWS Batch's restJson1 protocol on Fastify.
 *
 * Every request goes through the same steps: read the raw body (SigV4 signs the bytes),
 * verify the signature, parse JSON, check its structure against the SDK's schema, check
 * AWS's semantic rules, run the handler. Whatever goes wrong becomes AWS's error shape
 * here and only here: `x-amzn-ErrorType` header and a `{__type, message}` body.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { BatchError, clientError, isBatchError, serverError } from '../model/errors.js';
import type { Handler, RequestContext, Services } from './context.js';
import { parseBoundedJson } from '../jsonDepth.js';
import { batchOperations, type OperationInfo } from './operations.js';
import { shapeOutput } from './outputShapes.js';
import { check, httpBoundMembers } from './shapeCheck.js';
import { registerBrowserGuard } from './browserGuard.js';
import { isDashboardWrite, isReadRequest, WRITE_HEADER, type Session } from './dashboard/sessions.js';
import { RateLimiter } from './rateLimit.js';
import { verifySigV4, type Credentials } from './sigv4.js';
import { validateRequest } from './validate/index.js';
import { storeUnavailable } from '../store/failures.js';

export interface AppOptions {
  services: Services;
  handlers: Record<string, Handler>;
  credentials: Credentials | null;
  /** where API request latencies go */
  metrics?: { observeApi(operation: string, status: number, seconds: number): void };
  /**
   * The valid dashboard session of the request's cookie, or null (api/dashboard/sessions.ts).
   * A session stands in for a signature on reads, and on the dashboard's writes when granted them.
   */
  session?: (req: FastifyRequest) => Session | null;
  /** extra routes (agent protocol, health, logs API…) registered on the same server */
  extraRoutes?: (app: FastifyInstance, authenticate: (req: FastifyRequest, service: string) => RequestContext) => void;
}

/** Operations whose subject openbatch cannot have: answered with a ClientException saying why. */
const UNSUPPORTED_REASON: Record<string, string> = {
  ServiceEnvironment: 'service environments run SageMaker training jobs, which openbatch does not provide',
  ServiceJob: 'service jobs are SageMaker training jobs, which openbatch does not provide',
  QuotaShare: 'quota shares apply to SageMaker service environments, which openbatch does not provide',
};

function unsupportedReason(op: string): string | undefined {
  for (const [key, why] of Object.entries(UNSUPPORTED_REASON)) if (op.includes(key)) return why;
  return undefined;
}

export function sendError(reply: FastifyReply, err: BatchError): FastifyReply {
  return reply
    .status(err.httpStatus)
    .header('x-amzn-ErrorType', err.code)
    .header('content-type', 'application/json')
    .send({ __type: err.code, message: err.message });
}

/** A byte count as people write it: "1 MiB (1048576 bytes)", or "4096 bytes" when not whole MiB. */
function sizeInWords(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return Number.isInteger(mib) ? `${mib} MiB (${bytes} bytes)` : `${bytes} bytes`;
}

function parseBody(raw: Buffer | undefined): Record<string, unknown> {
  if (!raw || raw.length === 0) return {};
  const parsed = parseBoundedJson(raw.toString('utf8'), clientError, (e) => `request body is not valid JSON: ${e.message}`);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw clientError('request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/**
 * Fastify's JSON-schema compilers (ajv and fast-json-stringify), loaded by the first route
 * that has a schema rather than when Fastify is created: openbatch's routes have none (bodies
 * are checked against the AWS model, shapeCheck.ts), and loading them was about a tenth of a
 * server's start (docs/benchmarks.md, "Server start"). They are Fastify's own dependencies,
 * so they are required from where Fastify is.
 */
const fromFastify = createRequire(import.meta.resolve('fastify'));
type CompilerFactory = (externalSchemas: unknown, options: unknown) => unknown;
let validatorFactory: CompilerFactory | undefined;
let serializerFactory: CompilerFactory | undefined;
const lazySchemaCompilers = {
  buildValidator: (schemas: unknown, options: unknown) =>
    (validatorFactory ??= (fromFastify('@fastify/ajv-compiler') as () => CompilerFactory)())(schemas, options),
  buildSerializer: (schemas: unknown, options: unknown) =>
    (serializerFactory ??= (fromFastify('@fastify/fast-json-stringify-compiler') as () => CompilerFactory)())(schemas, options),
};

export function buildApp(opts: AppOptions): FastifyInstance {
  const { services } = opts;
  const app = Fastify({
    logger: false,
    bodyLimit: services.config.maxRequestBytes,
    // Deep JSON nesting is refused before parsing (jsonDepth.ts), huge numbers of keys by the
    // body limit and the structural check; the timeouts bound slow or truncated bodies.
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 65_000,
    genReqId: () => randomUUID(),
    schemaController: { compilersFactory: lazySchemaCompilers as never },
  });

  // The SigV4 signature covers the exact bytes of the body: keep them raw for every type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-amzn-RequestId', req.id);
  });
  // Pages of other sites (cross-site posts, DNS rebinding) get nothing from this server.
  registerBrowserGuard(app, { credentialsConfigured: opts.credentials !== null, configuredHost: services.config.host });
  if (opts.metrics) {
    const metrics = opts.metrics;
    app.addHook('onResponse', async (req, reply) => {
      const op = (req.routeOptions.config as { operation?: string } | undefined)?.operation ?? req.routeOptions.url ?? 'unknown';
      metrics.observeApi(op, reply.statusCode, reply.elapsedTime / 1000);
    });
  }

  app.setErrorHandler((error, req, reply) => {
    if (isBatchError(error)) {
      if (!error.isClientError) services.logger.error({ err: error, url: req.url }, 'server error');
      return sendError(reply, error);
    }
    const e = error as { statusCode?: number; message?: string; code?: string };
    if (e.statusCode && e.statusCode < 500) {
      const message =
        e.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? `request body is larger than the limit of ${sizeInWords(services.config.maxRequestBytes)} (server setting maxRequestBytes)`
          : e.message ?? 'bad request';
      return sendError(reply, new BatchError('ClientException', e.statusCode === 413 ? 413 : 400, message));
    }
    // The store cannot serve now (database down, disk full, a lock timed out): say so, and
    // that nothing was done; it passes by itself when the store is back.
    const unavailable = storeUnavailable(error);
    if (unavailable) {
      services.logger.warn({ err: (error as Error).message, url: req.url }, `store unavailable: ${unavailable}`);
      return sendError(reply, serverError(`the store is unavailable: ${unavailable}; the request was not carried out, retry (request id ${req.id})`));
    }
    services.logger.error({ err: error, url: req.url }, 'unexpected error');
    return sendError(reply, serverError('internal error; the server log has the details (request id ' + req.id + ')'));
  });

  app.setNotFoundHandler((req, reply) => {
    sendError(reply, new BatchError('ClientException', 404, `no such operation: ${req.method} ${req.url.split('?')[0]}`));
  });

  const limiter = new RateLimiter(services.config.rateLimitPerSecond, services.config.rateLimitBurst, () => services.clock.now());

  function authenticate(req: FastifyRequest, service: string): RequestContext {
    // Dashboard sessions count against the same per-key budget as signed requests.
    const session = opts.session && !req.headers.authorization ? opts.session(req) : null;
    if (session) {
      const ctx = { scope: { region: services.config.defaultRegion, account: services.config.account }, accessKeyId: session.accessKeyId, requestId: req.id };
      if (isReadRequest(req, service)) {
        throttle(session.accessKeyId, service);
        return ctx;
      }
      if (isDashboardWrite(req)) {
        if (!session.writes) {
          throw new BatchError('AccessDeniedException', 403, 'this dashboard session only reads: sign in again allowing the dashboard to act (cancel, terminate, submit, rerun, enable or disable)');
        }
        if (req.headers[WRITE_HEADER] !== '1') throw new BatchError('AccessDeniedException', 403, `a dashboard session's write must carry the header ${WRITE_HEADER}: 1`);
        throttle(session.accessKeyId, service);
        return ctx;
      }
    }
    const result = verifySigV4(
      { method: req.method, rawUrl: req.url, headers: req.headers, body: (req.body as Buffer | undefined) ?? Buffer.alloc(0) },
      { credentials: opts.credentials, now: () => services.clock.now(), defaultRegion: services.config.defaultRegion, services: [service] },
    );
    if (!result.ok) throw new BatchError(result.code as BatchError['code'], result.status, result.message);
    throttle(result.accessKeyId ?? 'anonymous', service);
    return { scope: { region: result.region, account: services.config.account }, accessKeyId: result.accessKeyId, requestId: req.id };
  }

  /**
   * Each service throttles in its own words, which the SDKs know to retry: Batch answers 429
   * TooManyRequestsException, CloudWatch Logs 400 ThrottlingException.
   */
  function throttle(key: string, service: string): void {
    if (!limiter.take(key)) {
      const message = `Too many requests: access key ${key} is over ${services.config.rateLimitPerSecond} requests per second (server setting rateLimitPerSecond); retry with backoff`;
      throw service === 'logs' ? new BatchError('ThrottlingException', 400, message) : new BatchError('TooManyRequestsException', 429, message);
    }
  }

  function route(op: OperationInfo): void {
    const handler = opts.handlers[op.name];
    const bound = new Set(httpBoundMembers(op.input));
    const hasLabel = op.path.includes('{');
    const url = hasLabel ? op.path.replace(/\{[^}]+\}.*$/, '*') : op.path;
    app.route({
      method: op.method as 'GET' | 'POST' | 'DELETE',
      url,
      config: { operation: op.name },
      handler: async (req, reply) => {
        const ctx = authenticate(req, 'batch');
        // Said before any check of the input: fixing the input of an operation that cannot
        // succeed would only lead to this answer one request later.
        if (!handler) {
          throw clientError(`${op.name} is not available in openbatch: ${unsupportedReason(op.name) ?? 'not supported'}`);
        }
        const input = op.method === 'GET' || op.method === 'DELETE' ? {} : parseBody(req.body as Buffer | undefined);
        for (const m of bound) {
          if (m in input) throw clientError(`${m} belongs in the request URL, not the body`);
        }
        if (hasLabel) {
          const label = op.path.match(/\{([^}+]+)\+?\}/)?.[1] ?? 'resource';
          const raw = (req.params as Record<string, string>)['*'] ?? '';
          let value: string;
          try {
            value = decodeURIComponent(raw);
          } catch {
            throw clientError(`${label} in the URL is not validly percent-encoded`);
          }
          if (value === '') throw clientError(`${label} is required`);
          input[label] = value;
        }
        const query = req.query as Record<string, string | string[]>;
        for (const m of bound) {
          if (m in input) continue;
          const v = query[m];
          if (v !== undefined) input[m] = Array.isArray(v) ? v : [v];
        }
        check(op.input, input);
        validateRequest(op.name, input);
        const output = await handler(input, ctx, services);
        return reply.header('content-type', 'application/json').send(shapeOutput(op.name, output ?? {}));
      },
    });
  }

  for (const op of batchOperations()) route(op);
  opts.extraRoutes?.(app, authenticate);
  return app;
}
