/**
 * Multi-node parallel jobs through the real SDK and real processes: each node's process sees
 * AWS's variables and the main node decides; a gang larger than its managed compute
 * environment can ever be waits with the never-fits reason. The gang's rules (all or nothing,
 * retries, TerminateJob, overrides) are tested on the in-process harness: test/rules/multinode.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DescribeJobsCommand, ListJobsCommand, RegisterJobDefinitionCommand, type NodeRangeProperty } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, logLines, submit, waitForStatus } from '../helpers/fixtures.js';

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

});

