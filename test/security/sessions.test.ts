/**
 * What a dashboard session can and cannot do (docs/security.md, "dashboard session"), over
 * HTTP with the cookie a sign-in issues: it reads; it writes only the dashboard's actions,
 * only when its sign-in asked for writes, and only with the dashboard's header; it never
 * creates, registers or deletes, nor speaks the agent protocol. The sign-in itself, in a real
 * browser, is test/e2e/dashboard.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DashboardSessions, SESSION_COOKIE, WRITE_HEADER } from '../../src/api/dashboard/sessions.js';
import { createCe, createQueue, registerDefinition } from '../helpers/fixtures.js';
import { batchClient, startTestServer, type TestServer } from '../helpers/server.js';

const KEY = { accessKeyId: 'AKIDSESSION', secretAccessKey: 'session-secret' };
let t: TestServer;

before(async () => {
  t = await startTestServer({ credentials: `${KEY.accessKeyId}:${KEY.secretAccessKey}` });
  const client = batchClient(t.url, KEY);
  await createCe(client, 'ce', { maxvCpus: 1 });
  await createQueue(client, 'q', ['ce']);
  await registerDefinition(client, 'd', { command: ['true'] });
  client.destroy();
});
after(async () => t.close());

function session(writes: boolean): string {
  return `${SESSION_COOKIE}=${new DashboardSessions(new Map([[KEY.accessKeyId, KEY.secretAccessKey]]), Date.now).issue(KEY.accessKeyId, writes).value}`;
}

async function post(path: string, body: unknown, headers: Record<string, string>): Promise<number> {
  return (await fetch(t.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })).status;
}

const submitJob = { jobName: 'from-dashboard', jobQueue: 'q', jobDefinition: 'd' };

test('a session reads, and writes nothing unless its sign-in asked for writes', async () => {
  const cookie = session(false);
  assert.equal(await post('/v1/describejobqueues', {}, { cookie }), 200);
  assert.equal((await fetch(`${t.url}/openbatch/v1/dashboard/overview`, { headers: { cookie } })).status, 200);
  assert.equal(await post('/v1/submitjob', submitJob, { cookie, [WRITE_HEADER]: '1' }), 403);
  assert.equal(await post('/v1/createjobqueue', { jobQueueName: 'q2', priority: 1, computeEnvironmentOrder: [] }, { cookie, [WRITE_HEADER]: '1' }), 403);
});

test("a session granted writes makes the dashboard's actions, with its header, and nothing else", async () => {
  const cookie = session(true);
  assert.equal(await post('/v1/submitjob', submitJob, { cookie }), 403, 'without the header a page of another site could send');
  assert.equal(await post('/v1/submitjob', submitJob, { cookie, [WRITE_HEADER]: '1' }), 200);
  for (const [path, body] of [
    ['/v1/createjobqueue', { jobQueueName: 'q3', priority: 1, computeEnvironmentOrder: [] }],
    ['/v1/registerjobdefinition', { jobDefinitionName: 'x', type: 'container', containerProperties: { image: 'busybox', command: ['true'] } }],
    ['/v1/deletejobqueue', { jobQueue: 'q' }],
    ['/openbatch/v1/rotateJoinToken', {}],
  ] as const) {
    assert.equal(await post(path, body, { cookie, [WRITE_HEADER]: '1' }), 403, path);
  }
  // The agent protocol takes instance tokens only.
  assert.equal(await post('/agent/v1/poll', { instanceId: 'i-0', running: [], waitMs: 0 }, { cookie }), 403);
});
