/**
 * The API's edges (docs/security.md, "API client"): a signature must cover the body
 * (UNSIGNED-PAYLOAD, which only S3 takes, is refused); /metrics carries no label value a
 * caller chose and can require the API's authentication; made-up pagination tokens and
 * bodies nested thousands deep get a 400, never a 500, at every JSON entry point.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { TerminateJobCommand } from '@aws-sdk/client-batch';
import { FAILURE_CODES } from '../../src/model/reasons.js';
import { createCe, createQueue, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { batchClient, startTestServer, type TestServer } from '../helpers/server.js';

const KEY = { accessKeyId: 'AKIDAPI', secretAccessKey: 'api-secret' };

/** A request signed by the AWS SDK's own signer, sent with fetch. */
async function signed(url: string, o: { path: string; body?: string; method?: string; service?: string; headers?: Record<string, string> }): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  const signer = new SignatureV4({ service: o.service ?? 'batch', region: 'us-east-1', credentials: KEY, sha256: Sha256 });
  const req = await signer.sign({ method: o.method ?? 'POST', protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path: o.path, query: {}, headers: { host: u.host, 'content-type': 'application/json', ...o.headers }, body: o.body });
  const { host: _host, ...headers } = req.headers;
  const res = await fetch(url + o.path, { method: o.method ?? 'POST', headers, body: o.body });
  return { status: res.status, text: await res.text() };
}

const token = (op: string, p: unknown) => Buffer.from(JSON.stringify({ op, p })).toString('base64url');
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

describe('the API with credentials configured', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ credentials: `${KEY.accessKeyId}:${KEY.secretAccessKey}`, metricsAuth: true });
  });
  after(async () => t.close());

  test('a signature over UNSIGNED-PAYLOAD is refused by Batch and CloudWatch Logs: the body could be swapped under it', async () => {
    const batch = await signed(t.url, { path: '/v1/describejobqueues', body: '{}', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    assert.equal(batch.status, 403, batch.text);
    assert.match(batch.text, /InvalidSignatureException.*UNSIGNED-PAYLOAD is accepted only by Amazon S3/);
    const logs = await signed(t.url, {
      path: '/',
      service: 'logs',
      body: '{}',
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Logs_20140328.DescribeLogGroups' },
    });
    assert.equal(logs.status, 403, logs.text);
    assert.match(logs.text, /UNSIGNED-PAYLOAD is accepted only by Amazon S3/);
    // The same request with its body signed is served.
    assert.equal((await signed(t.url, { path: '/v1/describejobqueues', body: '{}' })).status, 200);
  });

  test('a signed dashboard sign-in nested 100,000 deep is a 400', async () => {
    const r = await signed(t.url, { path: '/openbatch/v1/dashboard/session', body: `{"writes":${deep(100_000)}}` });
    assert.equal(r.status, 400, r.text.slice(0, 200));
    assert.match(r.text, /nests deeper than 64 levels/);
  });

  test('with metricsAuth, /metrics needs the API\'s authentication', async () => {
    assert.equal((await fetch(`${t.url}/metrics`)).status, 403);
    const ok = await signed(t.url, { path: '/metrics', method: 'GET' });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /openbatch_job_transitions_total/);
  });
});

test('/metrics labels failures with a fixed set of codes, whatever reasons TerminateJob is given; open by default', async () => {
  const t = await startTestServer();
  try {
    await createCe(t.client, 'ce', { maxvCpus: 1 });
    await createQueue(t.client, 'q', ['ce'], 10);
    await registerDefinition(t.client, 'sleeper', { command: ['sleep', '300'] });
    await registerDefinition(t.client, 'failing', { command: ['false'] });
    // Queued jobs (the one vCPU is held) terminated with a reason each: 30 free texts.
    const hold = await submit(t.client, { jobQueue: 'q', jobDefinition: 'sleeper' });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await submit(t.client, { jobQueue: 'q', jobDefinition: 'sleeper' }));
    for (const [i, id] of ids.entries()) await t.client.send(new TerminateJobCommand({ jobId: id, reason: `reason ${i} of a caller ${'x'.repeat(i)}` }));
    await t.client.send(new TerminateJobCommand({ jobId: hold, reason: 'done holding' }));
    const failing = await submit(t.client, { jobQueue: 'q', jobDefinition: 'failing' });
    await waitForStatus(t.client, failing, ['FAILED'], 60_000);
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const reasons = [...text.matchAll(/^openbatch_job_failures_total\{reason="([^"]*)"\} (\d+)/gm)].map((m) => [m[1], Number(m[2])] as const);
    assert.ok(reasons.every(([r]) => (FAILURE_CODES as readonly string[]).includes(r)), JSON.stringify(reasons));
    assert.deepEqual(Object.fromEntries(reasons), { other: 31, essential_container_exited: 1 });
  } finally {
    await t.close();
  }
});

test('made-up pagination tokens and deeply nested bodies get a 400 at every entry point, never a 500', async () => {
  const t = await startTestServer();
  const client = batchClient(t.url);
  const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const res = await fetch(t.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/batch/aws4_request, SignedHeaders=host, Signature=00', ...headers },
      body,
    });
    return { status: res.status, text: await res.text() };
  };
  try {
    await createQueue(client, 'q', [await createCe(client, 'ce')]).catch(() => undefined);
    // A token of the right operation whose position has members of the wrong type.
    const badTokens: [string, string, Record<string, unknown>, unknown[]][] = [
      ['/v1/listjobs', 'ListJobs', { jobQueue: 'q' }, ['abc', 1e300, 1.5, {}, ['a']]],
      ['/v1/describejobdefinitions', 'DescribeJobDefinitions', {}, [['a', 'b'], ['a', 1e300], [1, 2], 'x', {}]],
      ['/v1/describecomputeenvironments', 'DescribeComputeEnvironments', {}, [5, {}, ['a']]],
      ['/v1/describejobqueues', 'DescribeJobQueues', {}, [1e300, [{}]]],
      ['/v1/listconsumableresources', 'ListConsumableResources', {}, [5, { a: 1 }]],
    ];
    for (const [path, op, input, positions] of badTokens) {
      for (const p of positions) {
        const r = await post(path, JSON.stringify({ ...input, nextToken: token(op, p) }));
        assert.equal(r.status, 400, `${op} with position ${JSON.stringify(p)}: ${r.text}`);
        assert.match(r.text, new RegExp(`nextToken is invalid for ${op}`));
      }
    }
    for (const p of [{ t: 'x', i: 1 }, { t: 1e300, i: 1 }]) {
      const r = await post('/', JSON.stringify({ logGroupName: '/aws/batch/job', nextToken: token('FilterLogEvents', p) }), {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'Logs_20140328.FilterLogEvents',
        authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=00',
      });
      assert.equal(r.status, 400, r.text);
    }
    // Bodies nested 100,000 deep, inside a member each entry point reads.
    const nested = deep(100_000);
    const cases: [string, string, Record<string, string>?][] = [
      ['/openbatch/v1/cost', `{"groupBy":${nested}}`],
      ['/openbatch/v1/why', `{"jobIds":${nested}}`],
      ['/v1/submitjob', `{"parameters":${nested}}`],
      ['/v1/registerjobdefinition', `{"containerProperties":${nested}}`],
      ['/agent/v1/poll', `{"instanceId":"i-0","running":${nested}}`],
      ['/agent/v1/report', `{"instanceId":"i-0","reports":${nested}}`],
      ['/agent/v1/register', `{"computeEnvironment":${nested}}`],
      ['/', `{"logGroupName":${nested}}`, { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Logs_20140328.GetLogEvents', authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=00' }],
    ];
    for (const [path, body, headers] of cases) {
      const r = await post(path, body, headers);
      assert.equal(r.status, 400, `${path}: ${r.status} ${r.text.slice(0, 200)}`);
      assert.match(r.text, /nests deeper than 64 levels/, path);
    }
  } finally {
    client.destroy();
    await t.close();
  }
});
