/**
 * Multi-node parallel jobs on the in-process harness: the gang is placed all or nothing, each
 * node is handed AWS's variables, the main node decides and the others are stopped, a failing
 * main node retries the whole gang, TerminateJob stops every node. (Real processes seeing
 * those variables, and a gang too large for a managed compute environment: e2e/multinode.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DescribeJobsCommand, ListJobsCommand, RegisterJobDefinitionCommand, TerminateJobCommand, type NodeRangeProperty } from '@aws-sdk/client-batch';
import type { Assignment } from '../../src/agent/protocol.js';
import { startHarness, type Harness } from '../harness/controlPlane.js';
import { shell } from '../harness/shell.js';
import { rejectsClient } from '../helpers/apiErrors.js';
import { logLines } from '../helpers/fixtures.js';

function container(command: string[], vcpus = 1): NodeRangeProperty['container'] {
  return { image: 'busybox', command, resourceRequirements: [{ type: 'VCPU', value: String(vcpus) }, { type: 'MEMORY', value: '64' }] };
}

describe('multi-node parallel jobs', () => {
  let h: Harness;
  const handed: Assignment[] = [];
  before(async () => {
    h = await startHarness();
    await h.queue('mnq', { vcpus: 4 }, (a) => {
      handed.push(a);
      return shell(a);
    });
  });
  after(async () => h.close());

  async function gangDefinition(name: string, numNodes: number, main: string[], others: string[], attempts?: number): Promise<void> {
    await h.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: name,
        type: 'multinode',
        retryStrategy: attempts ? { attempts } : undefined,
        nodeProperties: { numNodes, mainNode: 0, nodeRangeProperties: [{ targetNodes: '0', container: container(main) }, { targetNodes: '1:', container: container(others) }] },
      }),
    );
  }
  const done = (id: string) => h.status(id, ['SUCCEEDED', 'FAILED']);
  const nodes = async (id: string, n: number) => (await h.client.send(new DescribeJobsCommand({ jobs: [...Array(n).keys()].map((i) => `${id}#${i}`) }))).jobs!;

  test('RegisterJobDefinition refuses node properties AWS refuses, naming the member', async () => {
    const reg = (nodeProperties: object) => h.client.send(new RegisterJobDefinitionCommand({ jobDefinitionName: 'bad-mn', type: 'multinode', nodeProperties: nodeProperties as never }));
    await rejectsClient(reg({ numNodes: 2, mainNode: 2, nodeRangeProperties: [{ targetNodes: ':', container: container(['true']) }] }), /mainNode/);
    await rejectsClient(reg({ numNodes: 3, mainNode: 0, nodeRangeProperties: [{ targetNodes: '0:1', container: container(['true']) }] }), /node 2 is in no targetNodes range/);
    await rejectsClient(reg({ numNodes: 2, mainNode: 0, nodeRangeProperties: [{ targetNodes: '0:5', container: container(['true']) }] }), /past the last node/);
    await rejectsClient(h.client.send(new RegisterJobDefinitionCommand({ jobDefinitionName: 'bad-mn', type: 'multinode' })), /nodeProperties/);
  });

  test('a 3-node job: every node is handed its variables, the main node decides, the others are stopped', async () => {
    await gangDefinition('gang3', 3, ['sleep', '2'], ['sleep', '60']);
    const id = await h.submit({ jobQueue: 'mnq', jobDefinition: 'gang3', jobName: 'gang' });
    const parent = await done(id);
    assert.equal(parent.status, 'SUCCEEDED');
    assert.deepEqual([parent.nodeProperties?.numNodes, parent.nodeProperties?.mainNode, parent.attempts?.length], [3, 0, 1]);
    const listed = await h.client.send(new ListJobsCommand({ multiNodeJobId: id, jobStatus: 'SUCCEEDED' }));
    assert.deepEqual(listed.jobSummaryList?.map((j) => j.jobId).sort(), [`${id}#0`, `${id}#1`, `${id}#2`]);
    assert.ok(listed.jobSummaryList?.every((j) => j.nodeProperties?.numNodes === 3));
    const ns = await nodes(id, 3);
    assert.deepEqual(ns.map((n) => [n.nodeDetails?.nodeIndex, n.nodeDetails?.isMainNode]), [[0, true], [1, false], [2, false]]);
    for (const n of ns.slice(1)) assert.match(n.statusReason ?? '', /main node/, 'a child node was stopped when the main node exited');
    for (const n of ns) {
      const env = handed.find((a) => a.jobId === n.jobId)!.env;
      assert.deepEqual(
        [env.AWS_BATCH_JOB_NODE_INDEX, env.AWS_BATCH_JOB_NUM_NODES, env.AWS_BATCH_JOB_MAIN_NODE_INDEX, env.AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS, env.AWS_BATCH_JOB_ID],
        [String(n.nodeDetails!.nodeIndex), '3', '0', '127.0.0.1', n.jobId],
      );
    }
  });

  test('nodeOverrides.numNodes changes the gang; it needs an open-ended node range, and a multi-node definition', async () => {
    await gangDefinition('gang-over', 3, ['sleep', '1'], ['true']);
    const id = await h.submit({ jobQueue: 'mnq', jobDefinition: 'gang-over', nodeOverrides: { numNodes: 2 } });
    assert.equal((await done(id)).status, 'SUCCEEDED');
    assert.equal((await h.client.send(new ListJobsCommand({ multiNodeJobId: id, jobStatus: 'SUCCEEDED' }))).jobSummaryList?.length, 2);
    await h.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'gang-closed',
        type: 'multinode',
        nodeProperties: { numNodes: 2, mainNode: 0, nodeRangeProperties: [{ targetNodes: '0:1', container: container(['true']) }] },
      }),
    );
    await rejectsClient(h.submit({ jobQueue: 'mnq', jobDefinition: 'gang-closed', nodeOverrides: { numNodes: 3 } }), /nodeOverrides\.numNodes 3 needs a node range with an open upper end/);
    await rejectsClient(h.submit({ jobQueue: 'mnq', nodeOverrides: { numNodes: 2 } }), /nodeOverrides applies only to multi-node/);
  });

  test('a failing main node retries the whole gang: every node gets the new attempt', async () => {
    await gangDefinition('gang-retry', 2, ['sleep', '1', ';', 'exit-before-attempt', '2'], ['echo', 'attempt=$AWS_BATCH_JOB_ATTEMPT', ';', 'sleep', '60'], 2);
    const id = await h.submit({ jobQueue: 'mnq', jobDefinition: 'gang-retry' });
    const parent = await done(id);
    assert.equal(parent.status, 'SUCCEEDED');
    assert.deepEqual(parent.attempts?.map((a) => a.container?.exitCode), [1, 0]);
    const child = await done(`${id}#1`);
    assert.equal(child.attempts?.length, 2, 'the child node ran once per gang attempt');
    assert.deepEqual(await logLines(h.server.url, child.attempts![1].container!.logStreamName!), ['attempt=2']);
  });

  test('a gang that does not fit whole places no node: it waits, holding nothing, until all fit at once', async () => {
    await h.definition('hog', { containerProperties: { command: ['sleep', '3600'], resourceRequirements: [{ type: 'VCPU', value: '2' }, { type: 'MEMORY', value: '64' }] } });
    const hog = await h.submit({ jobQueue: 'mnq', jobDefinition: 'hog' });
    await h.status(hog, ['RUNNING']);
    await gangDefinition('gang-wait', 3, ['sleep', '1'], ['sleep', '60']);
    const id = await h.submit({ jobQueue: 'mnq', jobDefinition: 'gang-wait' });
    await h.status(id, ['RUNNABLE']);
    // Two vCPUs are free, the gang needs three: for two minutes (120 passes), no node may start.
    await h.run(120_000);
    assert.equal((await h.job(id)).status, 'RUNNABLE');
    for (const status of ['STARTING', 'RUNNING'] as const) {
      assert.equal((await h.client.send(new ListJobsCommand({ multiNodeJobId: id, jobStatus: status }))).jobSummaryList?.length, 0, `a node ${status} while the gang cannot fit`);
    }
    await h.client.send(new TerminateJobCommand({ jobId: hog, reason: 'make room' }));
    assert.equal((await done(id)).status, 'SUCCEEDED');
  });

  test('TerminateJob of a running gang stops every node; the job fails with the reason, unretried', async () => {
    await gangDefinition('gang-term', 2, ['sleep', '60'], ['sleep', '60'], 3);
    const id = await h.submit({ jobQueue: 'mnq', jobDefinition: 'gang-term' });
    await h.status(id, ['RUNNING']);
    await h.status(`${id}#1`, ['RUNNING']);
    await h.client.send(new TerminateJobCommand({ jobId: id, reason: 'stop the gang' }));
    const parent = await done(id);
    assert.deepEqual([parent.status, parent.statusReason, parent.attempts?.length], ['FAILED', 'stop the gang', 1]);
    assert.equal((await done(`${id}#1`)).status, 'FAILED');
  });
});
