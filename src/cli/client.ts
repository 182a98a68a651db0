/**
 * How the CLI reaches a server: the real AWS SDK clients (SigV4-signed as any SDK user's),
 * pointed at the endpoint `endpointOf` finds, region from `--region` / AWS_REGION /
 * AWS_DEFAULT_REGION (default us-east-1), credentials from the standard AWS environment
 * variables (test/test when none are set, which a server without configured credentials
 * accepts). Also the one place SDK and network errors become the single line the CLI prints.
 *
 * `--endpoint-url`, `--region` and `--output` are the program's options (main.ts), accepted
 * before or after the command as the aws CLI accepts them; `useGlobalOptions` hands them here
 * before a command runs.
 */
import { BatchClient } from '@aws-sdk/client-batch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CliError } from './errors.js';
import { setOutputFormat } from './output.js';

// The SDK warns on every run under a Node release it is about to drop; a CLI's stderr is
// for the user's errors.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8770';

export { CliError };

/** The program's connection options, as a command's own flags may also carry them. */
export interface ConnectionFlags {
  /** --endpoint-url (--endpoint) */
  endpoint?: string;
  region?: string;
}

let globalFlags: ConnectionFlags = {};

/** Called before each command with the program's options (`--endpoint-url`, `--region`, `--output`). */
export function useGlobalOptions(opts: { endpointUrl?: string; endpoint?: string; region?: string; output?: string }): void {
  globalFlags = { endpoint: opts.endpointUrl ?? opts.endpoint, region: opts.region };
  setOutputFormat(opts.output ?? process.env.OPENBATCH_OUTPUT);
}

/** Where the endpoint came from, so that an error can say which setting to change. */
export interface Endpoint {
  url: string;
  from: '--endpoint-url' | 'OPENBATCH_ENDPOINT' | 'AWS_ENDPOINT_URL_BATCH' | 'AWS_ENDPOINT_URL' | 'default';
}

/**
 * The server to talk to: `--endpoint-url`, then OPENBATCH_ENDPOINT, then the AWS variables
 * in the order boto3 and the aws CLI read them (the service's own, AWS_ENDPOINT_URL_BATCH,
 * before the global AWS_ENDPOINT_URL; both ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
 * is true), then http://127.0.0.1:8770.
 */
export function endpointOf(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Endpoint {
  if (flags.endpoint) return { url: flags.endpoint, from: '--endpoint-url' };
  if (env.OPENBATCH_ENDPOINT) return { url: env.OPENBATCH_ENDPOINT, from: 'OPENBATCH_ENDPOINT' };
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() !== 'true') {
    if (env.AWS_ENDPOINT_URL_BATCH) return { url: env.AWS_ENDPOINT_URL_BATCH, from: 'AWS_ENDPOINT_URL_BATCH' };
    if (env.AWS_ENDPOINT_URL) return { url: env.AWS_ENDPOINT_URL, from: 'AWS_ENDPOINT_URL' };
  }
  return { url: DEFAULT_ENDPOINT, from: 'default' };
}

export interface Connection {
  endpoint: string;
  /** the endpoint and the setting it came from */
  where: Endpoint;
  batch: BatchClient;
  /** the CloudWatch Logs client, loaded only by the commands that read logs */
  logs(): Promise<CloudWatchLogsClient>;
  /** calls one of openbatch's own operations (POST /openbatch/v1/<name>, SigV4-signed) */
  openbatch<T>(name: string, input: Record<string, unknown>): Promise<T>;
  /**
   * any signed request to the server, e.g. GET /openbatch/v1/instances, or an AWS operation
   * whose answer the SDK would cut (POST /v1/describejobs with its `openbatch:usage`)
   */
  openbatchHttp<T>(method: 'GET' | 'POST', path: string, query?: Record<string, string | string[]>, input?: Record<string, unknown>): Promise<T>;
  close(): void;
}

function credentials() {
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId && !secretAccessKey) return { accessKeyId: 'test', secretAccessKey: 'test' };
  if (!accessKeyId) throw new CliError('AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both, or neither for test/test');
  if (!secretAccessKey) throw new CliError('AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or neither for test/test');
  return { accessKeyId, secretAccessKey, sessionToken: process.env.AWS_SESSION_TOKEN || undefined };
}

export function connect(flags: ConnectionFlags): Connection {
  const where = endpointOf({ ...globalFlags, ...defined(flags) });
  const setting = where.from === 'default' ? '' : ` (from ${where.from})`;
  let url: URL;
  try {
    url = new URL(where.url);
  } catch {
    throw new CliError(`endpoint '${where.url}'${setting} is not a URL (e.g. ${DEFAULT_ENDPOINT})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`endpoint '${where.url}'${setting} must be an http:// or https:// URL`);
  const region = flags.region ?? globalFlags.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const config = { endpoint: where.url.replace(/\/+$/, ''), region, credentials: credentials(), maxAttempts: 2 };
  const batch = new BatchClient(config);
  let logs: CloudWatchLogsClient | undefined;
  return {
    endpoint: config.endpoint,
    where: { ...where, url: config.endpoint },
    batch,
    async logs() {
      if (!logs) {
        const { CloudWatchLogsClient } = await import('@aws-sdk/client-cloudwatch-logs');
        logs = new CloudWatchLogsClient(config);
      }
      return logs;
    },
    async openbatch<T>(name: string, input: Record<string, unknown>): Promise<T> {
      const { callOpenbatch } = await import('./openbatchApi.js');
      return callOpenbatch<T>(config, name, input);
    },
    async openbatchHttp<T>(method: 'GET' | 'POST', path: string, query?: Record<string, string | string[]>, input?: Record<string, unknown>): Promise<T> {
      const { requestOpenbatch } = await import('./openbatchApi.js');
      return requestOpenbatch<T>(config, method, path, query, input);
    },
    close() {
      batch.destroy();
      logs?.destroy();
    },
  };
}

/** The flags a command was given, without the ones it left unset (so the program's show through). */
function defined(flags: ConnectionFlags): ConnectionFlags {
  const out: ConnectionFlags = {};
  if (flags.endpoint) out.endpoint = flags.endpoint;
  if (flags.region) out.region = flags.region;
  return out;
}

const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** Node's codes for a TLS certificate it does not trust. */
const CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT_ALTNAME_INVALID/;

interface AnyError extends Error {
  code?: string;
  cause?: AnyError;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
  /** set by openbatchApi.ts on an answer that is not openbatch's */
  notAnEndpoint?: string;
}

/**
 * An answer that no AWS Batch endpoint gives: a body that is not JSON, or an error without
 * the x-amzn-ErrorType an AWS service always names. Returns what the server did say
 * (`HTTP 404, text/html`), or undefined for a real AWS error.
 */
function foreignAnswer(e: AnyError): string | undefined {
  if (e.notAnEndpoint) return e.notAnEndpoint;
  const res = e.$response;
  if (!res) return undefined;
  const headers = res.headers ?? {};
  const type = headers['content-type'] ?? headers['Content-Type'];
  const hasErrorType = Object.keys(headers).some((k) => k.toLowerCase() === 'x-amzn-errortype');
  if (e.name === 'SyntaxError' || (!hasErrorType && (res.statusCode ?? 0) >= 300)) return `HTTP ${res.statusCode}${type ? `, ${type.split(';')[0]}` : ''}`;
  return undefined;
}

/**
 * The one line to print for an error, whatever threw it: a person's words for network and
 * TLS failures and for a server that is not openbatch, never the SDK's internals (a
 * deserialization error's hidden fields, OpenSSL's record-layer messages).
 */
export function errorLine(err: unknown, where: Endpoint = endpointOf(globalFlags)): string {
  const e = err as AnyError;
  // fetch (openbatchApi.ts) wraps the socket's error in `cause`; the SDK throws it as it is.
  const code = e?.code ?? e?.cause?.code;
  const from = where.from === 'default' ? '' : `; from ${where.from}`;
  const at = where.url;
  const https = where.url.startsWith('https:');
  const foreign = e && foreignAnswer(e);
  let message: string;
  if (code && NETWORK[code]) {
    message = `cannot reach openbatch at ${at}: ${NETWORK[code]} (is 'openbatch server' running? point --endpoint-url or OPENBATCH_ENDPOINT at it${from})`;
  } else if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/.test(`${e?.message} ${e?.cause?.message}`)) {
    message = `TLS spoken to a plain-HTTP server at ${at}: use ${where.url.replace(/^https:/, 'http:')}${from ? ` (${from.slice(2)})` : ''}`;
  } else if (code && CERTIFICATE.test(code)) {
    message = `the TLS certificate of ${at} is not trusted: ${e.message ?? e.cause?.message} (NODE_EXTRA_CA_CERTS=ca.pem trusts your own CA${from})`;
  } else if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') {
    message = `${at} closed the connection without an answer${https ? (from ? ` (${from.slice(2)})` : '') : ` (a TLS server? try ${where.url.replace(/^http:/, 'https:')}${from})`}`;
  } else if (foreign) {
    message = `this is not an openbatch/AWS Batch endpoint (${at} answered ${foreign}${from})`;
  } else if (e?.name === 'UnrecognizedClientException' || e?.name === 'InvalidSignatureException' || e?.name === 'MissingAuthenticationTokenException') {
    message = `${e.message} (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`;
  } else if (e?.name === 'ServerException') {
    message = `server error: ${e.message}`;
  } else {
    message = e?.message || String(err);
  }
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

/** Runs a command's work with a connection, closing it after and turning errors into one line. */
export async function withClient<T>(flags: ConnectionFlags, fn: (c: Connection) => Promise<T>): Promise<T> {
  const c = connect(flags);
  try {
    return await fn(c);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(errorLine(e, c.where));
  } finally {
    c.close();
  }
}
