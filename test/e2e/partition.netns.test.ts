/**
 * An agent cut off from its control plane (network namespaces as machines: the link down, or
 * every packet dropped without a word), with an agent lease of 4 s: a partition shorter than
 * the lease kills nothing; a longer one has the agent stop its job before the control plane
 * declares it lost and runs the job again on the other machine, so two copies never run at
 * once. Skipped where namespaces cannot be made (not root, no iproute2 or iptables).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { CreateComputeEnvironmentCommand, type BatchClient } from '@aws-sdk/client-batch';
import { batchClient, hostVolume, startTestServer, writableDir, type TestServer } from '../helpers/server.js';
import { createQueue, describeJob, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { NetnsMachines, type Machine } from '../helpers/netns.js';
import { requestOpenbatch } from '../../src/cli/openbatchApi.js';
import type { InstanceView } from '../../src/api/instances.js';

const CREDENTIALS = { accessKeyId: 'PARTITION', secretAccessKey: 'partition-secret' };
const net = new NetnsMachines(2, 233);
const skip = net.make();

describe('an agent cut off from its control plane', { skip }, () => {
  const files = writableDir('openbatch-partition-');
  const dirs: string[] = [];
  let children: ChildProcess[] = [];
  let t: TestServer;
  let client: BatchClient;
  let port = '';

  before(async () => {
    // Every address of the host: each machine reaches it through its own link, so that cutting
    // one machine's link cuts that machine only.
    t = await startTestServer({
      host: '0.0.0.0',
      credentials: `${CREDENTIALS.accessKeyId}:${CREDENTIALS.secretAccessKey}`,
      agentJoinToken: 'join-the-partition',
      agentTimeoutSeconds: 4,
      hostVolumeRoots: [files],
    });
    port = new URL(t.url).port;
    client = batchClient(`http://127.0.0.1:${port}`, CREDENTIALS);
    await client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'cut', type: 'UNMANAGED' }));
    await createQueue(client, 'q', ['cut']);
    // Each run notes its start, then ticks (with the time) until its gate opens.
    const now = 'date +%s%3N';
    const script = `echo "$AWS_BATCH_JOB_ID $AWS_BATCH_JOB_ATTEMPT start $(${now})" >> ${files}/ledger; while [ ! -e ${files}/"$GATE" ]; do echo "$AWS_BATCH_JOB_ID $AWS_BATCH_JOB_ATTEMPT tick $(${now})" >> ${files}/ticks; sleep 0.1; done`;
    await registerDefinition(client, 'ticking', { command: ['sh', '-c', script], ...hostVolume(files) }, { retryStrategy: { attempts: 2 } });
  });
  afterEach(async () => {
    for (const m of net.machines) {
      net.link(m, true);
      try {
        net.silence(m, false);
      } catch {
        // was not silenced
      }
    }
    // SIGTERM: each agent leaves, so that the next test's job finds only its own agents' instances.
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
            c.once('exit', () => (clearTimeout(timer), resolve()));
            c.kill('SIGTERM');
          }),
      ),
    );
    children = [];
    // The next test's job must find only its own agents: every instance of this one gone.
    for (let i = 0; i < 300; i++) {
      const { instances } = await requestOpenbatch<{ instances: InstanceView[] }>({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: CREDENTIALS }, 'GET', '/openbatch/v1/instances', { computeEnvironment: 'cut' });
      if (instances.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    client?.destroy();
    await t?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    rmSync(files, { recursive: true, force: true });
    net.remove();
  });

  const lines = (file: string, id: string) => (existsSync(join(files, file)) ? readFileSync(join(files, file), 'utf8').split('\n').filter((l) => l.startsWith(id + ' ')) : []);
  const at = (l: string) => Number(l.split(' ')[3]);

  /** One agent per machine; a job placed on one of them, running: answers the job and its machine. */
  async function running(gate: string): Promise<{ id: string; machine: Machine; instanceId: string }> {
    const joined = await Promise.all(net.machines.map((m) => net.startAgent(m, { server: `http://${m.subnet}.1:${port}`, ce: 'cut', token: 'join-the-partition', dirs, children })));
    const id = await submit(client, { jobQueue: 'q', jobDefinition: 'ticking', containerOverrides: { environment: [{ name: 'GATE', value: gate }] } });
    const j = await waitForStatus(client, id, ['RUNNING'], 60_000);
    const instanceId = j.container!.containerInstanceArn!.split('/').pop()!;
    for (let i = 0; i < 200 && lines('ticks', id).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    return { id, instanceId, machine: net.machines[joined.findIndex((a) => a.instanceId === instanceId)] };
  }

  test('a partition shorter than the lease (packets dropped for 2 s) kills nothing: the job finishes with its one attempt', async () => {
    const { id, machine } = await running('gate-short');
    net.silence(machine, true);
    await new Promise((r) => setTimeout(r, 2_000));
    net.silence(machine, false);
    writeFileSync(join(files, 'gate-short'), '');
    const j = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(j.status, 'SUCCEEDED', j.statusReason);
    assert.equal(j.attempts?.length, 1);
  });

  for (const how of ['link down', 'packets dropped'] as const) {
    test(`${how} for longer than the lease: the agent stops the job before it runs again on the other machine, never two at once`, async () => {
      const gate = `gate-${how.replace(' ', '-')}`;
      const { id, machine, instanceId } = await running(gate);
      if (how === 'link down') net.link(machine, false);
      else net.silence(machine, true);
      // Declared lost after the lease and its margin, the job runs again on the other machine.
      for (let i = 0; i < 600 && lines('ledger', id).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      const starts = lines('ledger', id);
      assert.equal(starts.length, 2, `the job did not run again: ${starts.join('; ')}`);
      const secondStart = at(starts[1]);
      const firstTicks = lines('ticks', id).filter((l) => l.split(' ')[1] === '1');
      assert.ok(at(firstTicks[firstTicks.length - 1]) < secondStart, 'the first attempt was still running when the second started');
      if (how === 'link down') net.link(machine, true);
      else net.silence(machine, false);
      writeFileSync(join(files, gate), '');
      const j = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], 60_000);
      assert.equal(j.status, 'SUCCEEDED', j.statusReason);
      assert.equal(j.attempts?.length, 2);
      assert.equal(j.attempts?.[0].statusReason, `Host EC2 (instance ${instanceId}) terminated.`);
      assert.notEqual((await describeJob(client, id)).attempts?.[1].container?.containerInstanceArn, j.attempts?.[0].container?.containerInstanceArn);
    });
  }
});
