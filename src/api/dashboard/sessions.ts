/**
 * Dashboard sessions: a browser that proved it holds an access key (by signing one request
 * with SigV4) gets an HttpOnly cookie that stands in for a signature on *reads* — the
 * dashboard's own endpoints, the event stream, and the AWS read operations (Describe*,
 * List*, Get*, CloudWatch Logs reads). Writes (SubmitJob, CancelJob, …) still need a
 * signature. docs/design/dashboard.md explains the choice.
 *
 * One exception, asked for at sign-in: a session may be granted the dashboard's writes
 * (DASHBOARD_WRITES: the buttons that act — cancel, terminate, submit, rerun failed children,
 * enable or disable a queue or compute environment). The person asks for it by signing
 * the sign-in request with `{"writes": true}` in its body, so only a holder of the secret
 * can get it, and a session that did not ask for it can never write. Such a write must also
 * carry the header `x-openbatch-dashboard: 1`, which a page of another site cannot send
 * without a CORS preflight this server never grants (the cookie is SameSite=Strict besides).
 *
 * The cookie is stateless: `<accessKeyId>.<expiry>.<grant r|w>.<HMAC-SHA256 over the three,
 * keyed by a key derived from that access key's secret>`. So it survives a restart, works on
 * every control plane that shares the credentials, and stops working when the key is removed
 * or its secret changes. Nothing is stored.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Credentials } from '../sigv4.js';

export const SESSION_COOKIE = 'openbatch_session';
/** A session lasts a working day; then the dashboard asks for the key again. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/** The header a session's write must carry (see above). */
export const WRITE_HEADER = 'x-openbatch-dashboard';

export interface Session {
  accessKeyId: string;
  /** granted the dashboard's writes at sign-in */
  writes: boolean;
}

type Grant = 'r' | 'w';

function mac(secret: string, accessKeyId: string, expires: number, grant: Grant): string {
  const key = createHmac('sha256', 'openbatch-dashboard-session').update(secret).digest();
  return createHmac('sha256', key).update(`${accessKeyId}.${expires}.${grant}`).digest('base64url');
}

export class DashboardSessions {
  constructor(
    private readonly credentials: Credentials,
    private readonly now: () => number,
  ) {}

  /** A cookie value for a key the caller has proved it holds; `writes` when the signed sign-in asked for them. */
  issue(accessKeyId: string, writes: boolean): { value: string; maxAgeSeconds: number } {
    const secret = this.credentials.get(accessKeyId);
    if (secret === undefined) throw new Error(`unknown access key ${accessKeyId}`);
    const expires = this.now() + SESSION_TTL_MS;
    const grant: Grant = writes ? 'w' : 'r';
    return { value: `${accessKeyId}.${expires}.${grant}.${mac(secret, accessKeyId, expires, grant)}`, maxAgeSeconds: SESSION_TTL_MS / 1000 };
  }

  /** The request's session, or null when its cookie holds none that is valid now. */
  sessionOf(req: FastifyRequest): Session | null {
    const value = cookie(req.headers.cookie, SESSION_COOKIE);
    if (!value) return null;
    const parts = value.split('.');
    if (parts.length !== 4) return null;
    const [accessKeyId, expiresText, grant, given] = parts;
    if (grant !== 'r' && grant !== 'w') return null;
    const expires = Number(expiresText);
    const secret = this.credentials.get(accessKeyId);
    if (secret === undefined || !Number.isFinite(expires) || expires <= this.now()) return null;
    const a = Buffer.from(given);
    const b = Buffer.from(mac(secret, accessKeyId, expires, grant));
    return a.length === b.length && timingSafeEqual(a, b) ? { accessKeyId, writes: grant === 'w' } : null;
  }
}

function cookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

/** The Set-Cookie header for a session (or, with maxAge 0, for signing out). */
export function sessionCookieHeader(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

const READ_OPERATION = /^(Describe|List|Get)/;
/** openbatch's own operations that only read. */
const READ_OPENBATCH = new Set(['/openbatch/v1/why', '/openbatch/v1/cost', '/openbatch/v1/usage']);
/** The writes a session granted them may make: the dashboard's buttons, nothing else. */
export const DASHBOARD_WRITES = new Set(['/openbatch/v1/rerunFailed']);
/** The AWS operations behind the dashboard's buttons, which such a session may call too. */
export const DASHBOARD_OPERATIONS = new Set(['SubmitJob', 'CancelJob', 'TerminateJob', 'UpdateJobQueue', 'UpdateComputeEnvironment']);

/**
 * Whether a request only reads, so that a session may stand in for its signature. GET
 * requests read; a POST reads when it is an AWS read operation (by name) or a read-only
 * openbatch operation.
 */
export function isReadRequest(req: FastifyRequest, service: string): boolean {
  if (req.method === 'GET') return true;
  if (req.method !== 'POST') return false;
  if (service === 'logs') {
    const target = String(req.headers['x-amz-target'] ?? '');
    return READ_OPERATION.test(target.slice(target.indexOf('.') + 1)) || target.endsWith('.FilterLogEvents');
  }
  const operation = (req.routeOptions.config as { operation?: string } | undefined)?.operation;
  if (operation) return READ_OPERATION.test(operation);
  return READ_OPENBATCH.has(req.routeOptions.url ?? '');
}

/** Whether a request is one of the dashboard's writes (DASHBOARD_WRITES, DASHBOARD_OPERATIONS). */
export function isDashboardWrite(req: FastifyRequest): boolean {
  if (req.method !== 'POST') return false;
  const operation = (req.routeOptions.config as { operation?: string } | undefined)?.operation;
  return operation ? DASHBOARD_OPERATIONS.has(operation) : DASHBOARD_WRITES.has(req.routeOptions.url ?? '');
}
