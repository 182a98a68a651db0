/**
 * Fargate: each job runs on an instance of its own (a task) sized exactly to it, which ends with the job; the
 * Fargate rules of job definitions are enforced with messages that name the member.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RegisterJobDefinitionCommand } from '@aws-sdk/client-batch';
import type { InstanceView } from '../../src/api/instances.js';
import { connect } from '../../src/cli/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, submit, waitForStatus } from '../helpers/fixtures.js';

const ROLE = 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole';
let t: TestServer;
before(async () => {
  t = await startTestServer({ spotNoticeSeconds: 1 });
});
after(async () => t.close());

async function instances(query: Record<string, string | string[]>): Promise<InstanceView[]> {
  const c = connect({ endpoint: t.url });
  try {
    return (await c.openbatchHttp<{ instances: InstanceView[] }>('GET', '/openbatch/v1/instances', query)).instances;
  } finally {
    c.close();
  }
}

test('each Fargate job gets its own task instance of exactly its size, gone when the job ends', async () => {
  await createCe(t.client, 'fargate', { type: 'FARGATE', maxvCpus: 4 });
  await createQueue(t.client, 'fargate-q', ['fargate']);
  await t.client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: 'tiny',
      type: 'container',
      platformCapabilities: ['FARGATE'],
      containerProperties: {
        image: 'busybox',
        command: ['sh', '-c', 'sleep 1; echo small'],
        executionRoleArn: ROLE,
        fargatePlatformConfiguration: { platformVersion: 'LATEST' },
        networkConfiguration: { assignPublicIp: 'ENABLED' },
        resourceRequirements: [{ type: 'VCPU', value: '0.25' }, { type: 'MEMORY', value: '512' }],
      },
    }),
  );
  const ids = [await submit(t.client, { jobQueue: 'fargate-q', jobDefinition: 'tiny' }), await submit(t.client, { jobQueue: 'fargate-q', jobDefinition: 'tiny' })];
  const jobs = await Promise.all(ids.map((id) => waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 60_000)));
  for (const j of jobs) assert.equal(j.status, 'SUCCEEDED', j.statusReason);
  const hosts = jobs.map((j) => j.container!.containerInstanceArn!.split('/').pop()!);
  assert.notEqual(hosts[0], hosts[1], 'two jobs, two task instances');

  let tasks: InstanceView[] = [];
  for (let i = 0; i < 200; i++) {
    tasks = await instances({ computeEnvironment: 'fargate', state: ['PENDING', 'LAUNCHING', 'ACTIVE', 'TERMINATING', 'TERMINATED'] });
    if (tasks.every((s) => s.state === 'TERMINATED')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(tasks.length, 2);
  for (const s of tasks) {
    assert.equal(s.instanceType, 'fargate');
    assert.deepEqual(s.capacity, { vcpus: 0.25, memoryMiB: 512, gpus: 0 });
    assert.equal(s.state, 'TERMINATED');
    assert.equal(s.terminationReason, 'Fargate task finished');
  }
});

test('Fargate job definitions: the sizes and members AWS allows, and nothing else', async () => {
  const register = (container: Record<string, unknown>) =>
    t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'fg',
        type: 'container',
        platformCapabilities: ['FARGATE'],
        containerProperties: {
          image: 'busybox',
          executionRoleArn: ROLE,
          resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '2048' }],
          ...container,
        },
      }),
    );
  await register({});
  await assert.rejects(register({ executionRoleArn: undefined }), /containerProperties.executionRoleArn is required on Fargate/);
  await assert.rejects(register({ resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '1024' }] }), /does not fit VCPU 1 on Fargate/);
  await assert.rejects(register({ resourceRequirements: [{ type: 'VCPU', value: '3' }, { type: 'MEMORY', value: '8192' }] }), /not a vCPU size Fargate supports/);
  await assert.rejects(register({ privileged: true }), /privileged must be false or absent on Fargate/);
  await assert.rejects(register({ fargatePlatformConfiguration: { platformVersion: '9.9.9' } }), /platformVersion must be one of LATEST, 1.4.0, 1.3.0/);
  await assert.rejects(
    t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'ec2',
        type: 'container',
        containerProperties: { image: 'busybox', networkConfiguration: { assignPublicIp: 'ENABLED' }, resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
      }),
    ),
    /networkConfiguration is only for Fargate jobs/,
  );
});
