/**
 * AWS Signature Version 4 verification of incoming requests.
 *
 * The server recomputes the signature the client made and compares. The canonical request
 * is built as AWS builds it for every service but S3, which is also what the JS SDK and
 * botocore sign:
 *   - canonical URI: the path as received, with empty and dot segments removed, then each
 *     segment URI-encoded once more — an ARN that arrived as `arn%3Aaws…` is signed as
 *     `arn%253Aaws…`;
 *   - canonical query: pairs percent-decoded to bytes, re-encoded strictly (RFC 3986),
 *     sorted by key then value;
 *   - signed headers: values with spaces and tabs trimmed and inner runs folded to one;
 *   - payload hash: `x-amz-content-sha256` when sent (it must be the body's), else SHA-256 of
 *     the body bytes; `UNSIGNED-PAYLOAD`, which only S3 takes, is refused.
 * Tests check this against the real signers (the JS SDK and botocore), not against itself.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** accessKeyId → secretAccessKey */
export type Credentials = ReadonlyMap<string, string>;

/** A request as it arrived, before anything parsed or re-serialised it. */
export interface IncomingSigned {
  method: string;
  /** path and query exactly as received on the wire, e.g. "/v1/tags/arn%3Aaws%3A…?tagKeys=a&tagKeys=b" */
  rawUrl: string;
  /** lower-case names, as node's IncomingMessage gives them */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Who signed (null when unsigned and no credentials are configured) and the credential scope. */
export type AuthResult =
  | { ok: true; accessKeyId: string | null; region: string; service: string }
  | { ok: false; status: 403 | 400; code: string; message: string };

export interface VerifyOptions {
  /** null: accept any well-formed signature, or none at all, without checking it */
  credentials: Credentials | null;
  /** epoch milliseconds */
  now: () => number;
  /** the region of unsigned requests (only possible without credentials) */
  defaultRegion: string;
  /** signing names accepted in the credential scope; default ['batch', 'logs'] */
  services?: string[];
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS refuses requests whose time is more than 15 minutes from its own. */
const MAX_SKEW_MS = 15 * 60 * 1000;
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/**
 * Parses "AKID:SECRET[,AKID2:SECRET2…]". Error messages never quote a secret, since they end
 * up in logs.
 */
export function parseCredentialSpec(spec: string): Map<string, string> {
  const out = new Map<string, string>();
  spec.split(',').forEach((entry, i) => addPair(out, entry, `credentials entry ${i + 1}`));
  if (out.size === 0) throw new Error('credentials: no ACCESS_KEY_ID:SECRET pair given');
  return out;
}

/** Reads a credentials file: one AKID:SECRET per line; `#` comments and blank lines ignored. */
export function loadCredentialsFile(path: string): Map<string, string> {
  const out = new Map<string, string>();
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim().startsWith('#')) addPair(out, line, `credentials file ${path} line ${i + 1}`);
    });
  if (out.size === 0) throw new Error(`credentials file ${path} holds no ACCESS_KEY_ID:SECRET line`);
  return out;
}

function addPair(out: Map<string, string>, entry: string, where: string): void {
  const text = entry.trim();
  if (!text) return;
  const i = text.indexOf(':');
  if (i < 0) throw new Error(`${where} is not of the form ACCESS_KEY_ID:SECRET (no ':')`);
  const id = text.slice(0, i).trim();
  const secret = text.slice(i + 1).trim();
  if (!id) throw new Error(`${where} has an empty access key id`);
  if (!secret) throw new Error(`${where} has an empty secret for access key id '${id}'`);
  // The id travels inside `Credential=ID/date/region/…`: these characters could never match.
  if (/[\s/,]/.test(id)) throw new Error(`${where}: access key id '${id}' may not contain '/', ',' or whitespace`);
  if (out.has(id)) throw new Error(`${where}: access key id '${id}' is given twice`);
  out.set(id, secret);
}

function deny(code: string, message: string, status: 403 | 400 = 403): AuthResult {
  return { ok: false, status, code, message };
}

/** RFC 3986 percent-encoding of bytes: only unreserved characters stay as they are. */
function uriEncode(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * Query components decoded to bytes rather than to a string, so that an escape of invalid
 * UTF-8 (`%FF`) or a stray '%' survives the round trip unchanged instead of failing to decode.
 */
function decodeQueryComponent(s: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '%' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === '+') {
      // Form encoding's space; the signers themselves always send %20 and %2B.
      bytes.push(0x20);
    } else {
      const char = String.fromCodePoint(s.codePointAt(i)!);
      bytes.push(...Buffer.from(char, 'utf8'));
      i += char.length - 1;
    }
  }
  return Buffer.from(bytes);
}

function canonicalUri(path: string): string {
  // RFC 3986 dot-segment removal plus dropping empty segments, as both signers do before encoding.
  const segments: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return '/' + segments.map((s) => uriEncode(Buffer.from(s, 'utf8'))).join('/') + trailing;
}

function canonicalQuery(query: string): string {
  const pairs = query
    .split('&')
    .filter(Boolean)
    .map((p) => {
      const i = p.indexOf('=');
      const k = i < 0 ? p : p.slice(0, i);
      const v = i < 0 ? '' : p.slice(i + 1);
      return [uriEncode(decodeQueryComponent(k)), uriEncode(decodeQueryComponent(v))] as const;
    });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(v: string | string[] | undefined): string {
  const s = Array.isArray(v) ? v.join(',') : (v ?? '');
  // Only SP and HTAB: JS's \s and trim() would also eat characters the signers keep (U+00A0).
  return s.replace(/^[ \t]+|[ \t]+$/g, '').replace(/[ \t]+/g, ' ');
}

function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
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
  if (!header.startsWith(ALGORITHM + ' ')) return `Authorization header must use the ${ALGORITHM} algorithm: '${header.split(' ')[0].slice(0, 40)}' is not supported`;
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
  if (scope.length !== 5 || !scope[0] || !/^\d{8}$/.test(scope[1]) || scope[4] !== 'aws4_request') {
    return `Credential should be of the form ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request: '${credential}'`;
  }
  // The region goes into ARNs, so it must look like one even when nothing else is checked.
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(scope[2])) {
    return `Credential should be scoped to a valid region, not '${scope[2]}'`;
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

/** ISO 8601 basic format, as in x-amz-date. */
function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** AWS's own wording, which people search for. */
function skewMessage(when: number, now: number): string {
  const [w, n] = [amzDate(when), amzDate(now)];
  return when < now
    ? `Signature expired: ${w} is now earlier than ${amzDate(now - MAX_SKEW_MS)} (${n} - 15 min.)`
    : `Signature not yet current: ${w} is still later than ${amzDate(now + MAX_SKEW_MS)} (${n} + 15 min.)`;
}

/** Verifies a request's SigV4 signature (see the file comment for the canonical form). */
export function verifySigV4(req: IncomingSigned, opts: VerifyOptions): AuthResult {
  const services = opts.services ?? ['batch', 'logs'];
  const header = headerValue(req.headers['authorization']);
  if (!header) {
    if (opts.credentials === null) return { ok: true, accessKeyId: null, region: opts.defaultRegion, service: services[0] };
    return deny('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const auth = parseAuthorization(header);
  if (typeof auth === 'string') return deny('IncompleteSignatureException', auth);
  if (!services.includes(auth.service)) {
    const expected = services.map((s) => `'${s}'`).join(' or ');
    return deny('InvalidSignatureException', `Credential should be scoped to correct service: ${expected}, not '${auth.service}'.`);
  }
  // Only Amazon S3 takes UNSIGNED-PAYLOAD; Batch and CloudWatch Logs sign the body, and so
  // must anything that speaks to them: otherwise the body of a signed request could be
  // swapped for another under the same signature. Refused with or without credentials.
  if (headerValue(req.headers['x-amz-content-sha256']) === UNSIGNED_PAYLOAD) {
    return deny('InvalidSignatureException', `x-amz-content-sha256 ${UNSIGNED_PAYLOAD} is accepted only by Amazon S3: ${auth.service} requests sign their body (its SHA-256, in hex)`);
  }
  if (opts.credentials === null) return { ok: true, accessKeyId: auth.accessKeyId, region: auth.region, service: auth.service };

  const secret = opts.credentials.get(auth.accessKeyId);
  if (secret === undefined) return deny('UnrecognizedClientException', 'The security token included in the request is invalid.');

  // botocore signs with the Date header instead of X-Amz-Date when a request already has one.
  const amzDateHeader = headerValue(req.headers['x-amz-date']);
  const when = amzDateHeader ? parseAmzDate(amzDateHeader) : Date.parse(headerValue(req.headers['date']));
  if (when === null || Number.isNaN(when)) {
    return deny('IncompleteSignatureException', "Authorization header requires existence of either a valid 'X-Amz-Date' or a 'Date' header.");
  }
  const stamp = amzDateHeader || amzDate(when);
  if (stamp.slice(0, 8) !== auth.date) {
    return deny(
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${stamp.slice(0, 8)}', from '${stamp}'.`,
    );
  }
  const now = opts.now();
  if (Math.abs(now - when) > MAX_SKEW_MS) return deny('InvalidSignatureException', skewMessage(when, now));
  if (!auth.signedHeaders.includes('host')) return deny('InvalidSignatureException', "'Host' must be a signed header.");

  // A declared hash is what gets signed, so unless it is checked against the body the body
  // could be swapped under a valid signature.
  const declared = headerValue(req.headers['x-amz-content-sha256']);
  if (declared && declared.toLowerCase() !== sha256Hex(req.body)) {
    return deny('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", 400);
  }
  const payloadHash = declared || sha256Hex(req.body);

  const q = req.rawUrl.indexOf('?');
  const canonical = [
    req.method.toUpperCase(),
    canonicalUri(q < 0 ? req.rawUrl : req.rawUrl.slice(0, q)),
    canonicalQuery(q < 0 ? '' : req.rawUrl.slice(q + 1)),
    auth.signedHeaders.map((h) => `${h}:${headerValue(req.headers[h])}\n`).join(''),
    auth.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const toSign = [ALGORITHM, stamp, scope, sha256Hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac('AWS4' + secret, auth.date), auth.region), auth.service), 'aws4_request');
  const expected = Buffer.from(createHmac('sha256', key).update(toSign, 'utf8').digest('hex'));
  const given = Buffer.from(auth.signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return deny('InvalidSignatureException', SIGNATURE_MISMATCH);
  }
  return { ok: true, accessKeyId: auth.accessKeyId, region: auth.region, service: auth.service };
}
