/**
 * The join token (docs/security.md, "join-token holder"): it can be rotated with the CLI and
 * the authenticated API — never by a dashboard session — after which the old token is refused
 * and agents already joined carry on; and what one holder may claim is capped by the compute
 * environment's unmanagedvCpus and the server's maxJoinVcpus.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CreateComputeEnvironmentCommand } from '@aws-sdk/client-batch';
import { DashboardSessions, SESSION_COOKIE, WRITE_HEADER } from '../../src/api/dashboard/sessions.js';
import { runCli, showRun } from '../helpers/cli.js';
import { HandAgent } from '../helpers/handAgent.js';
import { batchClient, startTestServer } from '../helpers/server.js';

const KEY = { accessKeyId: 'AKIDJOIN', secretAccessKey: 'join-secret' };

async function register(url: string, token: string, ce: string, vcpus = 1): Promise<{ status: number; message?: string }> {
  const res = await fetch(`${url}/agent/v1/register`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ computeEnvironment: ce, vcpus, memoryMiB: 256, gpus: 0 }) });
  return { status: res.status, message: ((await res.json()) as { message?: string }).message };
}

test('the join token rotates with the CLI, for good: the old one is refused, joined agents carry on; a dashboard session cannot rotate it', async () => {
  const t = await startTestServer({ credentials: `${KEY.accessKeyId}:${KEY.secretAccessKey}` });
  const client = batchClient(t.url, KEY);
  try {
    await client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'machines', type: 'UNMANAGED' }));
    const old = readFileSync(join(t.dataDir, 'agent-join-token'), 'utf8').trim();
    const before = await HandAgent.join(t, 'machines');

    // Not without a signature, and not with a dashboard session, even one granted the dashboard's writes.
    assert.equal((await fetch(`${t.url}/openbatch/v1/rotateJoinToken`, { method: 'POST', body: '{}' })).status, 403);
    const session = new DashboardSessions(new Map([[KEY.accessKeyId, KEY.secretAccessKey]]), Date.now).issue(KEY.accessKeyId, true);
    const bySession = await fetch(`${t.url}/openbatch/v1/rotateJoinToken`, { method: 'POST', body: '{}', headers: { cookie: `${SESSION_COOKIE}=${session.value}`, [WRITE_HEADER]: '1' } });
    assert.equal(bySession.status, 403);
    assert.equal(readFileSync(join(t.dataDir, 'agent-join-token'), 'utf8').trim(), old);

    const r = await runCli(t.url, ['join-token', 'rotate', '--json'], { env: { AWS_ACCESS_KEY_ID: KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey } });
    assert.equal(r.code, 0, showRun(r));
    const rotated = JSON.parse(r.stdout) as { token: string };
    assert.notEqual(rotated.token, old);
    assert.equal(readFileSync(join(t.dataDir, 'agent-join-token'), 'utf8').trim(), rotated.token, 'the server keeps the new token in its data directory');
    assert.deepEqual(await register(t.url, old, 'machines'), { status: 403, message: 'the join token is not valid for this server' });
    assert.equal((await register(t.url, rotated.token, 'machines')).status, 200);
    // Joined before: its own instance token still holds.
    assert.deepEqual((await before.poll()).start, []);
  } finally {
    client.destroy();
    await t.close();
  }
});

test('a join token set by the configuration is rotated there, not through the API', async () => {
  const t = await startTestServer({ agentJoinToken: 'configured-join-token' });
  try {
    const r = await runCli(t.url, ['join-token', 'rotate']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /the join token is set by the server's configuration \(agentJoinToken, OPENBATCH_AGENT_JOIN_TOKEN\): change it there/);
  } finally {
    await t.close();
  }
});

test("a joining agent's claim is capped by its compute environment's unmanagedvCpus and the server's maxJoinVcpus", async () => {
  const t = await startTestServer({ maxJoinVcpus: 8 });
  try {
    await t.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'capped', type: 'UNMANAGED', unmanagedvCpus: 4 }));
    await t.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'open', type: 'UNMANAGED' }));
    const token = readFileSync(join(t.dataDir, 'agent-join-token'), 'utf8').trim();
    assert.equal((await register(t.url, token, 'capped', 3)).status, 200);
    assert.deepEqual(await register(t.url, token, 'capped', 2), {
      status: 400,
      message: "vcpus 2 would bring compute environment 'capped' to 5 vCPUs, over its unmanagedvCpus 4: join with --vcpus 1 or fewer, or raise unmanagedvCpus (UpdateComputeEnvironment)",
    });
    assert.equal((await register(t.url, token, 'capped', 1)).status, 200);
    // Without unmanagedvCpus, the server's cap per agent.
    assert.deepEqual(await register(t.url, token, 'open', 64), { status: 400, message: 'vcpus 64 is more than one agent may bring to this server (setting maxJoinVcpus: 8): join with --vcpus 8 or fewer' });
    assert.equal((await register(t.url, token, 'open', 8)).status, 200);
  } finally {
    await t.close();
  }
});

test('agents joining at the same moment together stay within unmanagedvCpus', async () => {
  const t = await startTestServer();
  try {
    await t.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'capped', type: 'UNMANAGED', unmanagedvCpus: 4 }));
    const token = readFileSync(join(t.dataDir, 'agent-join-token'), 'utf8').trim();
    // Twelve claims of one vCPU at once: each alone would fit, four of them together do.
    const answers = await Promise.all(Array.from({ length: 12 }, () => register(t.url, token, 'capped', 1)));
    assert.deepEqual(answers.map((a) => a.status).sort(), [...Array(4).fill(200), ...Array(8).fill(400)]);
  } finally {
    await t.close();
  }
});
