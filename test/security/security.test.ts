/**
 * Security properties an operator relies on (docs/security.md): agents speak only for their
 * own attempts, secrets stay out of the logs, no open server beyond loopback, and the data
 * directory is its owner's alone.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CreateComputeEnvironmentCommand, DescribeJobsCommand } from '@aws-sdk/client-batch';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { createQueue, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { onPostgres } from '../helpers/postgres.js';
import { batchClient, CLI, startTestServer, stopAgentsUnder, tempDir } from '../helpers/server.js';

async function agentCall(url: string, path: string, token: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test("an agent cannot see, start, report on or finish another agent's attempt", async () => {
  const t = await startTestServer();
  try {
    await t.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'joined', type: 'UNMANAGED' }));
    await createQueue(t.client, 'jq', ['joined']);
    await registerDefinition(t.client, 'd', { command: ['true'] });
    const join = readFileSync(join_(t.dataDir), 'utf8').trim();
    const reg = async () => (await agentCall(t.url, '/agent/v1/register', join, { computeEnvironment: 'joined', vcpus: 1, memoryMiB: 1024, gpus: 0, hostname: 'h' })).json as { instanceId: string; token: string };
    const a = await reg();
    const b = await reg();
    const jobId = await submit(t.client, { jobQueue: 'jq', jobDefinition: 'd' });
    // Whichever agent the job was placed on is the owner; the other is the intruder.
    let owner: typeof a | undefined;
    let assignment: { jobId: string; attempt: number; token: string } | undefined;
    for (let i = 0; i < 100 && !assignment; i++) {
      for (const x of [a, b]) {
        const res = await agentCall(t.url, '/agent/v1/poll', x.token, { instanceId: x.instanceId, running: [], waitMs: 0 });
        assert.equal(res.status, 200);
        const start = res.json.start as { jobId: string; attempt: number; token: string }[];
        if (start.length) {
          assert.equal(owner, undefined, 'both agents were given the attempt');
          owner = x;
          assignment = start[0];
        }
      }
      if (!assignment) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(owner && assignment, 'the job was never assigned');
    const intruder = owner === a ? b : a;
    const ref = { jobId: assignment.jobId, attempt: assignment.attempt, token: assignment.token };

    // The intruder's own poll never hands it the attempt.
    const poll = await agentCall(t.url, '/agent/v1/poll', intruder.token, { instanceId: intruder.instanceId, running: [], waitMs: 0 });
    assert.deepEqual(poll.json.start, []);
    // Its reports about the attempt, even with the attempt's token, are refused as stale.
    for (const report of [
      { ...ref, kind: 'started', at: Date.now() },
      { ...ref, kind: 'logs', lines: [{ t: Date.now(), m: 'forged' }] },
      { ...ref, kind: 'exited', at: Date.now(), exitCode: 1, reason: null, timedOut: false },
    ]) {
      const res = await agentCall(t.url, '/agent/v1/report', intruder.token, { instanceId: intruder.instanceId, reports: [report] });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json.stale, [{ jobId: ref.jobId, attempt: ref.attempt }], `${report.kind} from another instance was accepted`);
    }
    // Speaking as the owner needs the owner's token.
    const impersonated = await agentCall(t.url, '/agent/v1/report', intruder.token, { instanceId: owner.instanceId, reports: [{ ...ref, kind: 'exited', at: Date.now(), exitCode: 1, reason: null, timedOut: false }] });
    assert.equal(impersonated.status, 403);
    const noToken = await agentCall(t.url, '/agent/v1/poll', '', { instanceId: owner.instanceId, running: [], waitMs: 0 });
    assert.equal(noToken.status, 403);
    assert.notEqual((await waitForStatus(t.client, jobId, ['STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'])).status, 'FAILED');

    // The owner finishes it.
    const done = await agentCall(t.url, '/agent/v1/report', owner.token, { instanceId: owner.instanceId, reports: [{ ...ref, kind: 'started', at: Date.now() }, { ...ref, kind: 'exited', at: Date.now(), exitCode: 0, reason: null, timedOut: false }] });
    assert.deepEqual(done.json.stale, []);
    const job = await waitForStatus(t.client, jobId, ['SUCCEEDED', 'FAILED']);
    assert.equal(job.status, 'SUCCEEDED');
    const logs = await t.client.send(new DescribeJobsCommand({ jobs: [jobId] }));
    assert.equal(logs.jobs?.[0].attempts?.length, 1);
  } finally {
    await t.close();
  }
});

function join_(dataDir: string): string {
  return join(dataDir, 'agent-join-token');
}

test('secrets never reach the server log, even at trace level', async () => {
  const dataDir = tempDir();
  const secret = 'S3cretAccessKeyValue-' + process.pid;
  const envSecret = 'job-env-secret-' + process.pid;
  const child = spawn(process.execPath, [CLI, 'server', '--port', '0', '--data-dir', dataDir, '--log-level', 'trace'], {
    env: { ...process.env, OPENBATCH_CREDENTIALS: `AKIDLOG:${secret}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /"url":"(http:\/\/[^"]+)"/.exec(log);
        if (m) {
          clearInterval(timer);
          resolve(m[1]);
        }
      }, 50);
      child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${log}`)));
    });
    const client = batchClient(url, { accessKeyId: 'AKIDLOG', secretAccessKey: secret });
    const wrong = batchClient(url, { accessKeyId: 'AKIDLOG', secretAccessKey: 'not-the-secret' });
    try {
      await client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'ce', type: 'MANAGED', computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 1, subnets: ['s'], instanceRole: 'r', instanceTypes: ['optimal'] } }));
      await createQueue(client, 'q', ['ce']);
      await registerDefinition(client, 'd', { command: ['sh', '-c', 'test -n "$SECRET_VALUE"'] });
      const jobId = await submit(client, { jobQueue: 'q', jobDefinition: 'd', containerOverrides: { environment: [{ name: 'SECRET_VALUE', value: envSecret }] } });
      assert.equal((await waitForStatus(client, jobId, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'SUCCEEDED');
      await assert.rejects(wrong.send(new DescribeJobsCommand({ jobs: [jobId] })), /signature/i);
      // A forged agent and a joining agent with a wrong token.
      const join = readFileSync(join_(dataDir), 'utf8').trim();
      await agentCall(url, '/agent/v1/poll', 'forged-agent-token', { instanceId: 'i-0', running: [], waitMs: 0 });
      const reg = await agentCall(url, '/agent/v1/register', join + 'x', { computeEnvironment: 'ce', vcpus: 1, memoryMiB: 1, gpus: 0, hostname: 'h' });
      assert.equal(reg.status, 403);
      await fetch(url + '/v1/describejobs', { method: 'POST', headers: { authorization: `AWS4-HMAC-SHA256 Credential=AKIDLOG/20200101/us-east-1/batch/aws4_request, SignedHeaders=host, Signature=${'ab'.repeat(32)}` }, body: '{}' });
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(log.length > 0);
      for (const s of [secret, envSecret, join, 'forged-agent-token', 'ab'.repeat(32)]) {
        assert.ok(!log.includes(s), `the server log contains a secret (${s.slice(0, 12)}…)`);
      }
    } finally {
      client.destroy();
      wrong.destroy();
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await stopAgentsUnder(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('without credentials the server refuses every address but loopback', async () => {
  const dataDir = tempDir();
  try {
    for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
      const config = loadConfig({ host, port: 0, dataDir, logLevel: 'silent' }, {});
      await assert.rejects(startServer(config), /refusing to listen on .* without credentials/);
    }
    // The command line says the same and exits non-zero.
    const child = spawn(process.execPath, [CLI, 'server', '--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OPENBATCH_CREDENTIALS: '' } });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    assert.notEqual(code, 0);
    assert.match(out, /refusing to listen on 0\.0\.0\.0/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("the data directory is its owner's alone: directory 0700, database and token files 0600", async () => {
  const parent = tempDir();
  const dataDir = join(parent, 'fresh');
  const t = await startTestServer({}, { dataDir });
  try {
    await registerDefinition(t.client, 'd');
    const mode = (p: string) => statSync(p).mode & 0o777;
    assert.equal(mode(dataDir).toString(8), '700');
    // On PostgreSQL the database is elsewhere; the data directory keeps the join token.
    for (const f of onPostgres() ? ['agent-join-token'] : ['openbatch.db', 'openbatch.db-wal', 'openbatch.db-shm', 'agent-join-token']) {
      assert.equal(mode(join(dataDir, f)).toString(8), '600', f);
    }
  } finally {
    await t.close();
    rmSync(parent, { recursive: true, force: true });
  }
});
