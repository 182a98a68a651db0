/**
 * What ECS gives every container, as a job sees it: AWS_REGION and AWS_DEFAULT_REGION (the
 * job's region), HOSTNAME, and ECS_CONTAINER_METADATA_URI_V4, whose task and container
 * documents name the job's task ARN, log group and stream and limits as DescribeJobs does —
 * in a sandbox with a network of its own (through the relay), sharing the host's network,
 * and in a container.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { RegisterJobDefinitionCommand, SubmitJobCommand } from '@aws-sdk/client-batch';
import { batchClient, startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, logLines, waitForStatus } from '../helpers/fixtures.js';
import { Sandbox } from '../../src/executor/sandbox.js';
import { socketPath } from '../../src/executor/dockerApi.js';

const DOCKER_HOST = process.env.OPENBATCH_TEST_DOCKER_HOST ?? '';
const IMAGE = process.env.OPENBATCH_TEST_IMAGE ?? 'localhost/openbatch-test/busybox:latest';
const noDocker = DOCKER_HOST !== '' && existsSync(socketPath(DOCKER_HOST)) ? false : 'no Docker API socket: set OPENBATCH_TEST_DOCKER_HOST (scripts/ci/podman.sh starts one)';
const noSandbox = typeof Sandbox.probe() === 'string' ? 'bubblewrap cannot sandbox jobs on this host' : false;

/** A job (Node, from the host) that prints its environment's ECS variables and the two documents, one JSON line. */
const NODE_PROBE = [
  'const uri = process.env.ECS_CONTAINER_METADATA_URI_V4;',
  'const get = async (u) => (await fetch(u)).json();',
  'const [container, task] = uri ? await Promise.all([get(uri), get(uri + "/task")]) : [null, null];',
  'const env = Object.fromEntries(["AWS_REGION", "AWS_DEFAULT_REGION", "HOSTNAME"].map((k) => [k, process.env[k]]));',
  'console.log(JSON.stringify({ env, uri, container, task }));',
].join('\n');

interface Probe {
  env: Record<string, string | undefined>;
  uri?: string;
  container: { LogOptions: Record<string, string>; Limits: { CPU: number; Memory: number }; Labels: Record<string, string> } | null;
  task: { TaskARN: string; Family: string; Revision: string; ContainerInstanceArn: string } | null;
}

describe('the job environment ECS gives', () => {
  let t: TestServer;
  const eu = () => batchClient(t.url, undefined, 'eu-west-1');

  async function probe(queue: string, definition: string): Promise<{ probe: Probe; job: Awaited<ReturnType<typeof waitForStatus>> }> {
    const client = eu();
    try {
      const { jobId } = await client.send(new SubmitJobCommand({ jobName: definition, jobQueue: queue, jobDefinition: definition }));
      const job = await waitForStatus(client, jobId!, ['SUCCEEDED', 'FAILED'], 60_000);
      const lines = await logLines(t.url, job.container?.logStreamName ?? '');
      assert.equal(job.status, 'SUCCEEDED', `${job.statusReason}: ${job.container?.reason ?? ''}\n${lines.join('\n')}`);
      return { probe: JSON.parse(lines.find((l) => l.startsWith('{')) ?? '{}') as Probe, job };
    } finally {
      client.destroy();
    }
  }

  function checkDocuments(p: Probe, job: Awaited<ReturnType<typeof waitForStatus>>, family: string): void {
    assert.ok(p.uri, 'ECS_CONTAINER_METADATA_URI_V4 is set');
    assert.equal(p.task?.TaskARN, job.container?.taskArn, 'the task ARN DescribeJobs reports');
    assert.equal(p.container?.Labels['com.amazonaws.ecs.task-arn'], job.container?.taskArn);
    assert.deepEqual(p.container?.LogOptions, { 'awslogs-group': '/aws/batch/job', 'awslogs-region': 'eu-west-1', 'awslogs-stream': job.container?.logStreamName });
    assert.deepEqual(p.container?.Limits, { CPU: 1024, Memory: 256 });
    assert.deepEqual([p.task?.Family, p.task?.Revision], [family, '1']);
    assert.equal(p.task?.ContainerInstanceArn, job.container?.containerInstanceArn);
  }

  before(async () => {
    t = await startTestServer({ dockerHost: DOCKER_HOST });
    const client = eu();
    try {
      await createCe(client, 'sandboxed');
      await createCe(client, 'shared', { tags: { 'openbatch:sandbox-network': 'host' } });
      await client.send(
        new RegisterJobDefinitionCommand({
          jobDefinitionName: 'probe',
          type: 'container',
          containerProperties: { image: 'busybox', command: [process.execPath, '--input-type=module', '-e', NODE_PROBE], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '256' }] },
        }),
      );
    } finally {
      client.destroy();
    }
  });
  after(async () => t.close());

  test('a process job in a sandbox of its own network: the region, the host name, and the task metadata through the relay', { skip: noSandbox }, async () => {
    const client = eu();
    await createQueue(client, 'sandboxed-q', ['sandboxed']).finally(() => client.destroy());
    const { probe: p, job } = await probe('sandboxed-q', 'probe');
    assert.deepEqual(p.env, { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-1', HOSTNAME: hostname() });
    assert.match(p.uri ?? '', /^http:\/\/127\.0\.0\.1:51679\/v4\/[0-9a-f]{32}$/);
    checkDocuments(p, job, 'probe');
  });

  test('a process job sharing the host’s network: the task metadata on the host’s loopback', async () => {
    const client = eu();
    await createQueue(client, 'shared-q', ['shared']).finally(() => client.destroy());
    const { probe: p, job } = await probe('shared-q', 'probe');
    assert.match(p.uri ?? '', /^http:\/\/127\.0\.0\.1:\d+\/v4\/[0-9a-f]{32}$/);
    checkDocuments(p, job, 'probe');
  });

  test('a container job: the region, and the task metadata on its bridge’s gateway', { skip: noDocker }, async () => {
    const client = eu();
    try {
      await createCe(client, 'boxes', { tags: { 'openbatch:executor': 'container' } });
      await createQueue(client, 'boxes-q', ['boxes']);
      // busybox's wget and sed: the two documents' ARNs and the region, one per line.
      await client.send(
        new RegisterJobDefinitionCommand({
          jobDefinitionName: 'boxed-probe',
          type: 'container',
          containerProperties: {
            image: IMAGE,
            command: ['sh', '-c', 'echo "region $AWS_REGION $AWS_DEFAULT_REGION"; wget -qO- "$ECS_CONTAINER_METADATA_URI_V4/task" | sed -n "s/.*\\"TaskARN\\":\\"\\([^\\"]*\\)\\".*/task \\1/p"'],
            resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '256' }],
          },
        }),
      );
      const { jobId } = await client.send(new SubmitJobCommand({ jobName: 'boxed-probe', jobQueue: 'boxes-q', jobDefinition: 'boxed-probe' }));
      const job = await waitForStatus(client, jobId!, ['SUCCEEDED', 'FAILED'], 60_000);
      const lines = await logLines(t.url, job.container?.logStreamName ?? '');
      assert.equal(job.status, 'SUCCEEDED', `${job.statusReason}\n${lines.join('\n')}`);
      assert.deepEqual(lines, ['region eu-west-1 eu-west-1', `task ${job.container?.taskArn}`]);
    } finally {
      client.destroy();
    }
  });
});
