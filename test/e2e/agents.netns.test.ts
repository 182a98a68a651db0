/**
 * "Remote machines": agents in network namespaces made by the test (ip netns, a veth pair,
 * addresses on a private subnet) join an UNMANAGED compute environment over the namespace
 * address and run jobs there. Where namespaces cannot be made (not root, no iproute2, no
 * CAP_NET_ADMIN in a container) the test is skipped and says why.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { CreateComputeEnvironmentCommand, DescribeJobsCommand, RegisterJobDefinitionCommand, type ContainerProperties } from '@aws-sdk/client-batch';
import type { InstanceView } from '../../src/api/instances.js';
import { NOTICE_PREFIX } from '../../src/executor/types.js';
import { requestOpenbatch } from '../../src/cli/openbatchApi.js';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { batchClient, startTestServer, type TestServer } from '../helpers/server.js';
import { NetnsMachines } from '../helpers/netns.js';
import { createQueue, submit, waitForStatus } from '../helpers/fixtures.js';

const CREDENTIALS = { accessKeyId: 'NETNSTEST', secretAccessKey: 'netns-secret' };

function instancesOf(server: string): Promise<{ instances: InstanceView[] }> {
  return requestOpenbatch(
    { endpoint: server, region: 'us-east-1', credentials: CREDENTIALS },
    'GET',
    '/openbatch/v1/instances',
    { computeEnvironment: 'remote' },
  );
}

/** Two "machines": namespaces on 10.231.<tag>.0/24 and 10.232.<tag>.0/24, the host at .1 of each. */
const net = new NetnsMachines(2, 231);
const machines = net.machines;

const skip = net.make();
const agents: ChildProcess[] = [];
const dirs: string[] = [];
let t: TestServer | undefined;

before(async () => {
  if (skip) return;
  // The server listens on the first machine's host-side address; off loopback it needs credentials.
  t = await startTestServer({ host: `${machines[0].subnet}.1`, credentials: `${CREDENTIALS.accessKeyId}:${CREDENTIALS.secretAccessKey}`, agentJoinToken: 'join-over-the-veth' });
});

after(async () => {
  for (const a of agents) a.kill('SIGKILL');
  await t?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (!skip) net.remove();
});

/** `openbatch agent` inside a namespace, joining over the namespace's route to the server. */
async function startAgent(machine: (typeof machines)[number], server: string): Promise<string> {
  return (await net.startAgent(machine, { server, ce: 'remote', token: 'join-over-the-veth', dirs, children: agents })).instanceId;
}

test('agents in network namespaces join an UNMANAGED CE over the namespace address and run its jobs', { skip }, async () => {
  const server = t!.url;
  const client = batchClient(server, CREDENTIALS);
  try {
    await client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'remote', type: 'UNMANAGED', unmanagedvCpus: 2 }));
    await createQueue(client, 'remote-q', ['remote']);
    // What the job sees of the network: the interfaces of the machine it ran on.
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'where-am-i',
        type: 'container',
        containerProperties: { image: 'busybox', command: ['sh', '-c', 'ls /sys/class/net | tr "\\n" " "; echo'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
      }),
    );
    const instanceIds = await Promise.all(machines.map((m) => startAgent(m, server)));
    const jobs = await Promise.all([1, 2, 3, 4].map(() => submit(client, { jobQueue: 'remote-q', jobDefinition: 'where-am-i' })));
    const done = await Promise.all(jobs.map((id) => waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], 60_000)));
    const ranOn = new Set<string>();
    for (const job of done) {
      assert.equal(job.status, 'SUCCEEDED', job.statusReason);
      const instanceId = job.container!.containerInstanceArn!.split('/').pop()!;
      const machine = machines[instanceIds.indexOf(instanceId)];
      assert.ok(machine, `ran on a joined instance (${instanceId})`);
      ranOn.add(instanceId);
      // Inside the namespace the job sees that machine's veth end and loopback, not the host's interfaces.
      // (`ip netns exec` mounts a fresh /sys without cgroups: the executor's notice about that comes first.)
      const [line] = (await logLinesSigned(server, job.container!.logStreamName!)).filter((l) => !l.startsWith(NOTICE_PREFIX));
      assert.deepEqual(line.trim().split(' ').sort(), ['lo', machine.nsIf].sort());
    }
    assert.equal(ranOn.size, 2, 'both machines took work');

    const { instances } = await instancesOf(server);
    assert.deepEqual(instances.map((i) => i.instanceId).sort(), [...instanceIds].sort());
    assert.ok(instances.every((i) => i.provider === 'joined' && i.instanceType === 'unmanaged'));
    // Each is known by the address it joined from: its namespace's end of the veth.
    for (const [i, id] of instanceIds.entries()) assert.equal(instances.find((x) => x.instanceId === id)?.address, `${machines[i].subnet}.2`);

    // A two-node job spans both machines; every node is told the main node's machine address.
    const printMain = (cmd: string): ContainerProperties => ({ image: 'busybox', command: ['sh', '-c', `echo "main=$AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"; ${cmd}`], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] });
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'spanning',
        type: 'multinode',
        nodeProperties: { numNodes: 2, mainNode: 0, nodeRangeProperties: [{ targetNodes: '0', container: printMain('sleep 3') }, { targetNodes: '1', container: printMain('sleep 60') }] },
      }),
    );
    const gang = await submit(client, { jobQueue: 'remote-q', jobDefinition: 'spanning' });
    assert.equal((await waitForStatus(client, gang, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'SUCCEEDED');
    const nodes = (await client.send(new DescribeJobsCommand({ jobs: [`${gang}#0`, `${gang}#1`] }))).jobs!;
    const machineOf = (n: (typeof nodes)[number]) => machines[instanceIds.indexOf(n.container!.containerInstanceArn!.split('/').pop()!)];
    assert.notEqual(machineOf(nodes[0]), machineOf(nodes[1]), 'one node per machine');
    for (const n of nodes) {
      const lines = (await logLinesSigned(server, n.container!.logStreamName!)).filter((l) => !l.startsWith(NOTICE_PREFIX));
      assert.deepEqual(lines, [`main=${machineOf(nodes[0]).subnet}.2`]);
    }
  } finally {
    client.destroy();
  }
});

async function logLinesSigned(url: string, stream: string): Promise<string[]> {
  const logs = new CloudWatchLogsClient({ endpoint: url, region: 'us-east-1', credentials: CREDENTIALS });
  try {
    const res = await logs.send(new GetLogEventsCommand({ logGroupName: '/aws/batch/job', logStreamName: stream, startFromHead: true }));
    return (res.events ?? []).map((e) => e.message ?? '');
  } finally {
    logs.destroy();
  }
}
