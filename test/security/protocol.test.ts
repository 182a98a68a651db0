/**
 * The agent protocol fenced both ways (docs/security.md, "agent"): an attempt's assignment,
 * with its resolved secrets, is handed out once — a forged poll that lists nothing gets
 * neither a delivered nor a started attempt again; a delivery its agent never takes up ends
 * the attempt after a bounded time, and the retry strategy runs it again; a report is taken
 * only from the attempt's instance with its token, what an attempt used too. Agents driven by
 * hand over HTTP.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateComputeEnvironmentCommand } from '@aws-sdk/client-batch';
import { DELIVERY_GRACE_MS } from '../../src/compute/agentHub.js';
import { createQueue, describeJob, jobUsage, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { HandAgent } from '../helpers/handAgent.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const SECRET = `delivered-once-${process.pid}`;
let t: TestServer;

before(async () => {
  const dir = tempDir('openbatch-secrets-');
  writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ token: SECRET }));
  t = await startTestServer({ secretsFile: join(dir, 'secrets.json') });
  await registerDefinition(t.client, 'secretive', { command: ['sleep', '300'], secrets: [{ name: 'TOKEN', valueFrom: 'token' }] }, { retryStrategy: { attempts: 2 } });
});
after(async () => t.close());

/** An UNMANAGED compute environment and its queue, both named `name`: each test's agents its own. */
async function farm(name: string): Promise<void> {
  await t.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: name, type: 'UNMANAGED' }));
  await createQueue(t.client, name, [name]);
}

/** Polls until the agent is handed something (the scheduler places asynchronously). */
async function firstAssignment(agent: HandAgent) {
  for (let i = 0; i < 200; i++) {
    const res = await agent.poll();
    if (res.start.length) return res.start;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('nothing was handed out');
}

test('an assignment with its secrets is handed out once: a poll that lists nothing gets neither a delivered nor a started attempt again', async () => {
  await farm('once');
  const agent = await HandAgent.join(t, 'once');
  const id = await submit(t.client, { jobQueue: 'once', jobDefinition: 'secretive' });
  const [a] = await firstAssignment(agent);
  assert.equal(a.jobId, id);
  assert.equal(a.env.TOKEN, SECRET, 'the secret is in the assignment');
  // The same token, listing nothing: as one holding a stolen agent token would ask.
  const again = await agent.poll();
  assert.deepEqual(again.start, [], 'a delivered assignment was handed out again');
  assert.ok(!JSON.stringify(again).includes(SECRET));
  // Started: still never handed out again.
  const ref = { jobId: a.jobId, attempt: a.attempt };
  assert.deepEqual((await agent.report([{ ...ref, kind: 'started', token: a.token, at: Date.now() }])).stale, []);
  await waitForStatus(t.client, id, ['RUNNING']);
  assert.deepEqual((await agent.poll()).start, [], 'a started attempt was handed out again');
  // The real agent, listing it, carries on.
  const listed = await agent.poll([ref]);
  assert.deepEqual([listed.start, listed.stop], [[], []]);
  assert.deepEqual((await agent.report([{ ...ref, kind: 'exited', token: a.token, at: Date.now(), exitCode: 0, reason: null, timedOut: false }])).stale, []);
  assert.equal((await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
});

test('reports are taken only from the attempt\'s instance with its token', async () => {
  await farm('fenced');
  const owner = await HandAgent.join(t, 'fenced');
  const id = await submit(t.client, { jobQueue: 'fenced', jobDefinition: 'secretive' });
  const [a] = await firstAssignment(owner);
  const other = await HandAgent.join(t, 'fenced');
  const ref = { jobId: a.jobId, attempt: a.attempt };
  // Another instance, even with the attempt's token: refused as stale, nothing changes.
  assert.deepEqual((await other.report([{ ...ref, kind: 'exited', token: a.token, at: Date.now(), exitCode: 0, reason: null, timedOut: false }])).stale, [ref]);
  // The owner's instance with another token: stale too.
  assert.deepEqual((await owner.report([{ ...ref, kind: 'exited', token: 'not-the-token', at: Date.now(), exitCode: 0, reason: null, timedOut: false }])).stale, [ref]);
  // Speaking for the owner's instance needs the owner's token.
  assert.equal((await other.post('/agent/v1/report', { instanceId: owner.instanceId, reports: [] })).status, 403);
  assert.equal((await describeJob(t.client, id)).status, 'STARTING');
  assert.deepEqual((await owner.report([{ ...ref, kind: 'exited', token: a.token, at: Date.now(), exitCode: 0, reason: null, timedOut: false }])).stale, []);
  assert.equal((await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
});

test('an assignment its agent never receives is handed out again after a bounded time, under a new token, and counts no attempt', async () => {
  await farm('lost');
  const agent = await HandAgent.join(t, 'lost');
  const id = await submit(t.client, { jobQueue: 'lost', jobDefinition: 'secretive' });
  const [first] = await firstAssignment(agent);
  // The answer was lost on its way (a network cut): the agent's polls go on listing nothing.
  // Nothing ran, so nothing failed: the job waits again and is handed out afresh.
  await new Promise((r) => setTimeout(r, DELIVERY_GRACE_MS + 500));
  const [second] = await firstAssignment(agent);
  assert.deepEqual([second.jobId, second.attempt], [id, first.attempt], 'the same attempt, handed out again');
  assert.notEqual(second.token, first.token);
  assert.deepEqual((await describeJob(t.client, id)).attempts ?? [], [], 'no attempt was recorded for the lost one');
  // The lost assignment's token is dead: its reports are refused.
  const ref = { jobId: id, attempt: first.attempt };
  assert.deepEqual((await agent.report([{ ...ref, kind: 'exited', token: first.token, at: Date.now(), exitCode: 0, reason: null, timedOut: false }])).stale, [ref]);
  await agent.report([{ jobId: id, attempt: second.attempt, kind: 'exited', token: second.token, at: Date.now(), exitCode: 0, reason: null, timedOut: false }]);
  const job = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED']);
  assert.equal(job.status, 'SUCCEEDED');
  assert.equal(job.attempts?.length, 1);
});

test('what an attempt used is taken only from its instance with its token; malformed figures are refused, naming the member', async () => {
  await farm('measured');
  const owner = await HandAgent.join(t, 'measured');
  const id = await submit(t.client, { jobQueue: 'measured', jobDefinition: 'secretive' });
  const [a] = await firstAssignment(owner);
  const other = await HandAgent.join(t, 'measured');
  const ref = { jobId: a.jobId, attempt: a.attempt };
  assert.deepEqual((await owner.report([{ ...ref, kind: 'started', token: a.token, at: Date.now() }])).stale, []);
  const sample = (cpuSeconds: number) => ({ source: 'cgroup' as const, cpuSeconds, memoryBytes: 64 << 20, peakMemoryBytes: 64 << 20 });
  await other.report([{ ...ref, kind: 'usage', token: a.token, at: Date.now(), usage: sample(500) }]);
  await owner.report([{ ...ref, kind: 'usage', token: 'not-the-token', at: Date.now(), usage: sample(600) }]);
  const refused = await owner.post('/agent/v1/report', { instanceId: owner.instanceId, reports: [{ ...ref, kind: 'usage', token: a.token, at: Date.now(), usage: { source: 'cgroup', cpuSeconds: -1 } }] });
  assert.equal(refused.status, 400);
  assert.match(JSON.stringify(refused.body), /reports\[0\]\.usage\.cpuSeconds must be a number, 0 or more/);
  await owner.report([{ ...ref, kind: 'usage', token: a.token, at: Date.now(), usage: sample(1.5) }]);
  const usage = async () => (await jobUsage(t.url, id))!;
  assert.deepEqual(
    (await usage()).attempts.map((x) => [x.cpuSeconds, x.currentMemoryMiB]),
    [[1.5, 64]],
    "only the owner's report with the attempt's token counts",
  );
  await owner.report([{ ...ref, kind: 'exited', token: a.token, at: Date.now(), exitCode: 0, reason: null, timedOut: false, usage: sample(2) }]);
  assert.equal((await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
  assert.deepEqual((await usage()).attempts.map((x) => [x.status, x.cpuSeconds, x.peakMemoryMiB]), [['SUCCEEDED', 2, 64]]);
});
