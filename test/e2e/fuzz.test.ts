/**
 * Every operation, fed generated bad input over HTTP, answers a 4xx with a message — never a
 * 500, a hang or a crash — and the server keeps serving.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { batchOperations } from '../../src/api/operations.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, registerDefinition } from '../helpers/fixtures.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
  // Real objects to aim at, so that some generated inputs get past "does not exist".
  await createCe(t.client, 'ce');
  await createQueue(t.client, 'q', ['ce']);
  await registerDefinition(t.client, 'def');
});
after(async () => t.close());

/** Values that look like what a member might hold, and values that clearly do not. */
const member = fc.oneof(
  fc.constantFrom('q', 'ce', 'def', 'def:1', 'arn:aws:batch:us-east-1:000000000000:job-queue/q', '', ' ', 'Ref::x', 'ENABLED', 'DISABLED', 'MANAGED', 'EC2', 'VCPU'),
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 10 }), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 4 }),
  fc.constant('x'.repeat(100_000)),
  fc.constant(Array.from({ length: 2000 }, (_, i) => `id-${i}`)),
  // Bad ARNs and pagination tokens, for the members that take them.
  fc.constantFrom('arn:', 'arn:aws:batch', 'arn:aws:batch:us-east-1:000000000000:job-queue/', 'arn:aws:batch:us-east-1:abc:job-queue/q', 'arn:aws:iam::000000000000:role/r', 'arn:aws:batch:us-east-1:000000000000:job-definition/def:0', 'arn:aws:batch:us-east-1:000000000000:job/../../x'),
  fc.constantFrom('!!!', 'eyJ4IjoxfQ==', 'eyJvZmZzZXQiOi0xfQ==', '0', '-1', 'null', 'x'.repeat(5000)),
  fc.base64String({ maxLength: 200 }),
  // Huge arrays of objects, and unicode beyond the BMP.
  fc.constant(Array.from({ length: 5000 }, (_, i) => ({ name: `n${i}`, value: 'v' }))),
  fc.string({ unit: 'binary', maxLength: 100 }),
);

function bodyFor(memberNames: string[]) {
  return fc.oneof(
    fc.dictionary(fc.constantFrom(...memberNames, 'unknownMember'), member, { maxKeys: 6 }),
    fc.anything({ maxDepth: 4 }).map((v) => ({ [memberNames[0] ?? 'x']: v })),
    fc.constant(JSON.parse('{"a":' + '['.repeat(500) + ']'.repeat(500) + '}')),
  );
}

async function send(method: string, path: string, body: string | undefined): Promise<{ status: number; text: string; type: string | null }> {
  const res = await fetch(t.url + path, { method, body, headers: body === undefined ? {} : { 'content-type': 'application/json' }, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text(), type: res.headers.get('x-amzn-errortype') };
}

test('generated bad input to every operation gets a 4xx with a message, never a 500', async () => {
  let tried = 0;
  for (const op of batchOperations()) {
    const schema = op.input as unknown[];
    const names = (schema[4] as string[]) ?? [];
    await fc.assert(
      fc.asyncProperty(bodyFor(names), fc.boolean(), async (body, raw) => {
        const path = op.path.replace(/\{[^}]+\}/, encodeURIComponent('arn:aws:batch:us-east-1:000000000000:job-queue/q'));
        const text = raw ? JSON.stringify(body).slice(0, Math.max(1, JSON.stringify(body).length - 3)) : JSON.stringify(body);
        const res = await send(op.method, path, op.method === 'GET' || op.method === 'DELETE' ? undefined : text);
        tried++;
        assert.ok(res.status < 500, `${op.name} answered ${res.status}: ${res.text.slice(0, 300)}`);
        if (res.status >= 400) {
          const parsed = JSON.parse(res.text) as { message?: string };
          assert.ok(parsed.message && parsed.message.length > 0, `${op.name} error without a message`);
          assert.ok(res.type, `${op.name} error without x-amzn-ErrorType`);
        }
      }),
      { numRuns: 25, seed: Number(process.env.FUZZ_SEED ?? 4242) },
    );
  }
  assert.ok(tried >= 25 * 40);
  const health = await fetch(t.url + '/healthz');
  assert.equal(health.status, 200);
});

test('malformed requests outside the model: bad paths, methods, encodings and oversized bodies', async () => {
  const cases: [string, string, string | undefined][] = [
    ['POST', '/v1/nosuchoperation', '{}'],
    ['GET', '/v1/submitjob', undefined],
    ['POST', '/v1/submitjob', 'not json'],
    ['POST', '/v1/submitjob', '[1,2,3]'],
    ['POST', '/v1/submitjob', '"string"'],
    ['POST', '/v1/submitjob', 'x'.repeat(2 * 1024 * 1024)],
    ['GET', '/v1/tags/%E0%A4%A', undefined],
    ['GET', '/v1/tags/', undefined],
    ['POST', '/agent/v1/poll', '{}'],
    ['POST', '/agent/v1/report', 'nope'],
    ['POST', '/', '{}'],
  ];
  for (const [method, path, body] of cases) {
    const res = await send(method, path, body);
    assert.ok(res.status >= 400 && res.status < 500, `${method} ${path} answered ${res.status}: ${res.text.slice(0, 200)}`);
  }
  assert.equal((await fetch(t.url + '/healthz')).status, 200);
});
