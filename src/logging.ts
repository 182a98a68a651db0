/**
 * The one way openbatch makes a logger: pino, structured, with credentials redacted.
 *
 * No code logs a secret on purpose; redaction is the second line, for an object logged
 * whole by a later change (a request's headers, a configuration, an error carrying either).
 * Listed by the names secrets travel under here: SigV4 and bearer `authorization` headers,
 * instance and join tokens, access key secrets, webhook signing secrets, job environments.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

const SECRET_KEYS = ['authorization', 'token', 'secret', 'secretAccessKey', 'credentials', 'agentJoinToken', 'password', 'environment', 'env'];

export const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export function createLogger(level: string, destination?: DestinationStream, base?: Record<string, unknown>): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, ...(base ? { base } : {}) };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Where the server's logs go for a `logFormat` setting: JSON to stdout, or pretty lines
 * (logPretty.ts) — `auto` chooses pretty when stdout is a terminal, so that `npm start` reads
 * well and a service manager or a pipe still gets JSON.
 */
export async function logDestination(format: string, stdout: NodeJS.WriteStream = process.stdout): Promise<DestinationStream | undefined> {
  if (format === 'json' || (format === 'auto' && !stdout.isTTY)) return undefined;
  const { prettyDestination } = await import('./logPretty.js');
  return prettyDestination(stdout);
}
