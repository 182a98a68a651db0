/**
 * Job queues through the real SDK over HTTP: create, describe (by name and ARN), update,
 * delete, the snapshot of the head of the queue, and the rules AWS applies to each.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateJobQueueCommand,
  CreateSchedulingPolicyCommand,
  DeleteJobQueueCommand,
  DescribeJobQueuesCommand,
  GetJobQueueSnapshotCommand,
  UpdateJobQueueCommand,
  type BatchClient,
  type JobQueueDetail,
} from '@aws-sdk/client-batch';
import { batchClient, startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { rejectsClient } from '../helpers/apiErrors.js';

const PREFIX = 'arn:aws:batch:us-east-1:000000000000:';

async function describeQueue(client: BatchClient, ref: string): Promise<JobQueueDetail | undefined> {
  const res = await client.send(new DescribeJobQueuesCommand({ jobQueues: [ref] }));
  assert.ok((res.jobQueues?.length ?? 0) <= 1);
  return res.jobQueues?.[0];
}

async function disableQueue(client: BatchClient, ref: string): Promise<void> {
  await client.send(new UpdateJobQueueCommand({ jobQueue: ref, state: 'DISABLED' }));
}

async function createPolicy(client: BatchClient, name: string): Promise<string> {
  const res = await client.send(new CreateSchedulingPolicyCommand({ name, fairsharePolicy: { shareDecaySeconds: 0 } }));
  return res.arn!;
}

describe('job queues', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    await createCe(t.client, 'ce-a');
    await createCe(t.client, 'ce-b');
    // Jobs submitted to queues on this environment wait RUNNABLE: it places nothing.
    await createCe(t.client, 'ce-off', { state: 'DISABLED' });
    await registerDefinition(t.client, 'noop');
  });
  after(async () => t.close());

  test('CreateJobQueue returns the name and ARN; Describe by name and ARN shows priority, state, order and tags', async () => {
    const res = await t.client.send(
      new CreateJobQueueCommand({
        jobQueueName: 'main',
        priority: 7,
        computeEnvironmentOrder: [
          { order: 2, computeEnvironment: `${PREFIX}compute-environment/ce-b` },
          { order: 1, computeEnvironment: 'ce-a' },
        ],
        tags: { owner: 'ops' },
      }),
    );
    assert.equal(res.jobQueueName, 'main');
    assert.equal(res.jobQueueArn, `${PREFIX}job-queue/main`);
    for (const ref of ['main', res.jobQueueArn!]) {
      const q = await describeQueue(t.client, ref);
      assert.ok(q, `not found by ${ref}`);
      assert.equal(q.jobQueueName, 'main');
      assert.equal(q.jobQueueArn, res.jobQueueArn);
      assert.equal(q.priority, 7);
      assert.equal(q.state, 'ENABLED');
      assert.equal(q.status, 'VALID');
      assert.deepEqual(q.computeEnvironmentOrder, [
        { order: 1, computeEnvironment: `${PREFIX}compute-environment/ce-a` },
        { order: 2, computeEnvironment: `${PREFIX}compute-environment/ce-b` },
      ]);
      assert.deepEqual(q.tags, { owner: 'ops' });
      assert.equal(q.schedulingPolicyArn, undefined);
    }
  });

  test('DescribeJobQueues without names lists every queue; unknown names are simply absent', async () => {
    await createQueue(t.client, 'second', ['ce-a']);
    const all = await t.client.send(new DescribeJobQueuesCommand({}));
    const names = all.jobQueues!.map((q) => q.jobQueueName);
    assert.ok(names.includes('main') && names.includes('second'), names.join(','));
    const some = await t.client.send(new DescribeJobQueuesCommand({ jobQueues: ['second', 'nope'] }));
    assert.deepEqual(some.jobQueues!.map((q) => q.jobQueueName), ['second']);
  });

  test('an ARN of another account or of another kind names nothing here: Describe leaves it out', async () => {
    const res = await t.client.send(
      new DescribeJobQueuesCommand({ jobQueues: ['arn:aws:batch:us-east-1:111111111111:job-queue/main', `${PREFIX}compute-environment/main`] }),
    );
    assert.deepEqual(res.jobQueues, []);
  });

  test('one compute environment named twice in computeEnvironmentOrder, by name and by ARN, is refused', async () => {
    await rejectsClient(
      t.client.send(
        new CreateJobQueueCommand({
          jobQueueName: 'doubled',
          priority: 1,
          computeEnvironmentOrder: [
            { order: 1, computeEnvironment: 'ce-a' },
            { order: 2, computeEnvironment: `${PREFIX}compute-environment/ce-a` },
          ],
        }),
      ),
      /computeEnvironmentOrder\[1\]\.computeEnvironment .* names compute environment 'ce-a', as computeEnvironmentOrder\[0\] does/,
    );
    assert.equal(await describeQueue(t.client, 'doubled'), undefined);
  });

  test('a second queue with the same name is refused, naming it', async () => {
    await rejectsClient(createQueue(t.client, 'main', ['ce-b'], 1), /jobQueueName 'main' already exists/);
    assert.equal((await describeQueue(t.client, 'main'))?.priority, 7);
  });

  test('an unknown compute environment in computeEnvironmentOrder is named, with its position', async () => {
    await rejectsClient(
      t.client.send(
        new CreateJobQueueCommand({
          jobQueueName: 'orphan',
          priority: 1,
          computeEnvironmentOrder: [
            { order: 1, computeEnvironment: 'ce-a' },
            { order: 2, computeEnvironment: 'nope' },
          ],
        }),
      ),
      /computeEnvironmentOrder\[1\]\.computeEnvironment 'nope' does not exist/,
    );
    assert.equal(await describeQueue(t.client, 'orphan'), undefined);
  });

  test('a queue cannot mix Fargate and EC2 compute environments', async () => {
    await createCe(t.client, 'ce-fargate', { type: 'FARGATE' });
    await rejectsClient(createQueue(t.client, 'mixed', ['ce-a', 'ce-fargate']), /cannot mix Fargate and EC2\/SPOT compute environments/);
    await rejectsClient(
      t.client.send(
        new UpdateJobQueueCommand({
          jobQueue: 'main',
          computeEnvironmentOrder: [
            { order: 1, computeEnvironment: 'ce-a' },
            { order: 2, computeEnvironment: 'ce-fargate' },
          ],
        }),
      ),
      /cannot mix Fargate/,
    );
  });

  test('UpdateJobQueue by name or ARN changes priority, state and the compute environment order', async () => {
    const res = await t.client.send(
      new UpdateJobQueueCommand({ jobQueue: 'second', priority: 99, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'ce-b' }] }),
    );
    assert.equal(res.jobQueueName, 'second');
    assert.equal(res.jobQueueArn, `${PREFIX}job-queue/second`);
    let q = await describeQueue(t.client, 'second');
    assert.equal(q?.priority, 99);
    assert.deepEqual(q?.computeEnvironmentOrder, [{ order: 1, computeEnvironment: `${PREFIX}compute-environment/ce-b` }]);
    await disableQueue(t.client, `${PREFIX}job-queue/second`);
    q = await describeQueue(t.client, 'second');
    assert.equal(q?.state, 'DISABLED');
    assert.equal(q?.priority, 99);
  });

  test('a DISABLED queue refuses SubmitJob, naming the queue; enabled again it accepts', async () => {
    await createQueue(t.client, 'paused', ['ce-off']);
    await disableQueue(t.client, 'paused');
    await rejectsClient(submit(t.client, { jobQueue: 'paused', jobDefinition: 'noop' }), /jobQueue 'paused' is DISABLED/);
    await t.client.send(new UpdateJobQueueCommand({ jobQueue: 'paused', state: 'ENABLED' }));
    assert.ok(await submit(t.client, { jobQueue: 'paused', jobDefinition: 'noop' }));
  });

  test('an ENABLED queue cannot be deleted: it must be DISABLED first; then it is gone', async () => {
    await createQueue(t.client, 'doomed', ['ce-a']);
    await rejectsClient(
      t.client.send(new DeleteJobQueueCommand({ jobQueue: 'doomed' })),
      /jobQueue 'doomed' must be DISABLED before it can be deleted/,
    );
    assert.ok(await describeQueue(t.client, 'doomed'));
    await disableQueue(t.client, 'doomed');
    await t.client.send(new DeleteJobQueueCommand({ jobQueue: `${PREFIX}job-queue/doomed` }));
    assert.equal(await describeQueue(t.client, 'doomed'), undefined);
  });

  test('deleting a queue fails the jobs still waiting in it, with a reason naming the queue', async () => {
    await createQueue(t.client, 'leaving', ['ce-off']);
    const id = await submit(t.client, { jobQueue: 'leaving', jobDefinition: 'noop' });
    await waitForStatus(t.client, id, ['RUNNABLE']);
    await disableQueue(t.client, 'leaving');
    await t.client.send(new DeleteJobQueueCommand({ jobQueue: 'leaving' }));
    const job = await waitForStatus(t.client, id, ['FAILED']);
    assert.match(job.statusReason ?? '', /leaving/);
  });

  test('an unknown queue is named in the ClientException of every operation that takes one', async () => {
    const calls: [string, () => Promise<unknown>][] = [
      ['UpdateJobQueue', () => t.client.send(new UpdateJobQueueCommand({ jobQueue: 'nope', priority: 1 }))],
      ['DeleteJobQueue', () => t.client.send(new DeleteJobQueueCommand({ jobQueue: 'nope' }))],
      ['GetJobQueueSnapshot', () => t.client.send(new GetJobQueueSnapshotCommand({ jobQueue: 'nope' }))],
      ['SubmitJob', () => submit(t.client, { jobQueue: 'nope', jobDefinition: 'noop' })],
    ];
    for (const [op, call] of calls) {
      await rejectsClient(call(), /jobQueue 'nope' does not exist/).catch((e: Error) => {
        throw new Error(`${op}: ${e.message}`);
      });
    }
  });

  test('a queue created without a scheduling policy (FIFO) cannot be given one later', async () => {
    const policy = await createPolicy(t.client, 'late-policy');
    await rejectsClient(
      t.client.send(new UpdateJobQueueCommand({ jobQueue: 'main', schedulingPolicyArn: policy })),
      /jobQueue 'main' was created without a scheduling policy \(FIFO\)/,
    );
    assert.equal((await describeQueue(t.client, 'main'))?.schedulingPolicyArn, undefined);
  });

  test('a fair-share queue shows its policy, and the policy can be replaced by another', async () => {
    const first = await createPolicy(t.client, 'fair-1');
    const second = await createPolicy(t.client, 'fair-2');
    await t.client.send(
      new CreateJobQueueCommand({
        jobQueueName: 'fair',
        priority: 1,
        schedulingPolicyArn: first,
        computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'ce-a' }],
      }),
    );
    assert.equal((await describeQueue(t.client, 'fair'))?.schedulingPolicyArn, first);
    await t.client.send(new UpdateJobQueueCommand({ jobQueue: 'fair', schedulingPolicyArn: second }));
    assert.equal((await describeQueue(t.client, 'fair'))?.schedulingPolicyArn, second);
  });

  test('an unknown scheduling policy ARN at creation is named', async () => {
    const ghost = `${PREFIX}scheduling-policy/ghost`;
    await rejectsClient(
      t.client.send(
        new CreateJobQueueCommand({
          jobQueueName: 'haunted',
          priority: 1,
          schedulingPolicyArn: ghost,
          computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'ce-a' }],
        }),
      ),
      new RegExp(`schedulingPolicyArn '${ghost}' does not exist`),
    );
  });

  test('GetJobQueueSnapshot lists the RUNNABLE jobs at the head of the queue in dispatch order', async () => {
    await createQueue(t.client, 'waiting', ['ce-off']);
    const empty = await t.client.send(new GetJobQueueSnapshotCommand({ jobQueue: 'waiting' }));
    assert.deepEqual(empty.frontOfQueue?.jobs ?? [], []);

    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await submit(t.client, { jobName: `w${i}`, jobQueue: 'waiting', jobDefinition: 'noop' }));
    for (const id of ids) await waitForStatus(t.client, id, ['RUNNABLE']);
    const snap = await t.client.send(new GetJobQueueSnapshotCommand({ jobQueue: `${PREFIX}job-queue/waiting` }));
    assert.deepEqual(
      snap.frontOfQueue?.jobs?.map((j) => j.jobArn),
      ids.map((id) => `${PREFIX}job/${id}`),
    );
    for (const j of snap.frontOfQueue!.jobs!) assert.equal(typeof j.earliestTimeAtPosition, 'number');
    assert.equal(typeof snap.frontOfQueue?.lastUpdatedAt, 'number');
  });

  test('the ARN of a queue created with a client in eu-west-1 carries eu-west-1', async () => {
    const eu = batchClient(t.url, undefined, 'eu-west-1');
    try {
      const res = await eu.send(
        new CreateJobQueueCommand({ jobQueueName: 'dublin-q', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'ce-a' }] }),
      );
      assert.equal(res.jobQueueArn, 'arn:aws:batch:eu-west-1:000000000000:job-queue/dublin-q');
      assert.equal((await describeQueue(t.client, res.jobQueueArn!))?.jobQueueArn, res.jobQueueArn);
    } finally {
      eu.destroy();
    }
  });
});
