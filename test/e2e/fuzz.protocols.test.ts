/**
 * Fuzzing beyond the Batch operations' bodies (test/e2e/fuzz.test.ts): SigV4 headers, the
 * agent protocol, the CloudWatch Logs endpoint, and bodies that arrive slowly, truncated or
 * not at all. Every answer is a 4xx with a message (or a success), never a 500, a hang or a
 * crash, and the server keeps serving. Seeded (FUZZ_SEED) and bounded in runs and time.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { DescribeJobQueuesCommand } from '@aws-sdk/client-batch';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateComputeEnvironmentCommand } from '@aws-sdk/client-batch';
import { batchClient, startTestServer, type TestServer } from '../helpers/server.js';
import { createQueue, registerDefinition, submit } from '../helpers/fixtures.js';

const seed = Number(process.env.FUZZ_SEED ?? 4242);
const runs = { seed, numRuns: 150 };
let t: TestServer;
let agent: { instanceId: string; token: string };
let tried = 0;

before(async () => {
  // Credentials configured, so that signatures are really checked.
  t = await startTestServer({ credentials: 'AKIDFUZZ:fuzzsecret' });
  t.client.destroy();
  t.client = batchClient(t.url, { accessKeyId: 'AKIDFUZZ', secretAccessKey: 'fuzzsecret' });
  await t.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'joined', type: 'UNMANAGED' }));
  await createQueue(t.client, 'q', ['joined']);
  await registerDefinition(t.client, 'd');
  await submit(t.client, { jobQueue: 'q', jobDefinition: 'd' });
  const join = readFileSync(join_(t.dataDir), 'utf8').trim();
  const res = await fetch(t.url + '/agent/v1/register', { method: 'POST', headers: { authorization: `Bearer ${join}` }, body: JSON.stringify({ computeEnvironment: 'joined', vcpus: 1, memoryMiB: 512, gpus: 0 }) });
  agent = (await res.json()) as typeof agent;
});
after(async () => {
  console.log(`fuzz (seed ${seed}): ${tried} inputs tried`);
  await t.close();
});

function join_(dataDir: string): string {
  return join(dataDir, 'agent-join-token');
}

async function send(path: string, init: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; text: string }> {
  const res = await fetch(t.url + path, { method: init.method ?? 'POST', headers: init.headers, body: init.body, signal: AbortSignal.timeout(15_000) });
  tried++;
  return { status: res.status, text: await res.text() };
}

function assertClientAnswer(what: string, res: { status: number; text: string }): void {
  assert.ok(res.status < 500, `${what} answered ${res.status}: ${res.text.slice(0, 300)}`);
  if (res.status >= 400) {
    const body = JSON.parse(res.text) as { message?: string };
    assert.ok(body.message && body.message.length > 0, `${what}: ${res.status} without a message`);
  }
}

async function stillServing(): Promise<void> {
  assert.equal((await fetch(t.url + '/healthz')).status, 200);
  assert.ok(Array.isArray((await t.client.send(new DescribeJobQueuesCommand({}))).jobQueues));
}

/** Strings of every awkward kind: empty, huge, unicode, control characters, near-valid. */
const awkward = fc.oneof(
  fc.constantFrom('', ' ', '\u0000', '\uFFFF', '😀'.repeat(50), 'x'.repeat(70_000), 'arn:aws:batch:::', 'arn:aws:batch:us-east-1:000000000000:job/', '%', '%%41', '\r\n', 'null'),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.string({ unit: 'binary', maxLength: 50 }),
);

test('invalid SigV4 headers: always a 4xx with a message', async () => {
  const now = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const header = fc.oneof(
    awkward,
    fc.tuple(fc.constantFrom('AWS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256 ', 'Bearer ', ''), fc.array(fc.tuple(fc.constantFrom('Credential', 'SignedHeaders', 'Signature', 'X', ''), awkward), { maxLength: 5 })).map(
      ([alg, parts]) => alg + parts.map(([k, v]) => `${k}=${v}`).join(', '),
    ),
    fc.record({ akid: fc.constantFrom('AKIDFUZZ', 'UNKNOWN', '', 'AKID/FUZZ'), date: fc.constantFrom(now.slice(0, 8), '20000101', '2020', ''), region: fc.constantFrom('us-east-1', '', '-', 'x'.repeat(80), 'ü'), service: fc.constantFrom('batch', 'logs', 's3', ''), headers: fc.constantFrom('host', 'host;x-amz-date', '', ';;;', 'x-amz-date'), sig: fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }), awkward) }).map(
      (r) => `AWS4-HMAC-SHA256 Credential=${r.akid}/${r.date}/${r.region}/${r.service}/aws4_request, SignedHeaders=${r.headers}, Signature=${r.sig}`,
    ),
  );
  const date = fc.oneof(fc.constant(now), fc.constant('20000101T000000Z'), awkward);
  await fc.assert(
    fc.asyncProperty(header, date, fc.constantFrom('/v1/describejobqueues', '/v1/submitjob', '/'), async (auth, amzDate, path) => {
      // Header values must be ISO-8859-1 without control characters to be sent at all.
      const clean = (s: string) => s.replace(/[^\x20-\x7e]/g, '?');
      const headers: Record<string, string> = { authorization: clean(auth), 'x-amz-date': clean(amzDate), 'content-type': 'application/json' };
      if (path === '/') headers['x-amz-target'] = 'Logs_20140328.DescribeLogGroups';
      const res = await send(path, { headers, body: '{}' });
      assert.ok(res.status >= 400, `a forged signature was accepted: ${auth.slice(0, 120)}`);
      assertClientAnswer(`Authorization '${auth.slice(0, 80)}'`, res);
    }),
    runs,
  );
  await stillServing();
});

test('the agent protocol: generated bodies and tokens never get a 500', async () => {
  const ref = fc.record({ jobId: awkward, attempt: fc.oneof(fc.integer(), fc.double(), awkward, fc.constant(null)) }, { requiredKeys: [] });
  const report = fc.oneof(
    fc.anything({ maxDepth: 3 }),
    fc.record(
      {
        kind: fc.oneof(fc.constantFrom('started', 'logs', 'exited'), awkward),
        jobId: awkward,
        attempt: fc.oneof(fc.integer({ min: -1, max: 3 }), awkward),
        token: fc.oneof(awkward, fc.constant(null)),
        at: fc.oneof(fc.double(), awkward),
        exitCode: fc.oneof(fc.integer(), fc.constant(null), awkward),
        reason: fc.oneof(fc.constant(null), awkward),
        timedOut: fc.oneof(fc.boolean(), awkward),
        lines: fc.oneof(fc.array(fc.record({ t: fc.oneof(fc.double(), awkward), m: fc.oneof(awkward, fc.integer()) }, { requiredKeys: [] }), { maxLength: 5 }), awkward),
      },
      { requiredKeys: [] },
    ),
  );
  const body = fc.oneof(
    fc.anything({ maxDepth: 4 }),
    fc.record({ instanceId: fc.oneof(fc.constant('mine'), awkward), running: fc.oneof(fc.array(ref, { maxLength: 5 }), awkward), waitMs: fc.oneof(fc.integer(), awkward) }, { requiredKeys: [] }),
    fc.record({ instanceId: fc.oneof(fc.constant('mine'), awkward), reports: fc.oneof(fc.array(report, { maxLength: 5 }), awkward) }, { requiredKeys: [] }),
    fc.record({ computeEnvironment: fc.oneof(fc.constant('joined'), awkward), vcpus: fc.oneof(fc.integer(), awkward), memoryMiB: fc.oneof(fc.integer(), awkward), gpus: fc.oneof(fc.integer(), awkward) }, { requiredKeys: [] }),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('poll', 'report', 'register', 'leave'), body, fc.constantFrom('mine', 'none', 'bad'), fc.boolean(), async (op, b, who, truncate) => {
      // 'mine' speaks as the registered agent, so bodies get past authentication to validation.
      const withId = b && typeof b === 'object' && !Array.isArray(b) && (b as { instanceId?: unknown }).instanceId === 'mine' ? { ...(b as object), instanceId: agent.instanceId, waitMs: 0 } : b;
      let text = JSON.stringify(withId) ?? 'undefined';
      if (truncate) text = text.slice(0, Math.max(1, text.length - 2));
      const token = who === 'mine' ? agent.token : who === 'bad' ? 'bad-token' : '';
      // A leave would end the instance the other inputs aim at: only with a bad token.
      const res = await send(`/agent/v1/${op}`, { headers: { authorization: `Bearer ${op === 'leave' ? 'bad-token' : token}`, 'content-type': 'application/json' }, body: text });
      assertClientAnswer(`agent ${op} ${text.slice(0, 100)}`, res);
    }),
    runs,
  );
  await stillServing();
});

test('the CloudWatch Logs endpoint: generated requests never get a 500', async () => {
  const logsBody = fc.oneof(
    fc.anything({ maxDepth: 4 }),
    fc.record(
      {
        logGroupName: fc.oneof(fc.constant('/aws/batch/job'), awkward),
        logStreamName: awkward,
        logStreamNames: fc.oneof(fc.array(awkward, { maxLength: 5 }), awkward),
        logGroupNamePrefix: awkward,
        logStreamNamePrefix: awkward,
        filterPattern: fc.oneof(fc.constantFrom('"x', '?', '-', '[a, b', '{ $.x = 1 }', '"a" -"b" ?c'), awkward),
        nextToken: fc.oneof(fc.constantFrom('f/0', 'b/-1', 'eyJ4IjoxfQ==', '!!!', 'x'.repeat(5000)), awkward),
        startTime: fc.oneof(fc.integer(), fc.double(), awkward),
        endTime: fc.oneof(fc.integer(), fc.double(), awkward),
        limit: fc.oneof(fc.integer(), fc.double(), awkward),
        startFromHead: fc.oneof(fc.boolean(), awkward),
        orderBy: fc.oneof(fc.constantFrom('LogStreamName', 'LastEventTime'), awkward),
        descending: fc.oneof(fc.boolean(), awkward),
      },
      { requiredKeys: [] },
    ),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('GetLogEvents', 'FilterLogEvents', 'DescribeLogStreams', 'DescribeLogGroups', 'PutLogEvents', 'Nope', ''), logsBody, fc.boolean(), async (op, b, truncate) => {
      let text = JSON.stringify(b) ?? 'undefined';
      if (truncate) text = text.slice(0, Math.max(1, text.length - 2));
      // Unsigned: the signature check comes first and is fuzzed above; here a valid one.
      const res = await signedLogs(op, text);
      assertClientAnswer(`logs ${op} ${text.slice(0, 100)}`, res);
    }),
    runs,
  );
  await stillServing();
});

/** A CloudWatch Logs request signed with the test key (the SDK's signer). */
async function signedLogs(op: string, body: string): Promise<{ status: number; text: string }> {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { Sha256 } = await import('@aws-crypto/sha256-js');
  const url = new URL(t.url);
  const signer = new SignatureV4({ service: 'logs', region: 'us-east-1', credentials: { accessKeyId: 'AKIDFUZZ', secretAccessKey: 'fuzzsecret' }, sha256: Sha256 });
  const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `Logs_20140328.${op}` }, body });
  return send('/', { headers: signed.headers as Record<string, string>, body });
}

/** Raw HTTP over a socket: what fetch will not send (lying Content-Length, slow bytes). */
function raw(chunks: (string | { waitMs: number })[], opts: { end?: boolean; timeoutMs?: number } = {}): Promise<string> {
  const url = new URL(t.url);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let out = '';
    const timer = setTimeout(() => socket.destroy(), opts.timeoutMs ?? 10_000);
    socket.on('data', (c) => (out += c.toString()));
    socket.on('close', () => {
      clearTimeout(timer);
      tried++;
      resolve(out);
    });
    socket.on('error', () => undefined);
    socket.on('connect', async () => {
      for (const c of chunks) {
        if (typeof c === 'string') socket.write(c);
        else await new Promise((r) => setTimeout(r, c.waitMs));
      }
      if (opts.end) socket.end();
    });
  });
}

const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);

test('slow, truncated and endless bodies: answered or dropped, and the server keeps serving', async () => {
  // The agent poll: a POST whose bearer token needs no signature over the body.
  const head = (len: number) =>
    `POST /agent/v1/poll HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${agent.token}\r\nContent-Type: application/json\r\nContent-Length: ${len}\r\nConnection: close\r\n\r\n`;
  // Slow: a valid body a byte at a time still gets its ordinary answer.
  const body = JSON.stringify({ instanceId: agent.instanceId, running: [], waitMs: 0 });
  const slow = await raw([head(body.length), ...body.split('').flatMap((ch) => [ch, { waitMs: 30 }])]);
  assert.equal(statusOf(slow), 200, slow.slice(0, 200));
  // Truncated: fewer bytes than Content-Length, then the client closes its side.
  const truncated = await raw([head(100), '{"instanceId": '], { end: true });
  assert.ok(statusOf(truncated) === 0 || (statusOf(truncated) >= 400 && statusOf(truncated) < 500), truncated.slice(0, 200));
  // Oversized by Content-Length alone: refused before the body is read.
  const oversized = await raw([head(50 * 1024 * 1024)], { timeoutMs: 5_000 });
  assert.equal(statusOf(oversized), 413, oversized.slice(0, 200));
  // Garbage instead of HTTP.
  const garbage = await raw(['\u0000\u0001GARBAGE\r\n\r\n'], { end: true });
  assert.ok(statusOf(garbage) === 0 || statusOf(garbage) === 400, garbage.slice(0, 200));
  // Endless: many clients that never finish their body do not stop others being served.
  const stuck = Array.from({ length: 40 }, () => raw([head(1000), '{'], { timeoutMs: 8_000 }));
  await new Promise((r) => setTimeout(r, 500));
  await stillServing();
  await Promise.all(stuck);
  await stillServing();
});
