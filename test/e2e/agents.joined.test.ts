/**
 * Agents that join an UNMANAGED compute environment from "another machine" (here: a separate
 * process on loopback): they bring capacity, run jobs, survive a control-plane restart, and
 * are declared lost when they go silent.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CreateComputeEnvironmentCommand, RegisterJobDefinitionCommand } from '@aws-sdk/client-batch';
import { batchClient, CLI, spawnServer, tempDir, type ServerProcess } from '../helpers/server.js';
import { createQueue, describeJob, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { Sandbox } from '../../src/executor/sandbox.js';

const dataDir = tempDir();
const agentDir = tempDir('openbatch-agent-');
const children: ChildProcess[] = [];
let server: ServerProcess | undefined;
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(agentDir, { recursive: true, force: true });
});

function startAgent(url: string, ce: string, vcpus: number): Promise<{ child: ChildProcess; instanceId: string }> {
  const token = readFileSync(join(dataDir, 'agent-join-token'), 'utf8').trim();
  const child = spawn(process.execPath, [CLI, 'agent', '--server', url, '--ce', ce, '--vcpus', String(vcpus), '--memory', '1024', '--work-dir', agentDir], {
    env: { ...process.env, OPENBATCH_AGENT_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, with its fork server: a test can kill -9 both at once.
    detached: true,
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /as instance (i-[0-9a-f]+)/.exec(out);
      if (m) resolve({ child, instanceId: m[1] });
    });
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => reject(new Error(`agent exited with ${code}: ${out}`)));
  });
}

const marker = `sleep 296.${process.pid}`;
/** Whether the agents here sandbox their jobs (they do wherever bubblewrap works). */
const sandboxed = typeof Sandbox.probe() !== 'string';
function running(pattern: string): boolean {
  try {
    execFileSync('pgrep', ['-f', pattern]);
    return true;
  } catch {
    return false;
  }
}

test('a joined agent runs jobs, keeps running them across a server restart, and is declared lost when killed', async () => {
  server = await spawnServer(dataDir, 0, { OPENBATCH_AGENT_TIMEOUT_SECONDS: '3' });
  let client = batchClient(server.url);
  await client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'mine', type: 'UNMANAGED' }));
  await createQueue(client, 'q', ['mine']);
  await registerDefinition(client, 'ok', { command: ['echo', 'from a joined agent'] });
  // No agent yet: the job waits for capacity, it is not failed.
  const early = await submit(client, { jobQueue: 'q', jobDefinition: 'ok' });
  await waitForStatus(client, early, ['RUNNABLE']);

  const { child, instanceId } = await startAgent(server.url, 'mine', 1);
  const done = await waitForStatus(client, early, ['SUCCEEDED', 'FAILED']);
  assert.equal(done.status, 'SUCCEEDED', done.statusReason);
  assert.ok(done.container?.containerInstanceArn?.endsWith(instanceId));

  // A job in flight while the control plane is killed and restarted finishes normally.
  await client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: 'slow',
      type: 'container',
      containerProperties: { image: 'busybox', command: ['sleep', '2'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
    }),
  );
  const across = await submit(client, { jobQueue: 'q', jobDefinition: 'slow' });
  await waitForStatus(client, across, ['RUNNING']);
  const port = new URL(server.url).port;
  await server.kill('SIGKILL');
  client.destroy();
  server = await spawnServer(dataDir, Number(port), { OPENBATCH_AGENT_TIMEOUT_SECONDS: '3' });
  client = batchClient(server.url);
  const survived = await waitForStatus(client, across, ['SUCCEEDED', 'FAILED'], 30_000);
  assert.equal(survived.status, 'SUCCEEDED', survived.statusReason);
  assert.equal(survived.attempts?.length, 1);

  // kill -9 of the agent: after the heartbeat timeout its attempt fails as a lost host would.
  await client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: 'forever',
      type: 'container',
      containerProperties: { image: 'busybox', command: marker.split(' '), resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
    }),
  );
  const orphaned = await submit(client, { jobQueue: 'q', jobDefinition: 'forever' });
  await waitForStatus(client, orphaned, ['RUNNING']);
  // The agent and its fork server die together (kill -9 of the process group, as the OOM
  // killer or an operator might). (When the agent alone dies, its fork server kills its
  // jobs: process.test.ts.)
  process.kill(-child.pid!, 'SIGKILL');
  const lost = await waitForStatus(client, orphaned, ['FAILED'], 30_000);
  assert.equal(lost.statusReason, `Host EC2 (instance ${instanceId}) terminated.`);
  assert.equal((await describeJob(client, orphaned)).attempts?.length, 1);
  // Unsandboxed, nothing was left to stop the job, which runs in a session of its own. A
  // sandboxed job usually died with the fork server (bwrap --die-with-parent), but not if
  // the kill came while bwrap was still setting the sandbox up (sandbox.ts): either way the
  // next agent started on that machine stops whatever the dead one left running.
  if (!sandboxed) assert.ok(running(marker));
  await startAgent(server.url, 'mine', 1);
  for (let i = 0; i < 100 && running(marker); i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(running(marker), false, "the dead agent's job is still running");
  client.destroy();
});
