/**
 * An agent whose job prints a lot: a case the crash suite found (test/crash), kept as a plain
 * regression. (Arrays behind dependencies, found the same way: test/rules/arrays.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
  await createCe(t.client, 'ce', { maxvCpus: 2 });
  await createQueue(t.client, 'q', ['ce']);
  await registerDefinition(t.client, 'loud', { command: ['sh', '-c', "head -c 6000000 /dev/zero | tr '\\0' x | fold -w 3000; echo done"] });
});
after(async () => t.close());

test('a job that prints megabytes at once still has its exit reported', async () => {
  const id = await submit(t.client, { jobQueue: 'q', jobDefinition: 'loud' });
  const job = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 90_000);
  assert.equal(job.status, 'SUCCEEDED', job.statusReason);
});
