/**
 * Browsers are clients too, and not always the user's: any page the user opens may make the
 * browser send requests to this server. Two attacks follow, and this guard refuses both
 * before a route runs (docs/security.md, "Browsers"):
 *
 * - Cross-site requests: a page of another site posts to the server (a "simple" request,
 *   text/plain, needs no CORS preflight). Without credentials configured the server takes
 *   any request, so that page could submit a job and run its command. A write (anything but
 *   GET/HEAD) that a browser marks as coming from another origin — an `Origin` header other
 *   than the server's own (its Host, or X-Forwarded-Host behind a proxy), or `Sec-Fetch-Site`
 *   cross-site / same-site — is refused. SDKs, the CLI and agents send neither header.
 * - DNS rebinding: a site's name is made to resolve to 127.0.0.1, so its page is "same
 *   origin" with the server. Without credentials configured (the server then listens on
 *   loopback only) a request must name the server by a loopback name or its configured host
 *   in `Host`; a rebound name is refused. With credentials, a rebound page gains nothing: it
 *   has no signature, and the session cookie belongs to the server's own name.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BatchError } from '../model/errors.js';

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function hostName(hostHeader: string): string {
  // "[::1]:8770" → "[::1]", "localhost:8770" → "localhost"
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const i = h.lastIndexOf(':');
  return i >= 0 ? h.slice(0, i) : h;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Why a browser's request is refused, or null when it may go on. */
export function browserRefusal(req: FastifyRequest, opts: { credentialsConfigured: boolean; configuredHost: string }): string | null {
  const host = header(req, 'host') ?? '';
  if (!opts.credentialsConfigured) {
    const name = hostName(host);
    const configured = opts.configuredHost.toLowerCase();
    if (!LOOPBACK_NAMES.has(name) && name !== configured && name !== `[${configured}]`) {
      return `Host '${host}' is not a loopback name: with no credentials configured the server answers only requests addressed to 127.0.0.1, localhost or [::1] (a page of another site may have made its name resolve here)`;
    }
  }
  if (req.method === 'GET' || req.method === 'HEAD') return null;
  const site = header(req, 'sec-fetch-site');
  if (site === 'cross-site' || site === 'same-site') return `a browser sent this request from a page of another site (Sec-Fetch-Site: ${site}): refused`;
  const origin = header(req, 'origin');
  if (origin !== undefined) {
    let originHost: string;
    try {
      originHost = new URL(origin).host.toLowerCase();
    } catch {
      return `Origin '${origin}' is not an origin: refused`;
    }
    const own = [host, header(req, 'x-forwarded-host') ?? ''].map((h) => h.trim().toLowerCase()).filter(Boolean);
    if (!own.includes(originHost)) return `a browser sent this request from ${origin}, not from this server's own pages: refused`;
  }
  return null;
}

export function registerBrowserGuard(app: FastifyInstance, opts: { credentialsConfigured: boolean; configuredHost: string }): void {
  app.addHook('onRequest', async (req) => {
    const refusal = browserRefusal(req, opts);
    if (refusal) throw new BatchError('AccessDeniedException', 403, refusal);
  });
}
