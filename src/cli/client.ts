/**
 * How the CLI reaches a server: the real AWS SDK clients (SigV4-signed as any SDK user's),
 * pointed at `--endpoint` / OPENBATCH_ENDPOINT (default http://127.0.0.1:8770), region from
 * `--region` / AWS_REGION / AWS_DEFAULT_REGION (default us-east-1), credentials from the
 * standard AWS environment variables (test/test when none are set, which a server without
 * configured credentials accepts). Also the one place SDK and network errors become the
 * single line the CLI prints.
 */
import type { Command } from 'commander';
import { BatchClient } from '@aws-sdk/client-batch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';

// The SDK warns on every run under a Node release it is about to drop; a CLI's stderr is
// for the user's errors.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8770';

/** A mistake the user can fix; printed as `openbatch: <message>` with a non-zero exit. */
export class CliError extends Error {}

export interface ConnectionFlags {
  endpoint?: string;
  region?: string;
}

/** Adds --endpoint and --region to a command that talks to a server. */
export function withConnection(cmd: Command): Command {
  return cmd
    .option('--endpoint <url>', `openbatch server URL (env OPENBATCH_ENDPOINT; default ${DEFAULT_ENDPOINT})`)
    .option('--region <region>', 'region for signing and ARNs (env AWS_REGION; default us-east-1)');
}

export interface Connection {
  endpoint: string;
  batch: BatchClient;
  /** the CloudWatch Logs client, loaded only by the commands that read logs */
  logs(): Promise<CloudWatchLogsClient>;
  /** calls one of openbatch's own operations (POST /openbatch/v1/<name>, SigV4-signed) */
  openbatch<T>(name: string, input: Record<string, unknown>): Promise<T>;
  /** any signed request to an openbatch endpoint, e.g. GET /openbatch/v1/instances */
  openbatchHttp<T>(method: 'GET' | 'POST', path: string, query?: Record<string, string | string[]>): Promise<T>;
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
  const endpoint = flags.endpoint ?? process.env.OPENBATCH_ENDPOINT ?? DEFAULT_ENDPOINT;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new CliError(`--endpoint '${endpoint}' is not a URL (e.g. ${DEFAULT_ENDPOINT})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--endpoint '${endpoint}' must be an http:// or https:// URL`);
  const region = flags.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const config = { endpoint: endpoint.replace(/\/+$/, ''), region, credentials: credentials(), maxAttempts: 2 };
  const batch = new BatchClient(config);
  let logs: CloudWatchLogsClient | undefined;
  return {
    endpoint: config.endpoint,
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
    async openbatchHttp<T>(method: 'GET' | 'POST', path: string, query?: Record<string, string | string[]>): Promise<T> {
      const { requestOpenbatch } = await import('./openbatchApi.js');
      return requestOpenbatch<T>(config, method, path, query);
    },
    close() {
      batch.destroy();
      logs?.destroy();
    },
  };
}

const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'timed out',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
};

/** The one line to print for an error, whatever threw it. */
export function errorLine(err: unknown, endpoint = process.env.OPENBATCH_ENDPOINT ?? DEFAULT_ENDPOINT): string {
  const e = err as Error & { code?: string; name?: string; $metadata?: { httpStatusCode?: number } };
  let message: string;
  if (e?.code && NETWORK[e.code]) {
    message = `cannot reach openbatch at ${endpoint}: ${NETWORK[e.code]} (is 'openbatch server' running? point --endpoint or OPENBATCH_ENDPOINT at it)`;
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
    throw new CliError(errorLine(e, c.endpoint));
  } finally {
    c.close();
  }
}
