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

test('a FARGATE_SPOT task interrupted mid-job fails the attempt as AWS does; the retry gets a new task and succeeds', async () => {
  await createCe(t.client, 'fargate-spot', { type: 'FARGATE_SPOT', maxvCpus: 2 });
  await createQueue(t.client, 'fargate-spot-q', ['fargate-spot']);
  await t.client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: 'interruptible-task',
      type: 'container',
      platformCapabilities: ['FARGATE'],
      retryStrategy: { attempts: 3, evaluateOnExit: [{ onStatusReason: 'Host EC2*', action: 'RETRY' }, { onReason: '*', action: 'EXIT' }] },
      containerProperties: {
        image: 'busybox',
        command: ['sh', '-c', 'if [ "$AWS_BATCH_JOB_ATTEMPT" = 1 ]; then sleep 300; fi; echo done'],
        executionRoleArn: ROLE,
        resourceRequirements: [{ type: 'VCPU', value: '0.5' }, { type: 'MEMORY', value: '1024' }],
      },
    }),
  );
  const id = await submit(t.client, { jobQueue: 'fargate-spot-q', jobDefinition: 'interruptible-task' });
  const first = await waitForStatus(t.client, id, ['RUNNING'], 60_000);
  const task = first.container!.containerInstanceArn!.split('/').pop()!;
  const c = connect({ endpoint: t.url });
  try {
    const { instance } = await c.openbatchHttp<{ instance: InstanceView }>('POST', `/openbatch/v1/instances/${task}/interrupt`);
    assert.equal(instance.state, 'TERMINATING');
  } finally {
    c.close();
  }
  const job = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 90_000);
  assert.equal(job.status, 'SUCCEEDED', job.statusReason);
  assert.equal(job.attempts?.length, 2);
  assert.equal(job.attempts?.[0].statusReason, `Host EC2 (instance ${task}) terminated.`);
  const second = job.attempts![1].container!.containerInstanceArn!.split('/').pop()!;
  assert.notEqual(second, task, 'the retry ran in a new task');
  let all: InstanceView[] = [];
  for (let i = 0; i < 200; i++) {
    all = await instances({ computeEnvironment: 'fargate-spot', state: ['PENDING', 'LAUNCHING', 'ACTIVE', 'TERMINATING', 'TERMINATED'] });
    if (all.every((s) => s.state === 'TERMINATED')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const reasons = Object.fromEntries(all.map((s) => [s.instanceId, s.terminationReason]));
  assert.deepEqual(reasons, { [task]: 'Spot interruption', [second]: 'Fargate task finished' });
  assert.ok(all.every((s) => s.capacity.vcpus === 0.5 && s.capacity.memoryMiB === 1024));
});
