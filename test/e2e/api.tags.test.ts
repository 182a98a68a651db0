/**
 * Tags through the real SDK over HTTP: given at creation they show in Describe and
 * ListTagsForResource; TagResource and UntagResource change them, on every taggable kind
 * (compute environment, job queue, job definition, scheduling policy, job).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  CreateSchedulingPolicyCommand,
  DescribeComputeEnvironmentsCommand,
  DescribeJobDefinitionsCommand,
  DescribeJobQueuesCommand,
  DescribeSchedulingPoliciesCommand,
  ListTagsForResourceCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type BatchClient,
} from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, describeJob, registerDefinition } from '../helpers/fixtures.js';
import { rejectsClient } from '../helpers/apiErrors.js';

const PREFIX = 'arn:aws:batch:us-east-1:000000000000:';
const CREATED_WITH = { team: 'render', cost: '42' };

interface Kind {
  kind: string;
  /** creates the resource with CREATED_WITH as its tags and returns its ARN */
  create(client: BatchClient): Promise<string>;
  /** the tags Describe shows for it */
  described(client: BatchClient, arn: string): Promise<Record<string, string> | undefined>;
}

const kinds: Kind[] = [
  {
    kind: 'compute environment',
    async create(client) {
      const res = await client.send(
        new CreateComputeEnvironmentCommand({
          computeEnvironmentName: 'tagged-ce',
          type: 'MANAGED',
          state: 'DISABLED',
          computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 2, instanceTypes: ['optimal'], subnets: [], instanceRole: 'ecsInstanceRole' },
          tags: CREATED_WITH,
        }),
      );
      return res.computeEnvironmentArn!;
    },
    async described(client, arn) {
      return (await client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: [arn] }))).computeEnvironments?.[0]?.tags;
    },
  },
  {
    kind: 'job queue',
    async create(client) {
      const res = await client.send(
        new CreateJobQueueCommand({
          jobQueueName: 'tagged-q',
          priority: 1,
          computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'base-ce' }],
          tags: CREATED_WITH,
        }),
      );
      return res.jobQueueArn!;
    },
    async described(client, arn) {
      return (await client.send(new DescribeJobQueuesCommand({ jobQueues: [arn] }))).jobQueues?.[0]?.tags;
    },
  },
  {
    kind: 'job definition',
    async create(client) {
      const res = await client.send(
        new RegisterJobDefinitionCommand({
          jobDefinitionName: 'tagged-def',
          type: 'container',
          containerProperties: { image: 'busybox', vcpus: 1, memory: 64 },
          tags: CREATED_WITH,
        }),
      );
      return res.jobDefinitionArn!;
    },
    async described(client, arn) {
      return (await client.send(new DescribeJobDefinitionsCommand({ jobDefinitions: [arn] }))).jobDefinitions?.[0]?.tags;
    },
  },
  {
    kind: 'scheduling policy',
    async create(client) {
      const res = await client.send(new CreateSchedulingPolicyCommand({ name: 'tagged-policy', tags: CREATED_WITH }));
      return res.arn!;
    },
    async described(client, arn) {
      return (await client.send(new DescribeSchedulingPoliciesCommand({ arns: [arn] }))).schedulingPolicies?.[0]?.tags;
    },
  },
  {
    kind: 'job',
    async create(client) {
      const res = await client.send(new SubmitJobCommand({ jobName: 'tagged-job', jobQueue: 'base-q', jobDefinition: 'base-def', tags: CREATED_WITH }));
      return res.jobArn!;
    },
    async described(client, arn) {
      return (await describeJob(client, arn.slice(arn.indexOf('job/') + 4))).tags;
    },
  },
];

async function listTags(client: BatchClient, arn: string): Promise<Record<string, string> | undefined> {
  return (await client.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags;
}

describe('tags', () => {
  let t: TestServer;
  const arns = new Map<string, string>();
  before(async () => {
    t = await startTestServer();
    // Jobs in base-q wait RUNNABLE: its compute environment places nothing.
    await createCe(t.client, 'base-ce', { state: 'DISABLED' });
    await t.client.send(
      new CreateJobQueueCommand({ jobQueueName: 'base-q', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'base-ce' }] }),
    );
    await registerDefinition(t.client, 'base-def');
    for (const k of kinds) arns.set(k.kind, await k.create(t.client));
  });
  after(async () => t.close());

  for (const k of kinds) {
    test(`tags given when a ${k.kind} is created show in its Describe and in ListTagsForResource`, async () => {
      const arn = arns.get(k.kind)!;
      assert.deepEqual(await k.described(t.client, arn), CREATED_WITH);
      assert.deepEqual(await listTags(t.client, arn), CREATED_WITH);
    });

    test(`TagResource adds and overwrites tags of a ${k.kind}; UntagResource removes the keys named`, async () => {
      const arn = arns.get(k.kind)!;
      await t.client.send(new TagResourceCommand({ resourceArn: arn, tags: { cost: '7', 'env/stage': 'prod ready' } }));
      const tagged = { team: 'render', cost: '7', 'env/stage': 'prod ready' };
      assert.deepEqual(await listTags(t.client, arn), tagged);
      assert.deepEqual(await k.described(t.client, arn), tagged);

      await t.client.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['cost', 'env/stage', 'not-there'] }));
      assert.deepEqual(await listTags(t.client, arn), { team: 'render' });
      assert.deepEqual(await k.described(t.client, arn), { team: 'render' });

      await t.client.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['team'] }));
      assert.deepEqual(await listTags(t.client, arn), {});
    });
  }

  test('a job definition is tagged per revision: tagging revision 1 leaves revision 2 alone', async () => {
    const one = await registerDefinition(t.client, 'two-revs');
    const two = await registerDefinition(t.client, 'two-revs');
    await t.client.send(new TagResourceCommand({ resourceArn: one, tags: { rev: '1' } }));
    assert.deepEqual(await listTags(t.client, one), { rev: '1' });
    assert.deepEqual(await listTags(t.client, two), {});
  });

  test('an ARN naming nothing is refused with the ARN in the message, by all three operations', async () => {
    const ghost = `${PREFIX}job-queue/ghost`;
    const expected = new RegExp(`resourceArn '${ghost}' does not exist`);
    await rejectsClient(listTags(t.client, ghost), expected);
    await rejectsClient(t.client.send(new TagResourceCommand({ resourceArn: ghost, tags: { a: 'b' } })), expected);
    await rejectsClient(t.client.send(new UntagResourceCommand({ resourceArn: ghost, tagKeys: ['a'] })), expected);
  });

  test('an ARN of something that is not taggable, or of an array child job, is refused saying why', async () => {
    await rejectsClient(listTags(t.client, 'arn:aws:ecs:us-east-1:000000000000:cluster/x'), /is not the ARN of a taggable AWS Batch resource/);
    await rejectsClient(listTags(t.client, `${PREFIX}job/0f0e6d4c-0000-4000-8000-000000000000:3`), /array or multi-node child job; tag the parent job/);
  });

  test('more than 50 tags on one resource are refused, and the tags stay as they were', async () => {
    const arn = arns.get('scheduling policy')!;
    const before = await listTags(t.client, arn);
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    await rejectsClient(t.client.send(new TagResourceCommand({ resourceArn: arn, tags: many })), /tags must have at most 50 tags \(got 51\)/);
    const forty = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`a${i}`, 'v']));
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`b${i}`, 'v']));
    await t.client.send(new TagResourceCommand({ resourceArn: arn, tags: forty }));
    await rejectsClient(t.client.send(new TagResourceCommand({ resourceArn: arn, tags: eleven })), /at most 50 tags \(would have 51\)/);
    assert.deepEqual(await listTags(t.client, arn), { ...before, ...forty });
  });

  test('keys under the reserved aws: prefix are refused', async () => {
    const arn = arns.get('job queue')!;
    await rejectsClient(t.client.send(new TagResourceCommand({ resourceArn: arn, tags: { 'aws:owner': 'me' } })), /key 'aws:owner' is reserved/);
    await rejectsClient(t.client.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['AWS:owner'] })), /key 'AWS:owner' is reserved/);
  });
});
