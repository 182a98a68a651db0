/**
 * Request limits: bodies over maxRequestBytes get a 413 ClientException naming the setting;
 * an access key over rateLimitPerSecond gets AWS's throttling answer (Batch: 429
 * TooManyRequestsException; CloudWatch Logs: 400 ThrottlingException) while other keys are
 * served, and is served again once its rate drops.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DescribeJobQueuesCommand } from '@aws-sdk/client-batch';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { batchClient, startTestServer } from '../helpers/server.js';

test('a request body over maxRequestBytes gets a 413 ClientException that names the limit', async () => {
  const t = await startTestServer({ maxRequestBytes: 4096 });
  try {
    const res = await fetch(t.url + '/v1/submitjob', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jobName: 'x'.repeat(5000) }) });
    assert.equal(res.status, 413);
    assert.equal(res.headers.get('x-amzn-errortype'), 'ClientException');
    const body = (await res.json()) as { message: string };
    assert.match(body.message, /larger than the limit of 4096 bytes \(server setting maxRequestBytes\)/);
    // Under the limit the same route answers as usual.
    const ok = await t.client.send(new DescribeJobQueuesCommand({}));
    assert.deepEqual(ok.jobQueues, []);
  } finally {
    await t.close();
  }
});

test('an access key over its rate is throttled with TooManyRequestsException; other keys are not', async () => {
  const t = await startTestServer({ rateLimitPerSecond: 2, rateLimitBurst: 5 });
  const busy = batchClient(t.url, { accessKeyId: 'BUSY', secretAccessKey: 'x' });
  const calm = batchClient(t.url, { accessKeyId: 'CALM', secretAccessKey: 'x' });
  try {
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => busy.send(new DescribeJobQueuesCommand({}))));
    const throttled = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason as { name: string; message: string; $metadata: { httpStatusCode: number } });
    assert.ok(throttled.length >= 10, `only ${throttled.length} of 20 requests were throttled`);
    for (const e of throttled) {
      assert.equal(e.name, 'TooManyRequestsException');
      assert.equal(e.$metadata.httpStatusCode, 429);
      assert.match(e.message, /access key BUSY .*rateLimitPerSecond/);
    }
    // Another key has its own bucket.
    assert.deepEqual((await calm.send(new DescribeJobQueuesCommand({}))).jobQueues, []);
    // The throttled key is served again once it slows down.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual((await busy.send(new DescribeJobQueuesCommand({}))).jobQueues, []);
  } finally {
    busy.destroy();
    calm.destroy();
    await t.close();
  }
});

test('CloudWatch Logs throttles with its own code: 400 ThrottlingException', async () => {
  const t = await startTestServer({ rateLimitPerSecond: 2, rateLimitBurst: 5 });
  const logs = new CloudWatchLogsClient({ endpoint: t.url, region: 'us-east-1', credentials: { accessKeyId: 'LOGS', secretAccessKey: 'x' }, maxAttempts: 1 });
  try {
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => logs.send(new DescribeLogGroupsCommand({}))));
    const throttled = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason as { name: string; $metadata: { httpStatusCode: number } });
    assert.ok(throttled.length >= 10, `only ${throttled.length} of 20 requests were throttled`);
    for (const e of throttled) {
      assert.equal(e.name, 'ThrottlingException');
      assert.equal(e.$metadata.httpStatusCode, 400);
    }
  } finally {
    logs.destroy();
    await t.close();
  }
});
