/**
 * Multi-node parallel jobs through the real SDK and real processes: the gang is placed all or
 * nothing, each node sees AWS's variables, the main node decides, a failing main node retries
 * the whole gang.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DescribeJobsCommand, ListJobsCommand, RegisterJobDefinitionCommand, TerminateJobCommand, type NodeRangeProperty } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, logLines, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { rejectsClient } from '../helpers/apiErrors.js';

function container(command: string[], vcpus = 1): NodeRangeProperty['container'] {
  return {
    image: 'busybox',
    command,
    resourceRequirements: [
      { type: 'VCPU', value: String(vcpus) },
      { type: 'MEMORY', value: '64' },
    ],
  };
}

const PRINT_ENV = 'echo node=$AWS_BATCH_JOB_NODE_INDEX of=$AWS_BATCH_JOB_NUM_NODES main=$AWS_BATCH_JOB_MAIN_NODE_INDEX ip=$AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS id=$AWS_BATCH_JOB_ID';

describe('multi-node parallel jobs', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ hostVcpus: 4, terminateGraceSeconds: 1 });
    await createCe(t.client, 'mn', { maxvCpus: 4 });
    await createQueue(t.client, 'mnq', ['mn']);
    await createCe(t.client, 'small', { maxvCpus: 2 });
    await createQueue(t.client, 'smallq', ['small']);
  });
  after(async () => t.close());

  async function gangDefinition(name: string, numNodes: number, main: string[], others: string[], extra: { attempts?: number } = {}): Promise<void> {
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: name,
        type: 'multinode',
        retryStrategy: extra.attempts ? { attempts: extra.attempts } : undefined,
        nodeProperties: {
          numNodes,
          mainNode: 0,
          nodeRangeProperties: [
            { targetNodes: '0', container: container(main) },
            { targetNodes: '1:', container: container(others) },
          ],
        },
      }),
    );
  }

  test('RegisterJobDefinition refuses node properties AWS refuses, naming the member', async () => {
    const reg = (nodeProperties: object) =>
      t.client.send(new RegisterJobDefinitionCommand({ jobDefinitionName: 'bad-mn', type: 'multinode', nodeProperties: nodeProperties as never }));
    await rejectsClient(reg({ numNodes: 2, mainNode: 2, nodeRangeProperties: [{ targetNodes: ':', container: container(['true']) }] }), /mainNode/);
    await rejectsClient(reg({ numNodes: 3, mainNode: 0, nodeRangeProperties: [{ targetNodes: '0:1', container: container(['true']) }] }), /node 2 is in no targetNodes range/);
    await rejectsClient(reg({ numNodes: 2, mainNode: 0, nodeRangeProperties: [{ targetNodes: '0:5', container: container(['true']) }] }), /past the last node/);
    await rejectsClient(t.client.send(new RegisterJobDefinitionCommand({ jobDefinitionName: 'bad-mn', type: 'multinode' })), /nodeProperties/);
  });

  test('a 3-node job: every node runs with its variables, the main node decides, the others are stopped', async () => {
    await gangDefinition('gang3', 3, ['sh', '-c', `${PRINT_ENV}; sleep 2`], ['sh', '-c', `${PRINT_ENV}; sleep 60`]);
    const id = await submit(t.client, { jobQueue: 'mnq', jobDefinition: 'gang3', jobName: 'gang' });
    const parent = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(parent.status, 'SUCCEEDED');
    assert.equal(parent.nodeProperties?.numNodes, 3);
    assert.equal(parent.nodeProperties?.mainNode, 0);
    assert.equal(parent.attempts?.length, 1, "the parent reports its main node's attempt");

    const listed = await t.client.send(new ListJobsCommand({ multiNodeJobId: id, jobStatus: 'SUCCEEDED' }));
    assert.deepEqual(listed.jobSummaryList?.map((j) => j.jobId).sort(), [`${id}#0`, `${id}#1`, `${id}#2`]);
    assert.ok(listed.jobSummaryList?.every((j) => j.nodeProperties?.numNodes === 3));

    const nodes = (await t.client.send(new DescribeJobsCommand({ jobs: [`${id}#0`, `${id}#1`, `${id}#2`] }))).jobs!;
    assert.deepEqual(nodes.map((n) => [n.nodeDetails?.nodeIndex, n.nodeDetails?.isMainNode]), [[0, true], [1, false], [2, false]]);
    for (const n of nodes.slice(1)) assert.match(n.statusReason ?? '', /main node/, 'a child node was stopped when the main node exited');
    for (const n of nodes) {
      const lines = await logLines(t.url, n.container!.logStreamName!);
      assert.deepEqual(lines, [`node=${n.nodeDetails!.nodeIndex} of=3 main=0 ip=127.0.0.1 id=${n.jobId}`]);
    }
  });

  test('nodeOverrides.numNodes changes the gang; it needs an open-ended node range', async () => {
    await gangDefinition('gang-over', 3, ['sh', '-c', 'sleep 1'], ['true']);
    const id = await submit(t.client, { jobQueue: 'mnq', jobDefinition: 'gang-over', nodeOverrides: { numNodes: 2 } });
    assert.equal((await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'SUCCEEDED');
    const listed = await t.client.send(new ListJobsCommand({ multiNodeJobId: id, jobStatus: 'SUCCEEDED' }));
    assert.equal(listed.jobSummaryList?.length, 2);

    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'gang-closed',
        type: 'multinode',
        nodeProperties: { numNodes: 2, mainNode: 0, nodeRangeProperties: [{ targetNodes: '0:1', container: container(['true']) }] },
      }),
    );
    await rejectsClient(submit(t.client, { jobQueue: 'mnq', jobDefinition: 'gang-closed', nodeOverrides: { numNodes: 3 } }), /nodeOverrides\.numNodes 3 needs a node range with an open upper end/);
    await registerDefinition(t.client, 'plain-for-mn');
    await rejectsClient(submit(t.client, { jobQueue: 'mnq', jobDefinition: 'plain-for-mn', nodeOverrides: { numNodes: 2 } }), /nodeOverrides applies only to multi-node/);
  });

  test('a gang larger than its compute environment can ever be waits with the never-fits reason, no node placed', async () => {
    await gangDefinition('gang-huge', 3, ['true'], ['true']);
    const id = await submit(t.client, { jobQueue: 'smallq', jobDefinition: 'gang-huge' });
    const deadline = Date.now() + 30_000;
    let job = await waitForStatus(t.client, id, ['RUNNABLE']);
    while (!job.statusReason && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      job = await waitForStatus(t.client, id, ['RUNNABLE']);
    }
    assert.match(job.statusReason ?? '', /^MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT/);
    const nodes = await t.client.send(new ListJobsCommand({ multiNodeJobId: id, jobStatus: 'STARTING' }));
    assert.equal(nodes.jobSummaryList?.length, 0);
  });

  test('a failing main node retries the whole gang: every node gets the new attempt', async () => {
    await gangDefinition('gang-retry', 2, ['sh', '-c', 'test "$AWS_BATCH_JOB_ATTEMPT" -ge 2'], ['sh', '-c', 'echo attempt=$AWS_BATCH_JOB_ATTEMPT; sleep 60'], { attempts: 2 });
    const id = await submit(t.client, { jobQueue: 'mnq', jobDefinition: 'gang-retry' });
    const parent = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(parent.status, 'SUCCEEDED');
    assert.deepEqual(parent.attempts?.map((a) => a.container?.exitCode), [1, 0]);
    const child = await waitForStatus(t.client, `${id}#1`, ['SUCCEEDED', 'FAILED']);
    assert.equal(child.attempts?.length, 2, 'the child node ran once per gang attempt');
    assert.deepEqual(await logLines(t.url, child.attempts![1].container!.logStreamName!), ['attempt=2']);
  });

  test('a gang that does not fit whole places no node: it waits, holding nothing, until all fit at once', async () => {
    await registerDefinition(t.client, 'hog', { command: ['sleep', '60'], resourceRequirements: [{ type: 'VCPU', value: '2' }, { type: 'MEMORY', value: '64' }] });
    const hog = await submit(t.client, { jobQueue: 'mnq', jobDefinition: 'hog' });
    await waitForStatus(t.client, hog, ['RUNNING'], 60_000);
    await gangDefinition('gang-wait', 3, ['sh', '-c', 'echo main'], ['sleep', '60']);
    const id = await submit(t.client, { jobQueue: 'mnq', jobDefinition: 'gang-wait' });
    await waitForStatus(t.client, id, ['RUNNABLE']);
    // Two vCPUs are free, the gang needs three: for a while, no node may start.
    for (let i = 0; i < 20; i++) {
      assert.equal((await waitForStatus(t.client, id, ['RUNNABLE', 'STARTING', 'RUNNING'])).status, 'RUNNABLE');
      for (const status of ['STARTING', 'RUNNING'] as const) {
        assert.equal((await t.client.send(new ListJobsCommand({ multiNodeJobId: id, jobStatus: status }))).jobSummaryList?.length, 0, `a node ${status} while the gang cannot fit`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await t.client.send(new TerminateJobCommand({ jobId: hog, reason: 'make room' }));
    assert.equal((await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'SUCCEEDED');
  });

  test('TerminateJob of a running gang stops every node; the job fails with the reason, unretried', async () => {
    await gangDefinition('gang-term', 2, ['sleep', '60'], ['sleep', '60'], { attempts: 3 });
    const id = await submit(t.client, { jobQueue: 'mnq', jobDefinition: 'gang-term' });
    await waitForStatus(t.client, id, ['RUNNING'], 60_000);
    await waitForStatus(t.client, `${id}#1`, ['RUNNING'], 60_000);
    await t.client.send(new TerminateJobCommand({ jobId: id, reason: 'stop the gang' }));
    const parent = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(parent.status, 'FAILED');
    assert.equal(parent.statusReason, 'stop the gang');
    assert.equal(parent.attempts?.length, 1);
    assert.equal((await waitForStatus(t.client, `${id}#1`, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'FAILED');
  });
});

