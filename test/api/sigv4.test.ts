/**
 * SigV4 verification, proved against real signers rather than against itself: requests are
 * signed by @smithy/signature-v4 (the JS SDK's signer) directly, by the real BatchClient and
 * CloudWatchLogsClient over HTTP, and by Debian's aws CLI (botocore) when it is installed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  BatchClient,
  DescribeJobQueuesCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-batch';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  loadCredentialsFile,
  parseCredentialSpec,
  verifySigV4,
  type AuthResult,
  type Credentials,
  type IncomingSigned,
} from '../../src/api/sigv4.js';

const AKID = 'AKIDEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const CREDS: Credentials = new Map([[AKID, SECRET]]);
const SIGNED_AT = Date.UTC(2026, 10, 25, 12, 0, 0);
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const ARN = 'arn:aws:batch:us-east-1:000000000000:job-queue/q';
const ENCODED_ARN_PATH = '/v1/tags/arn%3Aaws%3Abatch%3Aus-east-1%3A000000000000%3Ajob-queue%2Fq';

interface ToSign {
  method: string;
  /** the path as it goes on the wire (already percent-encoded, as the SDK's serializer leaves it) */
  path: string;
  /** the decoded query the signer sees */
  query?: Record<string, string | string[]>;
  /** the query as it goes on the wire */
  wireQuery?: string;
  headers?: Record<string, string>;
  body?: string;
}

interface SignAs {
  accessKeyId?: string;
  secret?: string;
  region?: string;
  service?: string;
  at?: number;
  /** the SDK sends x-amz-content-sha256 on every request; false signs the body hash without it */
  applyChecksum?: boolean;
}

/** Signs with the JS SDK's signer and returns the request as the server would receive it. */
async function smithySign(r: ToSign, as: SignAs = {}): Promise<IncomingSigned> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: as.accessKeyId ?? AKID, secretAccessKey: as.secret ?? SECRET },
    region: as.region ?? 'us-east-1',
    service: as.service ?? 'batch',
    sha256: Sha256,
    applyChecksum: as.applyChecksum ?? true,
  });
  const signed = await signer.sign(
    {
      method: r.method,
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 8080,
      path: r.path,
      query: r.query ?? {},
      headers: { host: '127.0.0.1:8080', ...(r.headers ?? {}) },
      body: r.body,
    },
    { signingDate: new Date(as.at ?? SIGNED_AT) },
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = v;
  return {
    method: r.method,
    rawUrl: r.path + (r.wireQuery ? '?' + r.wireQuery : ''),
    headers,
    body: Buffer.from(r.body ?? ''),
  };
}

function verify(req: IncomingSigned, opts: { credentials?: Credentials | null; now?: number; services?: string[] } = {}): AuthResult {
  return verifySigV4(req, {
    credentials: opts.credentials === undefined ? CREDS : opts.credentials,
    now: () => opts.now ?? SIGNED_AT + 1000,
    defaultRegion: 'us-east-1',
    services: opts.services,
  });
}

function assertDenied(r: AuthResult, code: string, message?: string | RegExp, status = 403): void {
  assert.equal(r.ok, false, `expected ${code}, got ${JSON.stringify(r)}`);
  if (r.ok) return;
  assert.equal(r.code, code, r.message);
  assert.equal(r.status, status);
  if (typeof message === 'string') assert.equal(r.message, message);
  else if (message) assert.match(r.message, message);
}

const describeJobQueues: ToSign = {
  method: 'POST',
  path: '/v1/describejobqueues',
  headers: { 'content-type': 'application/json' },
  body: '{"jobQueues":["q"]}',
};
const untag: ToSign = {
  method: 'DELETE',
  path: ENCODED_ARN_PATH,
  query: { tagKeys: ['a', 'b'] },
  wireQuery: 'tagKeys=a&tagKeys=b',
};
const getLogEvents: ToSign = {
  method: 'POST',
  path: '/',
  headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Logs_20140328.GetLogEvents' },
  body: '{"logGroupName":"/aws/batch/job","logStreamName":"s"}',
};

describe('requests signed by @smithy/signature-v4', () => {
  test('a POST with a JSON body verifies, with the region and service of its scope', async () => {
    const r = verify(await smithySign(describeJobQueues, { region: 'eu-west-3' }));
    assert.deepEqual(r, { ok: true, accessKeyId: AKID, region: 'eu-west-3', service: 'batch' });
  });

  test('a path holding a percent-encoded ARN verifies (it is encoded once more when signed)', async () => {
    const post = await smithySign({ ...describeJobQueues, path: ENCODED_ARN_PATH, body: '{"tags":{"a":"1"}}' });
    assert.equal(verify(post).ok, true);
    // Signed over the decoded ARN it would not: the server must not decode before canonicalising.
    assertDenied(verify({ ...post, rawUrl: '/v1/tags/' + ARN }), 'InvalidSignatureException', MISMATCH);
  });

  test('a DELETE with a repeated query parameter verifies, in either wire order', async () => {
    const req = await smithySign(untag);
    assert.equal(verify(req).ok, true);
    assert.equal(verify({ ...req, rawUrl: `${ENCODED_ARN_PATH}?tagKeys=b&tagKeys=a` }).ok, true);
    assertDenied(verify({ ...req, rawUrl: `${ENCODED_ARN_PATH}?tagKeys=a&tagKeys=c` }), 'InvalidSignatureException', MISMATCH);
    assertDenied(verify({ ...req, rawUrl: `${ENCODED_ARN_PATH}?tagKeys=a` }), 'InvalidSignatureException', MISMATCH);
  });

  test('a GET with no body verifies', async () => {
    assert.equal(verify(await smithySign({ method: 'GET', path: ENCODED_ARN_PATH })).ok, true);
  });

  test("a CloudWatch Logs POST with x-amz-target, signed for 'logs', verifies", async () => {
    const req = await smithySign(getLogEvents, { service: 'logs', region: 'ap-south-1' });
    assert.deepEqual(verify(req), { ok: true, accessKeyId: AKID, region: 'ap-south-1', service: 'logs' });
    const retargeted = { ...req, headers: { ...req.headers, 'x-amz-target': 'Logs_20140328.DeleteLogGroup' } };
    assertDenied(verify(retargeted), 'InvalidSignatureException', MISMATCH);
  });

  test('a tampered body, method or path is refused', async () => {
    const req = await smithySign(describeJobQueues, { applyChecksum: false });
    assert.equal(req.headers['x-amz-content-sha256'], undefined);
    assert.equal(verify(req).ok, true);
    assertDenied(verify({ ...req, body: Buffer.from('{"jobQueues":["r"]}') }), 'InvalidSignatureException', MISMATCH);
    assertDenied(verify({ ...req, method: 'PUT' }), 'InvalidSignatureException', MISMATCH);
    assertDenied(verify({ ...req, rawUrl: '/v1/describejobs' }), 'InvalidSignatureException', MISMATCH);
  });

  test('a wrong secret is InvalidSignatureException; an unknown key is UnrecognizedClientException', async () => {
    assertDenied(verify(await smithySign(describeJobQueues, { secret: SECRET + 'x' })), 'InvalidSignatureException', MISMATCH);
    assertDenied(
      verify(await smithySign(describeJobQueues, { accessKeyId: 'AKIDOTHER' })),
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  });

  test('a signature more than 15 minutes old or ahead is refused in AWS words; within 15 minutes it verifies', async () => {
    const req = await smithySign(describeJobQueues);
    assert.equal(verify(req, { now: SIGNED_AT + 14 * 60_000 }).ok, true);
    assert.equal(verify(req, { now: SIGNED_AT - 14 * 60_000 }).ok, true);
    assertDenied(
      verify(req, { now: SIGNED_AT + 16 * 60_000 }),
      'InvalidSignatureException',
      'Signature expired: 20261125T120000Z is now earlier than 20261125T120100Z (20261125T121600Z - 15 min.)',
    );
    assertDenied(
      verify(req, { now: SIGNED_AT - 16 * 60_000 }),
      'InvalidSignatureException',
      'Signature not yet current: 20261125T120000Z is still later than 20261125T115900Z (20261125T114400Z + 15 min.)',
    );
  });

  test('a missing Authorization header is MissingAuthenticationTokenException', async () => {
    const req = await smithySign(describeJobQueues);
    const { authorization: _, ...headers } = req.headers;
    assertDenied(verify({ ...req, headers }), 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  });

  test('a service other than the accepted ones is refused, naming the expected one', async () => {
    assertDenied(verify(await smithySign(getLogEvents, { service: 'logs' }), { services: ['batch'] }), 'InvalidSignatureException', /'batch'.*'logs'/);
    assertDenied(verify(await smithySign(describeJobQueues, { service: 'ec2' })), 'InvalidSignatureException', /'batch' or 'logs'.*'ec2'/);
    assertDenied(
      verify(await smithySign(describeJobQueues, { service: 'ec2' }), { credentials: null }),
      'InvalidSignatureException',
      /'batch' or 'logs'/,
    );
  });

  test('x-amz-content-sha256 (which the SDK always sends): a swapped body under the signed hash is caught', async () => {
    const req = await smithySign(describeJobQueues);
    assert.equal(req.headers['x-amz-content-sha256'], createHash('sha256').update(describeJobQueues.body!).digest('hex'));
    assert.equal(verify(req).ok, true);
    // The signature covers the declared hash, not the body: only comparing the two catches this.
    assertDenied(
      verify({ ...req, body: Buffer.from('{"jobQueues":["r"]}') }),
      'XAmzContentSHA256Mismatch',
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
      400,
    );
  });

  test('x-amz-content-sha256: UNSIGNED-PAYLOAD, which only S3 takes, is refused, with or without credentials', async () => {
    // Accepted, it would let the body of a signed request be swapped for any other.
    const unsigned = await smithySign({ ...describeJobQueues, headers: { ...describeJobQueues.headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    const why = 'x-amz-content-sha256 UNSIGNED-PAYLOAD is accepted only by Amazon S3: batch requests sign their body (its SHA-256, in hex)';
    assertDenied(verify(unsigned), 'InvalidSignatureException', why);
    assertDenied(verify({ ...unsigned, body: Buffer.from('anything') }), 'InvalidSignatureException', why);
    assertDenied(verify(unsigned, { credentials: null }), 'InvalidSignatureException', why);
  });

  test('a credential scope date other than the request date is refused', async () => {
    const req = await smithySign(describeJobQueues);
    const nextDay = { ...req, headers: { ...req.headers, 'x-amz-date': '20261126T000500Z' } };
    assertDenied(
      verify(nextDay, { now: Date.UTC(2026, 10, 26, 0, 5) }),
      'InvalidSignatureException',
      /'20261125' != '20261126', from '20261126T000500Z'/,
    );
  });

  test('without credentials: any well-formed signature, or none, is accepted unchecked', async () => {
    const wrong = await smithySign(describeJobQueues, { secret: 'nope', region: 'sa-east-1', at: 0 });
    assert.deepEqual(verify(wrong, { credentials: null }), { ok: true, accessKeyId: AKID, region: 'sa-east-1', service: 'batch' });
    const { authorization: _, ...headers } = wrong.headers;
    assert.deepEqual(verify({ ...wrong, headers }, { credentials: null }), { ok: true, accessKeyId: null, region: 'us-east-1', service: 'batch' });
  });

  test('a malformed Authorization header is IncompleteSignatureException, with or without credentials', async () => {
    const req = await smithySign(describeJobQueues);
    const auth = req.headers.authorization as string;
    const cases: [string, RegExp][] = [
      ['Bearer abc', /AWS4-HMAC-SHA256.*'Bearer'/],
      [auth.replace(/Credential=[^,]*, /, ''), /'Credential'/],
      [auth.replace(/SignedHeaders=[^,]*, /, ''), /'SignedHeaders'/],
      [auth.replace(/, Signature=.*/, ''), /'Signature'/],
      [auth.replace('/aws4_request', ''), /ACCESS_KEY_ID\/YYYYMMDD\/REGION\/SERVICE\/aws4_request/],
      [auth.replace('/us-east-1/', '/us:east/'), /valid region, not 'us:east'/],
    ];
    for (const [value, message] of cases) {
      for (const credentials of [CREDS, null]) {
        assertDenied(verify({ ...req, headers: { ...req.headers, authorization: value } }, { credentials }), 'IncompleteSignatureException', message);
      }
    }
  });

  // The canonical form against the signer over arbitrary paths, queries and header values;
  // wire forms use encodeURIComponent, which leaves !'()* unencoded where the signer encodes them.
  test('arbitrary paths, queries and header whitespace verify (fast-check)', async () => {
    const text = fc.string({ unit: fc.constantFrom(...'aZ09-._~ !\'()*:/%+=&?#@,;$[]|"é€😀'.split(/(?:)/u)), maxLength: 12 });
    const headerText = fc.string({ unit: fc.constantFrom(...'aZ9 \t;:,="é'.split('')), maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'DELETE', 'PUT'),
        fc.array(fc.oneof(text, fc.constantFrom('', '.', '..')), { maxLength: 5 }),
        fc.boolean(),
        fc.dictionary(text.filter((k) => k !== ''), fc.array(text, { minLength: 1, maxLength: 3 }), { maxKeys: 4 }),
        headerText,
        fc.string({ maxLength: 40 }),
        fc.boolean(),
        async (method, segments, trailingSlash, query, headerValue, body, applyChecksum) => {
          const path = '/' + segments.map((s) => (s === '.' || s === '..' ? s : encodeURIComponent(s))).join('/') + (trailingSlash ? '/' : '');
          const wireQuery = Object.entries(query)
            .flatMap(([k, vs]) => vs.map((v) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
            .join('&');
          const req = await smithySign({ method, path, query, wireQuery, headers: { 'x-amz-target': headerValue, 'x-custom': ` ${headerValue}  x ` }, body }, { applyChecksum });
          const r = verify(req);
          assert.equal(r.ok, true, `${method} ${req.rawUrl} ${JSON.stringify(req.headers)}: ${JSON.stringify(r)}`);
        },
      ),
      { numRuns: 300 },
    );
  });
});

interface Seen {
  method: string;
  url: string;
  req: IncomingSigned;
  result: AuthResult;
}

/** A node:http server that verifies every request and answers `{}` or the auth error. */
async function verifyingServer(credentials: Credentials | null): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const incoming: IncomingSigned = { method: req.method!, rawUrl: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
      const result = verifySigV4(incoming, { credentials, now: Date.now, defaultRegion: 'us-east-1' });
      seen.push({ method: req.method!, url: req.url!, req: incoming, result });
      if (result.ok) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else {
        res
          .writeHead(result.status, { 'content-type': 'application/json', 'x-amzn-ErrorType': result.code })
          .end(JSON.stringify({ __type: result.code, message: result.message }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function assertAllVerified(seen: Seen[], count: number, region: string): void {
  assert.equal(seen.length, count, JSON.stringify(seen));
  for (const s of seen) assert.equal(s.result.ok && s.result.region, region, `${s.method} ${s.url}: ${JSON.stringify(s.result)}`);
}

describe('the real BatchClient and CloudWatchLogsClient over HTTP', () => {
  let server: Awaited<ReturnType<typeof verifyingServer>>;
  before(async () => {
    server = await verifyingServer(CREDS);
  });
  after(() => server.close());

  function batch(secretAccessKey: string, accessKeyId = AKID): BatchClient {
    // One attempt: the SDK retries InvalidSignatureException as a possible clock skew.
    return new BatchClient({ region: 'eu-west-3', endpoint: server.url, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
  }
  const commands = () => [
    new TagResourceCommand({ resourceArn: ARN, tags: { a: '1', 'b c': 'd/e' } }),
    new UntagResourceCommand({ resourceArn: ARN, tagKeys: ['b c', 'a'] }),
    new ListTagsForResourceCommand({ resourceArn: 'arn:aws:batch:us-east-1:000000000000:job-definition/d:1' }),
    new DescribeJobQueuesCommand({ jobQueues: ['q'] }),
  ];

  test('TagResource, UntagResource, ListTagsForResource and DescribeJobQueues verify', async () => {
    server.seen.length = 0;
    const client = batch(SECRET);
    try {
      for (const command of commands()) await client.send(command as never);
    } finally {
      client.destroy();
    }
    assertAllVerified(server.seen, 4, 'eu-west-3');
    // The cases that matter reached the server in the form they are meant to test.
    assert.ok(server.seen[0].url.startsWith('/v1/tags/arn%3Aaws%3Abatch'), server.seen[0].url);
    assert.match(server.seen[1].url, /\?tagKeys=b%20c&tagKeys=a$/);
    // Replayed with another body, the captured TagResource must not pass.
    const replay = verifySigV4(
      { ...server.seen[0].req, body: Buffer.from('{"tags":{"owner":"mallory"}}') },
      { credentials: CREDS, now: Date.now, defaultRegion: 'us-east-1' },
    );
    assertDenied(replay, 'XAmzContentSHA256Mismatch', undefined, 400);
  });

  test('with a wrong secret each is refused with InvalidSignatureException; an unknown key with UnrecognizedClientException', async () => {
    const wrong = batch(SECRET + 'x');
    const unknown = batch(SECRET, 'AKIDOTHER');
    try {
      for (const command of commands()) {
        await assert.rejects(wrong.send(command as never), (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
          assert.equal(e.name, 'InvalidSignatureException');
          assert.equal(e.message, MISMATCH);
          assert.equal(e.$metadata?.httpStatusCode, 403);
          return true;
        });
      }
      await assert.rejects(unknown.send(new DescribeJobQueuesCommand({})), { name: 'UnrecognizedClientException' });
    } finally {
      wrong.destroy();
      unknown.destroy();
    }
  });

  test("GetLogEvents from CloudWatchLogsClient verifies as service 'logs'", async () => {
    server.seen.length = 0;
    const logs = new CloudWatchLogsClient({ region: 'eu-west-3', endpoint: server.url, credentials: { accessKeyId: AKID, secretAccessKey: SECRET }, maxAttempts: 1 });
    try {
      await logs.send(new GetLogEventsCommand({ logGroupName: '/aws/batch/job', logStreamName: 'd/default/abc' }));
    } finally {
      logs.destroy();
    }
    assertAllVerified(server.seen, 1, 'eu-west-3');
    assert.equal(server.seen[0].result.ok && server.seen[0].result.service, 'logs');
  });
});

const AWS_CLI = '/usr/bin/aws';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the aws CLI asynchronously (the verifying server shares this process) with no user config. */
function awsCli(args: string[], home: string, secret: string): Promise<Run> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_')) env[k] = v;
  Object.assign(env, {
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
    AWS_ACCESS_KEY_ID: AKID,
    AWS_SECRET_ACCESS_KEY: secret,
    AWS_DEFAULT_REGION: 'ap-southeast-2',
    AWS_MAX_ATTEMPTS: '1',
    AWS_PAGER: '',
  });
  return new Promise((resolve, reject) => {
    const child = spawn(AWS_CLI, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the aws CLI (botocore) over HTTP', () => {
  let server: Awaited<ReturnType<typeof verifyingServer>>;
  let home = '';
  before(async () => {
    server = await verifyingServer(CREDS);
    home = mkdtempSync(join(tmpdir(), 'sigv4-aws-home-'));
  });
  after(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('batch and logs commands verify with the right secret and are refused with a wrong one', async (t) => {
    if (!existsSync(AWS_CLI)) {
      t.skip('awscli not installed');
      return;
    }
    const endpoint = ['--endpoint-url', server.url];
    const runs = await Promise.all(
      [
        ['batch', 'describe-job-queues'],
        ['batch', 'tag-resource', '--resource-arn', ARN, '--tags', '{"a":"1","b c":"d/e"}'],
        ['batch', 'untag-resource', '--resource-arn', ARN, '--tag-keys', 'b c', 'a'],
        ['batch', 'list-tags-for-resource', '--resource-arn', 'arn:aws:batch:us-east-1:000000000000:job-definition/d:1'],
        ['logs', 'get-log-events', '--log-group-name', '/aws/batch/job', '--log-stream-name', 'd/default/abc'],
      ].map((args) => awsCli([...args, ...endpoint], home, SECRET)),
    );
    for (const r of runs) assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assertAllVerified(server.seen, 5, 'ap-southeast-2');
    const untagged = server.seen.find((s) => s.method === 'DELETE');
    assert.ok(untagged && /^\/v1\/tags\/arn%3Aaws.*\?tagKeys=b%20c&tagKeys=a$/.test(untagged.url), JSON.stringify(untagged));
    assert.deepEqual(new Set(server.seen.map((s) => s.result.ok && s.result.service)), new Set(['batch', 'logs']));

    const wrong = await awsCli(['batch', 'describe-job-queues', ...endpoint], home, SECRET + 'x');
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /InvalidSignatureException/);
  });
});

describe('credentials', () => {
  test('parseCredentialSpec reads one or more AKID:SECRET pairs; a secret may hold ":" and "/"', () => {
    assert.deepEqual(parseCredentialSpec('AKID:SECRET'), new Map([['AKID', 'SECRET']]));
    assert.deepEqual(
      parseCredentialSpec(' AKID1:se:cr/et+1 , AKID2:s2,'),
      new Map([
        ['AKID1', 'se:cr/et+1'],
        ['AKID2', 's2'],
      ]),
    );
  });

  test('parseCredentialSpec refuses malformed specs, saying which entry and never quoting a secret', () => {
    const cases: [string, RegExp][] = [
      ['', /no ACCESS_KEY_ID:SECRET pair/],
      [' , ', /no ACCESS_KEY_ID:SECRET pair/],
      ['A:s1,topsecretvalue', /entry 2 is not of the form ACCESS_KEY_ID:SECRET/],
      [':topsecretvalue', /entry 1 has an empty access key id/],
      ['AKID:', /empty secret for access key id 'AKID'/],
      ['AK/ID:topsecretvalue', /'AK\/ID' may not contain/],
      ['AK ID:topsecretvalue', /'AK ID' may not contain/],
      ['A:topsecretvalue,A:topsecretvalue2', /'A' is given twice/],
    ];
    for (const [spec, message] of cases) {
      assert.throws(
        () => parseCredentialSpec(spec),
        (e: Error) => {
          assert.match(e.message, message);
          assert.doesNotMatch(e.message, /topsecret/);
          return true;
        },
        spec,
      );
    }
  });

  test('loadCredentialsFile skips comments and blank lines, tolerates CRLF, and names the bad line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigv4-creds-'));
    try {
      const good = join(dir, 'good');
      writeFileSync(good, '# openbatch users\n\nAKID1:secret1\r\n  # indented comment\n AKID2:se:cret2 \n');
      assert.deepEqual(
        loadCredentialsFile(good),
        new Map([
          ['AKID1', 'secret1'],
          ['AKID2', 'se:cret2'],
        ]),
      );
      const bad = join(dir, 'bad');
      writeFileSync(bad, '# users\nAKID1:secret1\ntopsecretvalue\n');
      assert.throws(() => loadCredentialsFile(bad), (e: Error) => e.message.includes(`${bad} line 3`) && !e.message.includes('topsecret'));
      const empty = join(dir, 'empty');
      writeFileSync(empty, '# nobody yet\n\n');
      assert.throws(() => loadCredentialsFile(empty), /holds no ACCESS_KEY_ID:SECRET line/);
      assert.throws(() => loadCredentialsFile(join(dir, 'missing')), /ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
