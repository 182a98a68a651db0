/**
 * Webhooks: signed "Batch Job State Change" events POSTed to configured URLs, in order per
 * job, retried until the receiver takes them, and kept across a kill -9 of the server.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { signature } from '../../src/events/webhooks.js';
import { batchClient, spawnServer, startTestServer, tempDir, type ServerProcess } from '../helpers/server.js';
import { createCe, createQueue, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { startReceiver, type Received } from '../helpers/webhookReceiver.js';

const LIFE = ['SUBMITTED', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED'];

function statusesOf(received: Received[], jobId: string): string[] {
  return received.filter((r) => r.event.detail.jobId === jobId).map((r) => r.event.detail.status);
}

const done = (ids: string[]) => (all: Received[]) => ids.every((id) => all.some((r) => r.event.detail.jobId === id && r.event.detail.status === 'SUCCEEDED'));

test('every state change of every job reaches the webhook, signed, in order per job; filters select what a hook hears', async () => {
  const all = await startReceiver();
  const finals = await startReceiver();
  const t = await startTestServer({
    webhooks: [
      { url: all.url, secret: 'sesame' },
      { name: 'finals', url: finals.url, statuses: ['SUCCEEDED', 'FAILED'], jobQueues: ['q'] },
    ],
  });
  try {
    await createCe(t.client, 'ce', { maxvCpus: 2 });
    await createQueue(t.client, 'q', ['ce']);
    await createQueue(t.client, 'other', ['ce']);
    await registerDefinition(t.client, 'ok', { command: ['true'] });
    const ids = await Promise.all([1, 2, 3].map(() => submit(t.client, { jobQueue: 'q', jobDefinition: 'ok' })));
    const elsewhere = await submit(t.client, { jobQueue: 'other', jobDefinition: 'ok' });
    await all.until(done([...ids, elsewhere]));
    for (const id of ids) assert.deepEqual(statusesOf(all.received, id), LIFE, `events of ${id}`);
    for (const r of all.received) {
      assert.equal(r.headers['x-openbatch-signature-256'], signature('sesame', r.raw));
      assert.equal(r.headers['x-openbatch-event-id'], r.event.id);
      assert.equal(r.event['detail-type'], 'Batch Job State Change');
      assert.equal(r.event.source, 'aws.batch');
      assert.match(r.event.resources[0], /^arn:aws:batch:us-east-1:000000000000:job\//);
    }
    assert.equal(new Set(all.received.map((r) => r.event.id)).size, all.received.length, 'each event has its own id');

    await finals.until(done(ids));
    await waitForStatus(t.client, elsewhere, ['SUCCEEDED']);
    // The filtered hook hears only final states of jobs in queue q, and unsigned (it has no secret).
    assert.deepEqual(
      finals.received.map((r) => r.event.detail.status),
      ids.map(() => 'SUCCEEDED'),
    );
    assert.equal(finals.received[0].headers['x-openbatch-signature-256'], undefined);
  } finally {
    await t.close();
    await all.close();
    await finals.close();
  }
});

test('an event the receiver refuses (HTTP 500) is delivered again, with backoff, and later events of that job wait for it', async () => {
  const rec = await startReceiver();
  let refusals = 0;
  rec.respond = (r) => (r.event.detail.status === 'RUNNABLE' && refusals++ < 2 ? 500 : 200);
  const t = await startTestServer({ webhooks: [{ url: rec.url, secret: 's' }] });
  try {
    await createCe(t.client, 'ce');
    await createQueue(t.client, 'q', ['ce']);
    await registerDefinition(t.client, 'ok', { command: ['true'] });
    const id = await submit(t.client, { jobQueue: 'q', jobDefinition: 'ok' });
    await rec.until(done([id]));
    assert.equal(refusals, 3, 'refused twice, accepted the third time');
    assert.deepEqual(statusesOf(rec.received, id), LIFE);
    const runnable = rec.received.find((r) => r.event.detail.status === 'RUNNABLE')!;
    assert.equal(runnable.headers['x-openbatch-delivery-attempt'], '3');
  } finally {
    await t.close();
    await rec.close();
  }
});

const dataDir = tempDir();
let server: ServerProcess | undefined;
after(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('events a receiver could not take survive a kill -9 of the server and arrive after the restart', async () => {
  // Find a free port for the receiver, then close it: the receiver is "down" at first.
  const probe = await startReceiver();
  const port = probe.port;
  await probe.close();
  const env = { OPENBATCH_WEBHOOKS: JSON.stringify([{ url: `http://127.0.0.1:${port}/hook`, secret: 'k' }]) };
  server = await spawnServer(dataDir, 0, env);
  let client = batchClient(server.url);
  await createCe(client, 'ce');
  await createQueue(client, 'q', ['ce']);
  await registerDefinition(client, 'ok', { command: ['true'] });
  const ids = [await submit(client, { jobQueue: 'q', jobDefinition: 'ok' }), await submit(client, { jobQueue: 'q', jobDefinition: 'ok' })];
  for (const id of ids) await waitForStatus(client, id, ['SUCCEEDED']);
  // Nothing could be delivered: all ten events (two jobs, five states each) wait in the outbox.
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const backlog = /^openbatch_webhook_backlog\{webhook="([^"]+)"\} (\d+)$/m.exec(metrics);
  assert.deepEqual([backlog?.[1], Number(backlog?.[2])], [`http://127.0.0.1:${port}/hook`, 10]);
  client.destroy();
  await server.kill('SIGKILL');

  const rec = await startReceiver(port);
  try {
    server = await spawnServer(dataDir, 0, env);
    client = batchClient(server.url);
    await rec.until(done(ids));
    for (const id of ids) assert.deepEqual(statusesOf(rec.received, id), LIFE);
    for (const r of rec.received) assert.equal(r.headers['x-openbatch-signature-256'], signature('k', r.raw));
    // A job submitted after the restart is delivered as well, after the backlog of its own hook.
    const later = await submit(client, { jobQueue: 'q', jobDefinition: 'ok' });
    await rec.until(done([later]));
    assert.deepEqual(statusesOf(rec.received, later), LIFE);
    client.destroy();
  } finally {
    await rec.close();
  }
});
