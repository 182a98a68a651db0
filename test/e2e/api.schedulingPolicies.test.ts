/**
 * Scheduling policies through the real SDK over HTTP: create, describe, list, update,
 * delete, and the rule that a policy in use by a queue stays.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateJobQueueCommand,
  CreateSchedulingPolicyCommand,
  DeleteJobQueueCommand,
  DeleteSchedulingPolicyCommand,
  DescribeSchedulingPoliciesCommand,
  ListSchedulingPoliciesCommand,
  UpdateJobQueueCommand,
  UpdateSchedulingPolicyCommand,
  type BatchClient,
  type SchedulingPolicyDetail,
} from '@aws-sdk/client-batch';
import { batchClient, startTestServer, type TestServer } from '../helpers/server.js';
import { createCe } from '../helpers/fixtures.js';
import { rejectsClient } from '../helpers/apiErrors.js';

const PREFIX = 'arn:aws:batch:us-east-1:000000000000:scheduling-policy/';

async function describePolicy(client: BatchClient, arn: string): Promise<SchedulingPolicyDetail | undefined> {
  const res = await client.send(new DescribeSchedulingPoliciesCommand({ arns: [arn] }));
  assert.ok((res.schedulingPolicies?.length ?? 0) <= 1);
  return res.schedulingPolicies?.[0];
}

async function listedArns(client: BatchClient): Promise<string[]> {
  return ((await client.send(new ListSchedulingPoliciesCommand({}))).schedulingPolicies ?? []).map((p) => p.arn!);
}

describe('scheduling policies', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    await createCe(t.client, 'ce');
  });
  after(async () => t.close());

  test('CreateSchedulingPolicy returns name and ARN; Describe shows the fair-share policy and tags', async () => {
    const fairsharePolicy = {
      shareDecaySeconds: 3600,
      computeReservation: 10,
      shareDistribution: [
        { shareIdentifier: 'blue', weightFactor: 0.5 },
        { shareIdentifier: 'red*', weightFactor: 2 },
      ],
    };
    const res = await t.client.send(new CreateSchedulingPolicyCommand({ name: 'fair', fairsharePolicy, tags: { team: 'sched' } }));
    assert.equal(res.name, 'fair');
    assert.equal(res.arn, `${PREFIX}fair`);
    const p = await describePolicy(t.client, res.arn!);
    assert.equal(p?.name, 'fair');
    assert.equal(p?.arn, res.arn);
    assert.deepEqual(p?.fairsharePolicy, fairsharePolicy);
    assert.deepEqual(p?.tags, { team: 'sched' });
  });

  test('DescribeSchedulingPolicies returns the known ARNs and leaves out unknown ones', async () => {
    await t.client.send(new CreateSchedulingPolicyCommand({ name: 'plain' }));
    const res = await t.client.send(new DescribeSchedulingPoliciesCommand({ arns: [`${PREFIX}plain`, `${PREFIX}nope`, `${PREFIX}fair`] }));
    assert.deepEqual(res.schedulingPolicies?.map((p) => p.name), ['plain', 'fair']);
  });

  test('ListSchedulingPolicies lists the ARN of every policy', async () => {
    const arns = await listedArns(t.client);
    assert.ok(arns.includes(`${PREFIX}fair`) && arns.includes(`${PREFIX}plain`), arns.join(','));
  });

  test('a second policy with the same name is refused, naming it', async () => {
    await rejectsClient(t.client.send(new CreateSchedulingPolicyCommand({ name: 'fair' })), /name 'fair' already exists/);
    assert.equal((await describePolicy(t.client, `${PREFIX}fair`))?.fairsharePolicy?.shareDecaySeconds, 3600);
  });

  test('UpdateSchedulingPolicy replaces the fair-share policy', async () => {
    const fairsharePolicy = { shareDecaySeconds: 60, computeReservation: 0, shareDistribution: [{ shareIdentifier: 'green', weightFactor: 1 }] };
    await t.client.send(new UpdateSchedulingPolicyCommand({ arn: `${PREFIX}fair`, fairsharePolicy }));
    assert.deepEqual((await describePolicy(t.client, `${PREFIX}fair`))?.fairsharePolicy, fairsharePolicy);
  });

  test('an update without fairsharePolicy leaves the policy as it was: a fair-share policy cannot be removed', async () => {
    const before = await describePolicy(t.client, `${PREFIX}fair`);
    await t.client.send(new UpdateSchedulingPolicyCommand({ arn: `${PREFIX}fair` }));
    assert.deepEqual((await describePolicy(t.client, `${PREFIX}fair`))?.fairsharePolicy, before?.fairsharePolicy);
  });

  test('DeleteSchedulingPolicy removes it from Describe and List', async () => {
    await t.client.send(new CreateSchedulingPolicyCommand({ name: 'brief' }));
    await t.client.send(new DeleteSchedulingPolicyCommand({ arn: `${PREFIX}brief` }));
    assert.equal(await describePolicy(t.client, `${PREFIX}brief`), undefined);
    assert.ok(!(await listedArns(t.client)).includes(`${PREFIX}brief`));
  });

  test('a policy a queue uses cannot be deleted, naming the queue; once the queue is gone it can', async () => {
    await t.client.send(new CreateSchedulingPolicyCommand({ name: 'busy' }));
    await t.client.send(
      new CreateJobQueueCommand({
        jobQueueName: 'fair-q',
        priority: 1,
        schedulingPolicyArn: `${PREFIX}busy`,
        computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'ce' }],
      }),
    );
    await rejectsClient(
      t.client.send(new DeleteSchedulingPolicyCommand({ arn: `${PREFIX}busy` })),
      /scheduling policy 'busy' is used by job queue\(s\) 'fair-q'/,
    );
    assert.ok(await describePolicy(t.client, `${PREFIX}busy`));
    await t.client.send(new UpdateJobQueueCommand({ jobQueue: 'fair-q', state: 'DISABLED' }));
    await t.client.send(new DeleteJobQueueCommand({ jobQueue: 'fair-q' }));
    await t.client.send(new DeleteSchedulingPolicyCommand({ arn: `${PREFIX}busy` }));
    assert.equal(await describePolicy(t.client, `${PREFIX}busy`), undefined);
  });

  test('an unknown policy ARN is named in the ClientException of Update and Delete', async () => {
    await rejectsClient(
      t.client.send(new UpdateSchedulingPolicyCommand({ arn: `${PREFIX}nope`, fairsharePolicy: { shareDecaySeconds: 1 } })),
      /arn 'arn:aws:batch:us-east-1:000000000000:scheduling-policy\/nope' does not exist/,
    );
    await rejectsClient(t.client.send(new DeleteSchedulingPolicyCommand({ arn: `${PREFIX}nope` })), /scheduling-policy\/nope' does not exist/);
  });

  test('the ARN of a policy created with a client in eu-west-1 carries eu-west-1', async () => {
    const eu = batchClient(t.url, undefined, 'eu-west-1');
    try {
      const res = await eu.send(new CreateSchedulingPolicyCommand({ name: 'dublin-policy' }));
      assert.equal(res.arn, 'arn:aws:batch:eu-west-1:000000000000:scheduling-policy/dublin-policy');
      assert.equal((await describePolicy(t.client, res.arn!))?.name, 'dublin-policy');
    } finally {
      eu.destroy();
    }
  });
});
