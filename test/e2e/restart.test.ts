/**
 * A server stopped at any moment — kill -9 or SIGTERM — loses nothing it accepted and kills
 * nothing: its local agents run on in sessions of their own, the restarted server adopts
 * them, and jobs that ran across the restart finish with their one attempt, having run once.
 * An agent that died while no server watched is closed at the restart and its attempt retried.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DescribeComputeEnvironmentsCommand, DescribeJobDefinitionsCommand, DescribeJobQueuesCommand, type BatchClient } from '@aws-sdk/client-batch';
import { agentsUnder, batchClient, hostVolume, spawnServer, tempDir, writableDir, type ServerProcess } from '../helpers/server.js';
import { createCe, createQueue, describeJob, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { requestOpenbatch } from '../../src/cli/openbatchApi.js';
import type { InstanceView } from '../../src/api/instances.js';

const dataDir = tempDir();
// The jobs' ledger, locks and gates: a host directory their definitions mount, the servers grant.
const files = writableDir('openbatch-restart-files-');
const grant = { OPENBATCH_HOST_VOLUME_ROOTS: files };
const ledger = join(files, 'ledger');
let server: ServerProcess | undefined;
after(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(files, { recursive: true, force: true });
});

/** Each run appends "<job> <attempt>" to the ledger, then waits for its gate file. */
const GATED = ['sh', '-c', `echo "$AWS_BATCH_JOB_ID $AWS_BATCH_JOB_ATTEMPT" >> ${ledger}; while [ ! -e "$GATE" ]; do sleep 0.05; done; echo passed`];

function gatedJob(client: BatchClient, gate: string, definition = 'gated'): Promise<string> {
  return submit(client, { jobQueue: 'q', jobDefinition: definition, containerOverrides: { environment: [{ name: 'GATE', value: join(files, gate) }] } });
}

function runsOf(jobId: string): string[] {
  let text = '';
  try {
    text = readFileSync(ledger, 'utf8');
  } catch {
    // nothing ran yet
  }
  return text.split('\n').filter((l) => l.startsWith(jobId + ' '));
}

/** A terminated instance as GET /openbatch/v1/instances shows it. */
async function terminated(id: string): Promise<InstanceView | undefined> {
  const { instances } = await requestOpenbatch<{ instances: InstanceView[] }>({ endpoint: server!.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }, 'GET', '/openbatch/v1/instances', { state: 'TERMINATED' });
  return instances.find((i) => i.instanceId === id);
}

async function restart(port: number): Promise<BatchClient> {
  server = await spawnServer(dataDir, port, grant);
  return batchClient(server.url);
}

// The last restarts on another port (`--port 0`): the agents find it in the data directory.
for (const [signal, moved] of [['SIGKILL', false], ['SIGTERM', false], ['SIGKILL', true]] as const) {
  const gates = `${signal}${moved ? '-moved' : ''}`;
  test(`${signal} of the server${moved ? ', restarted on another port' : ''}: running jobs run on, the restarted server adopts their agents, nothing is lost or run twice`, async () => {
    let client: BatchClient;
    if (!server) {
      server = await spawnServer(dataDir, 0, grant);
      client = batchClient(server.url);
      await createCe(client, 'local', { maxvCpus: 2 });
      await createQueue(client, 'q', ['local']);
      await registerDefinition(client, 'gated', { command: GATED, ...hostVolume(files) });
      await registerDefinition(client, 'quick', { command: ['echo', 'done'] });
    } else {
      client = batchClient(server.url);
    }
    const port = Number(new URL(server.url).port);
    const running = [await gatedJob(client, `${gates}-a`), await gatedJob(client, `${gates}-b`)];
    for (const id of running) await waitForStatus(client, id, ['RUNNING']);
    // Queued behind them on the 2-vCPU environment: accepted, not yet started.
    const queued = await submit(client, { jobQueue: 'q', jobDefinition: 'quick' });
    const agentsBefore = agentsUnder(dataDir).sort();
    assert.ok(agentsBefore.length >= 1, 'the running jobs have agents');

    await server.kill(signal);
    client.destroy();
    assert.deepEqual(agentsUnder(dataDir).sort(), agentsBefore, `the agents outlive their server's ${signal}`);

    client = await restart(moved ? 0 : port);
    if (moved) assert.notEqual(Number(new URL(server!.url).port), port);
    const ready = await fetch(server!.url + '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { status: string }).status, 'ready');
    const ces = await client.send(new DescribeComputeEnvironmentsCommand({}));
    assert.deepEqual(ces.computeEnvironments?.map((c) => c.computeEnvironmentName), ['local']);
    assert.deepEqual((await client.send(new DescribeJobQueuesCommand({}))).jobQueues?.map((q) => q.jobQueueName), ['q']);
    assert.equal((await client.send(new DescribeJobDefinitionsCommand({}))).jobDefinitions?.length, 2);
    // Still running after the restart, on the same instances, then released.
    for (const id of running) assert.equal((await describeJob(client, id)).status, 'RUNNING');
    for (const gate of ['a', 'b']) writeFileSync(join(files, `${gates}-${gate}`), '');
    for (const id of running) {
      const j = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED']);
      assert.equal(j.status, 'SUCCEEDED', j.statusReason);
      assert.equal(j.attempts?.length, 1, `${id} was retried: ${j.attempts?.[0]?.statusReason}`);
      assert.deepEqual(runsOf(id), [`${id} 1`], 'ran once');
    }
    assert.equal((await waitForStatus(client, queued, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
    // The agents that ran them were adopted, not replaced.
    for (const pid of agentsBefore) assert.ok(agentsUnder(dataDir).includes(pid), `agent ${pid} was adopted`);
    client.destroy();
  });
}

test('an agent that died while no server watched: its instance is closed at the restart and its attempt retried', async () => {
  let client = batchClient(server!.url);
  const port = Number(new URL(server!.url).port);
  await registerDefinition(client, 'gated-retry', { command: GATED, ...hostVolume(files) }, { retryStrategy: { attempts: 2 } });
  const id = await gatedJob(client, 'died', 'gated-retry');
  const first = await waitForStatus(client, id, ['RUNNING']);
  const instanceId = first.container!.containerInstanceArn!.split('/').pop()!;
  // RUNNING once its process started: its first line may come a moment later.
  for (let i = 0; i < 200 && runsOf(id).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  await server!.kill('SIGKILL');
  client.destroy();
  // Its agent dies too (its job with it: the fork server stops what it started).
  const agent = agentsUnder(join(dataDir, 'work', instanceId));
  assert.equal(agent.length, 1);
  process.kill(agent[0], 'SIGKILL');

  client = await restart(port);
  writeFileSync(join(files, 'died'), '');
  const j = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED']);
  assert.equal(j.status, 'SUCCEEDED', j.statusReason);
  assert.equal(j.attempts?.length, 2);
  assert.equal(j.attempts?.[0].statusReason, `Host EC2 (instance ${instanceId}) terminated.`);
  assert.deepEqual(runsOf(id), [`${id} 1`, `${id} 2`]);
  client.destroy();
});

test('an adopted agent that dies under the restarted server is found by its pid: its attempt is retried at once', async () => {
  const client = batchClient(server!.url);
  const port = Number(new URL(server!.url).port);
  const id = await gatedJob(client, 'adopted', 'gated-retry');
  const first = await waitForStatus(client, id, ['RUNNING']);
  const instanceId = first.container!.containerInstanceArn!.split('/').pop()!;
  for (let i = 0; i < 200 && runsOf(id).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  // Restarted: the agent is adopted, no longer this server's child.
  await server!.kill('SIGTERM');
  client.destroy();
  const again = await restart(port);
  const agent = agentsUnder(join(dataDir, 'work', instanceId));
  assert.equal(agent.length, 1);
  process.kill(agent[0], 'SIGKILL');
  writeFileSync(join(files, 'adopted'), '');
  const j = await waitForStatus(again, id, ['SUCCEEDED', 'FAILED']);
  assert.equal(j.status, 'SUCCEEDED', j.statusReason);
  assert.equal(j.attempts?.[0].statusReason, `Host EC2 (instance ${instanceId}) terminated.`);
  assert.match((await terminated(instanceId))?.terminationReason ?? '', /agent process exited/);
  again.destroy();
});

test('a server paused for longer than the agent lease: its agent stops the job before it is retried, so it never runs twice at once', async () => {
  const dir = tempDir();
  const lock = join(files, 'paused.lock');
  const paused = await spawnServer(dir, 0, { OPENBATCH_AGENT_TIMEOUT_SECONDS: '2', ...grant });
  const client = batchClient(paused.url);
  try {
    await createCe(client, 'local', { maxvCpus: 1 });
    await createQueue(client, 'q', ['local']);
    // The job holds a lock while it runs; a second copy finding it held says so in the ledger.
    const script = `exec 9>>${lock}; if ! flock -n 9; then echo "$AWS_BATCH_JOB_ID double" >> ${ledger}; exit 90; fi; echo "$AWS_BATCH_JOB_ID $AWS_BATCH_JOB_ATTEMPT" >> ${ledger}; while [ ! -e "$GATE" ]; do sleep 0.05; done`;
    await registerDefinition(client, 'locked', { command: ['sh', '-c', script], ...hostVolume(files) }, { retryStrategy: { attempts: 2 } });
    const id = await gatedJob(client, 'paused', 'locked');
    const first = await waitForStatus(client, id, ['RUNNING']);
    const instanceId = first.container!.containerInstanceArn!.split('/').pop()!;
    for (let i = 0; i < 200 && runsOf(id).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    paused.child.kill('SIGSTOP');
    // The lease (2 s) runs out: the agent stops the job and, a launched instance's, exits.
    for (let i = 0; i < 200 && agentsUnder(dir).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(agentsUnder(dir), [], 'the agent stopped when its lease ran out');
    paused.child.kill('SIGCONT');
    writeFileSync(join(files, 'paused'), '');
    const j = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED']);
    assert.equal(j.status, 'SUCCEEDED', j.statusReason);
    assert.equal(j.attempts?.[0].statusReason, `Host EC2 (instance ${instanceId}) terminated.`);
    assert.deepEqual(runsOf(id), [`${id} 1`, `${id} 2`], 'the second attempt ran after the first was stopped, never beside it');
  } finally {
    client.destroy();
    await paused.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
