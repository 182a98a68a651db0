/**
 * AWS Signature Version 4 verification of incoming requests.
 *
 * The server recomputes the signature the client made and compares. The canonical request
 * is built as AWS builds it for every service but S3:
 *   - canonical URI: the path as received, each segment URI-encoded once more — so an ARN
 *     that arrived percent-encoded (`arn%3Aaws…`) is signed as `arn%253Aaws…`;
 *   - canonical query: pairs decoded, re-encoded strictly (RFC 3986), sorted by key then value;
 *   - signed headers: values trimmed, inner runs of spaces folded to one;
 *   - payload hash: `x-amz-content-sha256` when sent, else SHA-256 of the body bytes.
 * Tests check this against the real signers (the JS SDK and botocore), not against itself.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** accessKeyId → secretAccessKey */
export type Credentials = ReadonlyMap<string, string>;

export interface IncomingSigned {
  method: string;
  /** path and query exactly as received on the wire */
  rawUrl: string;
  /** lower-case names, as node's IncomingMessage gives them */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export type AuthResult =
  | { ok: true; accessKeyId: string | null; region: string; service: string }
  | { ok: false; status: 403 | 400; code: string; message: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS refuses requests whose time is more than 15 minutes from its own. */
const MAX_SKEW_MS = 15 * 60 * 1000;

/** Parses "AKID:SECRET[,AKID2:SECRET2…]". */
export function parseCredentialSpec(spec: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const i = part.indexOf(':');
    if (i <= 0 || i === part.length - 1) throw new Error(`credentials: '${part.slice(0, 40)}' is not of the form ACCESS_KEY_ID:SECRET`);
    out.set(part.slice(0, i), part.slice(i + 1));
  }
  if (out.size === 0) throw new Error('credentials: no ACCESS_KEY_ID:SECRET pair given');
  return out;
}

/** Reads a credentials file: one AKID:SECRET per line; `#` comments and blank lines ignored. */
export function loadCredentialsFile(path: string): Map<string, string> {
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  try {
    return parseCredentialSpec(lines.join(','));
  } catch (e) {
    throw new Error(`credentials file ${path}: ${(e as Error).message}`);
  }
}

function deny(code: string, message: string, status: 403 | 400 = 403): AuthResult {
  return { ok: false, status, code, message };
}

/** RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function strictEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    return s;
  }
}

function canonicalUri(path: string): string {
  if (path === '') return '/';
  return path
    .split('/')
    .map((seg) => strictEncode(seg))
    .join('/');
}

function canonicalQuery(query: string): string {
  if (!query) return '';
  const pairs = query
    .split('&')
    .filter(Boolean)
    .map((p) => {
      const i = p.indexOf('=');
      const k = i < 0 ? p : p.slice(0, i);
      const v = i < 0 ? '' : p.slice(i + 1);
      return [strictEncode(safeDecode(k)), strictEncode(safeDecode(v))] as const;
    });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(v: string | string[] | undefined): string {
  const s = Array.isArray(v) ? v.join(',') : (v ?? '');
  return s.trim().replace(/\s+/g, ' ');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(header: string): ParsedAuthorization | string {
  if (!header.startsWith(ALGORITHM + ' ')) return `Authorization must use ${ALGORITHM}`;
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const i = part.indexOf('=');
    if (i > 0) fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential) return "Authorization header requires 'Credential' parameter.";
  if (!signedHeaders) return "Authorization header requires 'SignedHeaders' parameter.";
  if (!signature) return "Authorization header requires 'Signature' parameter.";
  const scope = credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request' || !/^\d{8}$/.test(scope[1])) {
    return `Credential should be scoped to a valid region and end in aws4_request: '${credential}'`;
  }
  return {
    accessKeyId: scope[0],
    date: scope[1],
    region: scope[2],
    service: scope[3],
    signedHeaders: signedHeaders.split(';'),
    signature,
  };
}

function parseAmzDate(s: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return null;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** Verifies a request's SigV4 signature (see the file comment for the rules). */
export function verifySigV4(
  req: IncomingSigned,
  opts: { credentials: Credentials | null; now: () => number; defaultRegion: string; services?: string[] },
): AuthResult {
  const services = opts.services ?? ['batch', 'logs'];
  const header = headerValue(req.headers['authorization']);
  if (!header) {
    if (opts.credentials === null) return { ok: true, accessKeyId: null, region: opts.defaultRegion, service: services[0] };
    return deny('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const auth = parseAuthorization(header);
  if (typeof auth === 'string') return deny('IncompleteSignatureException', auth);
  if (!services.includes(auth.service)) {
    return deny('InvalidSignatureException', `Credential should be scoped to correct service: '${services[0]}' (got '${auth.service}')`);
  }
  if (opts.credentials === null) return { ok: true, accessKeyId: auth.accessKeyId, region: auth.region, service: auth.service };

  const secret = opts.credentials.get(auth.accessKeyId);
  if (secret === undefined) return deny('UnrecognizedClientException', 'The security token included in the request is invalid.');

  const amzDate = headerValue(req.headers['x-amz-date']);
  const when = amzDate ? parseAmzDate(amzDate) : Date.parse(headerValue(req.headers['date']));
  if (when === null || Number.isNaN(when)) return deny('IncompleteSignatureException', 'the request carries no valid X-Amz-Date header');
  const now = opts.now();
  if (Math.abs(now - when) > MAX_SKEW_MS) {
    return deny(
      'InvalidSignatureException',
      `Signature expired: ${iso(when)} is now ${when < now ? 'earlier' : 'later'} than ${iso(now + (when < now ? -MAX_SKEW_MS : MAX_SKEW_MS))} (${iso(now)} ${when < now ? '-' : '+'} 15 min.)`,
    );
  }
  const stamp = amzDate || iso(when);
  if (!auth.signedHeaders.includes('host')) return deny('InvalidSignatureException', "'Host' must be a signed header");

  const q = req.rawUrl.indexOf('?');
  const path = q < 0 ? req.rawUrl : req.rawUrl.slice(0, q);
  const query = q < 0 ? '' : req.rawUrl.slice(q + 1);
  const payloadHash = headerValue(req.headers['x-amz-content-sha256']) || createHash('sha256').update(req.body).digest('hex');
  const canonical = [
    req.method.toUpperCase(),
    canonicalUri(path),
    canonicalQuery(query),
    auth.signedHeaders.map((h) => `${h}:${headerValue(req.headers[h])}\n`).join(''),
    auth.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const toSign = [ALGORITHM, stamp, scope, createHash('sha256').update(canonical, 'utf8').digest('hex')].join('\n');
  const key = hmac(hmac(hmac(hmac('AWS4' + secret, auth.date), auth.region), auth.service), 'aws4_request');
  const expected = Buffer.from(createHmac('sha256', key).update(toSign, 'utf8').digest('hex'));
  const given = Buffer.from(auth.signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return deny(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  return { ok: true, accessKeyId: auth.accessKeyId, region: auth.region, service: auth.service };
}
