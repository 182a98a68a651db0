/**
 * The webhooks and triggers settings: what is accepted, and errors that name the entry and
 * the field; the server refuses to start on a mistake, in one line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { backoffMs, parseWebhooks, signature } from '../../src/events/webhooks.js';
import { parseTriggers } from '../../src/triggers/rules.js';
import { CLI, tempDir } from '../helpers/server.js';

test('parseWebhooks: defaults, filters, and mistakes named by entry and field', () => {
  assert.deepEqual(parseWebhooks([{ url: 'http://127.0.0.1:9000/x' }]), [
    { name: 'http://127.0.0.1:9000/x', url: 'http://127.0.0.1:9000/x', secret: undefined, eventTypes: undefined, jobQueues: undefined, statuses: undefined, timeoutSeconds: 10 },
  ]);
  const cases: [unknown, RegExp][] = [
    [{ url: 'x' }, /^Error: webhooks must be a JSON list/],
    [[{}], /^Error: webhooks\[0\]\.url is required/],
    [[{ url: 'ftp://h/x' }], /^Error: webhooks\[0\]\.url must be http:\/\/ or https:\/\/ \(got ftp:\)$/],
    [[{ url: 'not a url' }], /^Error: webhooks\[0\]\.url 'not a url' is not a URL$/],
    [[{ url: 'http://h/', statuses: ['DONE'] }], /^Error: webhooks\[0\]\.statuses: unknown status 'DONE' \(known: SUBMITTED, PENDING/],
    [[{ url: 'http://h/', eventTypes: ['Job Done'] }], /^Error: webhooks\[0\]\.eventTypes: unknown event type 'Job Done'/],
    [[{ url: 'http://h/', secret: '' }], /^Error: webhooks\[0\]\.secret must be a non-empty string$/],
    [[{ url: 'http://h/', jobQueues: 'q' }], /^Error: webhooks\[0\]\.jobQueues must be a list of non-empty strings$/],
    [[{ url: 'http://h/', retries: 3 }], /^Error: webhooks\[0\]: unknown field 'retries'/],
    [[{ url: 'http://h/' }, { url: 'http://h/' }], /^Error: webhooks\[1\]: another webhook is already named 'http:\/\/h\/'/],
  ];
  for (const [value, want] of cases) assert.throws(() => parseWebhooks(value), want, JSON.stringify(value));
});

test('signature and backoff', () => {
  // The value a receiver computes with any HMAC-SHA256 implementation.
  assert.equal(signature('key', 'The quick brown fox jumps over the lazy dog'), 'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  assert.deepEqual([1, 2, 3, 4, 10, 30].map(backoffMs), [1000, 2000, 4000, 8000, 300_000, 300_000]);
});

test('parseTriggers: defaults, and mistakes named by entry and field', () => {
  const [r] = parseTriggers([{ name: 'in', watch: '/srv/in/*.txt', jobQueue: 'q', jobDefinition: 'd' }]);
  assert.equal(r.parameterName, 'file');
  assert.equal(r.settleSeconds, 2);
  assert.equal(r.pollSeconds, 2);
  assert.equal(r.glob.base, '/srv/in');
  const ok = { name: 'in', watch: '/srv/in/*', jobQueue: 'q', jobDefinition: 'd' };
  const cases: [unknown, RegExp][] = [
    [{}, /^Error: triggers must be a JSON list/],
    [[{ ...ok, name: undefined }], /^Error: triggers\[0\]\.name is required/],
    [[{ ...ok, name: 'has space' }], /^Error: triggers\[0\]\.name 'has space' must be 1-64 letters/],
    [[{ ...ok, watch: '' }], /^Error: triggers\[0\]\.watch is required and must be a non-empty string$/],
    [[{ ...ok, jobQueue: undefined }], /^Error: triggers\[0\]\.jobQueue is required/],
    [[{ ...ok, parameters: { a: 1 } }], /^Error: triggers\[0\]\.parameters must be an object of string values$/],
    [[{ ...ok, settleSeconds: -1 }], /^Error: triggers\[0\]\.settleSeconds must be a non-negative number of seconds$/],
    [[{ ...ok, pollSeconds: 0 }], /^Error: triggers\[0\]\.pollSeconds must be more than 0$/],
    [[{ ...ok, queue: 'q' }], /^Error: triggers\[0\]: unknown field 'queue'/],
    [[ok, ok], /^Error: triggers\[1\]\.name 'in' is used by another trigger$/],
  ];
  for (const [value, want] of cases) assert.throws(() => parseTriggers(value), want, JSON.stringify(value));
});

test('the server does not start with a mistaken webhooks or triggers setting, and says why in one line', () => {
  for (const [env, want] of [
    [{ OPENBATCH_WEBHOOKS: '[{"url":"http://h/","statuses":["DONE"]}]' }, /^openbatch: webhooks\[0\]\.statuses: unknown status 'DONE'/],
    [{ OPENBATCH_TRIGGERS: '[{"name":"x"}]' }, /^openbatch: triggers\[0\]\.watch is required/],
    [{ OPENBATCH_WEBHOOKS: '[{"url": ' }, /^openbatch: OPENBATCH_WEBHOOKS: webhooks must be JSON/],
  ] as const) {
    const r = spawnSync(process.execPath, [CLI, 'server', '--port', '0', '--data-dir', tempDir()], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, want);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
