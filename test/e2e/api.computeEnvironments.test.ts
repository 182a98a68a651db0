/**
 * Compute environments through the real SDK over HTTP: create, describe (by name and ARN),
 * update, delete, and the rules AWS applies to each.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateComputeEnvironmentCommand,
  DeleteComputeEnvironmentCommand,
  DescribeComputeEnvironmentsCommand,
  UpdateComputeEnvironmentCommand,
  UpdateJobQueueCommand,
  DeleteJobQueueCommand,
  type BatchClient,
  type ComputeEnvironmentDetail,
} from '@aws-sdk/client-batch';
import { batchClient, startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue } from '../helpers/fixtures.js';
import { rejectsClient } from '../helpers/apiErrors.js';

const ARN_PREFIX = 'arn:aws:batch:us-east-1:000000000000:compute-environment/';

async function describeCe(client: BatchClient, ref: string): Promise<ComputeEnvironmentDetail | undefined> {
  const res = await client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: [ref] }));
  assert.ok((res.computeEnvironments?.length ?? 0) <= 1);
  return res.computeEnvironments?.[0];
}

async function disable(client: BatchClient, ref: string): Promise<void> {
  await client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: ref, state: 'DISABLED' }));
}

describe('compute environments', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => t.close());

  test('CreateComputeEnvironment returns the name and an ARN in the request region and account 000000000000', async () => {
    const res = await t.client.send(
      new CreateComputeEnvironmentCommand({
        computeEnvironmentName: 'ec2-ce',
        type: 'MANAGED',
        computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 4, instanceTypes: ['optimal'], subnets: ['subnet-1'], instanceRole: 'ecsInstanceRole' },
        tags: { team: 'render' },
      }),
    );
    assert.equal(res.computeEnvironmentName, 'ec2-ce');
    assert.equal(res.computeEnvironmentArn, `${ARN_PREFIX}ec2-ce`);
  });

  test('DescribeComputeEnvironments by name and by ARN shows type, state, status, resources and tags', async () => {
    for (const ref of ['ec2-ce', `${ARN_PREFIX}ec2-ce`]) {
      const ce = await describeCe(t.client, ref);
      assert.ok(ce, `not found by ${ref}`);
      assert.equal(ce.computeEnvironmentName, 'ec2-ce');
      assert.equal(ce.computeEnvironmentArn, `${ARN_PREFIX}ec2-ce`);
      assert.equal(ce.type, 'MANAGED');
      assert.equal(ce.state, 'ENABLED');
      assert.equal(ce.status, 'VALID');
      assert.equal(ce.computeResources?.type, 'EC2');
      assert.equal(ce.computeResources?.minvCpus, 0);
      assert.equal(ce.computeResources?.maxvCpus, 4);
      assert.deepEqual(ce.computeResources?.instanceTypes, ['optimal']);
      assert.equal(typeof ce.computeResources?.desiredvCpus, 'number');
      assert.deepEqual(ce.tags, { team: 'render' });
      assert.match(ce.ecsClusterArn ?? '', /^arn:aws:ecs:us-east-1:000000000000:cluster\//);
      assert.ok(ce.uuid);
    }
  });

  test('an UNMANAGED environment and one created DISABLED are described as created', async () => {
    await t.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'own-hosts', type: 'UNMANAGED', unmanagedvCpus: 16 }));
    await createCe(t.client, 'parked', { state: 'DISABLED', minvCpus: 2, maxvCpus: 8 });
    const own = await describeCe(t.client, 'own-hosts');
    assert.equal(own?.type, 'UNMANAGED');
    assert.equal(own?.unmanagedvCpus, 16);
    assert.equal(own?.computeResources, undefined);
    const parked = await describeCe(t.client, 'parked');
    assert.equal(parked?.state, 'DISABLED');
    assert.equal(parked?.computeResources?.minvCpus, 2, 'minvCpus is kept while DISABLED');
    assert.equal(parked?.computeResources?.desiredvCpus, 2);
  });

  test('DescribeComputeEnvironments without names lists every environment; unknown names are simply absent', async () => {
    const all = await t.client.send(new DescribeComputeEnvironmentsCommand({}));
    const names = all.computeEnvironments!.map((c) => c.computeEnvironmentName);
    for (const n of ['ec2-ce', 'own-hosts', 'parked']) assert.ok(names.includes(n), `${n} missing from ${names.join(',')}`);
    const some = await t.client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: ['ec2-ce', 'no-such-ce'] }));
    assert.deepEqual(some.computeEnvironments!.map((c) => c.computeEnvironmentName), ['ec2-ce']);
  });

  test('an ARN of another account or of another kind names nothing here: Describe leaves it out', async () => {
    const res = await t.client.send(
      new DescribeComputeEnvironmentsCommand({
        computeEnvironments: [
          'arn:aws:batch:us-east-1:111111111111:compute-environment/ec2-ce',
          'arn:aws:batch:us-east-1:000000000000:job-queue/ec2-ce',
        ],
      }),
    );
    assert.deepEqual(res.computeEnvironments, []);
  });

  test('a second environment with the same name is refused, naming it, and the first is unchanged', async () => {
    await rejectsClient(createCe(t.client, 'ec2-ce', { maxvCpus: 64 }), /computeEnvironmentName 'ec2-ce' already exists/);
    assert.equal((await describeCe(t.client, 'ec2-ce'))?.computeResources?.maxvCpus, 4);
  });

  test('UpdateComputeEnvironment by name or ARN changes state and compute resources, keeping the rest', async () => {
    const res = await t.client.send(
      new UpdateComputeEnvironmentCommand({ computeEnvironment: 'ec2-ce', computeResources: { maxvCpus: 8 } }),
    );
    assert.equal(res.computeEnvironmentName, 'ec2-ce');
    assert.equal(res.computeEnvironmentArn, `${ARN_PREFIX}ec2-ce`);
    let ce = await describeCe(t.client, 'ec2-ce');
    assert.equal(ce?.computeResources?.maxvCpus, 8);
    assert.equal(ce?.computeResources?.minvCpus, 0);
    assert.deepEqual(ce?.computeResources?.instanceTypes, ['optimal']);
    assert.equal(ce?.state, 'ENABLED');

    await disable(t.client, `${ARN_PREFIX}ec2-ce`);
    ce = await describeCe(t.client, 'ec2-ce');
    assert.equal(ce?.state, 'DISABLED');
    assert.equal(ce?.computeResources?.maxvCpus, 8);
    await t.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'ec2-ce', state: 'ENABLED' }));
    assert.equal((await describeCe(t.client, 'ec2-ce'))?.state, 'ENABLED');
  });

  test('minvCpus above maxvCpus is refused, naming both', async () => {
    await rejectsClient(
      t.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'ec2-ce', computeResources: { minvCpus: 10, maxvCpus: 2 } })),
      /computeResources\.maxvCpus.*minvCpus/,
    );
    await rejectsClient(
      t.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'ec2-ce', computeResources: { minvCpus: 100 } })),
      /minvCpus \(100\) must not exceed maxvCpus \(8\)/,
    );
  });

  test("an update is checked against the environment's own type: instance members on Fargate, SPOT-only members on EC2", async () => {
    await createCe(t.client, 'fg', { type: 'FARGATE', state: 'DISABLED' });
    await rejectsClient(
      t.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'fg', computeResources: { minvCpus: 2 } })),
      /computeResources\.minvCpus is not supported by FARGATE compute resources/,
    );
    await rejectsClient(
      t.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'parked', computeResources: { allocationStrategy: 'SPOT_CAPACITY_OPTIMIZED' } })),
      /computeResources\.allocationStrategy SPOT_CAPACITY_OPTIMIZED is only available for SPOT compute resources \(type is EC2\)/,
    );
    await rejectsClient(
      t.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'parked', computeResources: { bidPercentage: 50 } })),
      /computeResources\.bidPercentage only applies to SPOT/,
    );
    const fg = await describeCe(t.client, 'fg');
    assert.equal(fg?.computeResources?.minvCpus, undefined);
    const parked = await describeCe(t.client, 'parked');
    assert.equal(parked?.computeResources?.allocationStrategy, undefined);
    assert.equal(parked?.computeResources?.bidPercentage, undefined);
  });

  test('an update may switch EC2 to SPOT, with SPOT members, but cannot turn EC2 capacity into Fargate capacity or back', async () => {
    await createCe(t.client, 'to-spot', { state: 'DISABLED' });
    await t.client.send(
      new UpdateComputeEnvironmentCommand({ computeEnvironment: 'to-spot', computeResources: { type: 'SPOT', bidPercentage: 60, allocationStrategy: 'SPOT_CAPACITY_OPTIMIZED' } }),
    );
    const spot = await describeCe(t.client, 'to-spot');
    assert.equal(spot?.computeResources?.type, 'SPOT');
    assert.equal(spot?.computeResources?.bidPercentage, 60);
    await rejectsClient(
      t.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'parked', computeResources: { type: 'FARGATE' } })),
      /computeResources\.type cannot change from EC2 to FARGATE/,
    );
    await rejectsClient(
      t.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'fg', computeResources: { type: 'SPOT' } })),
      /computeResources\.type cannot change from FARGATE to SPOT/,
    );
    assert.equal((await describeCe(t.client, 'parked'))?.computeResources?.type, 'EC2');
  });

  test('raising desiredvCpus is accepted; lowering it by hand is refused as AWS refuses manual scale-down', async () => {
    // 'parked' is DISABLED, so no scaling moves desiredvCpus behind the test's back.
    await t.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'parked', computeResources: { desiredvCpus: 4 } }));
    assert.equal((await describeCe(t.client, 'parked'))?.computeResources?.desiredvCpus, 4);
    await rejectsClient(
      t.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'parked', computeResources: { desiredvCpus: 3 } })),
      /desiredvCpus: manually scaling down a compute environment is not supported/,
    );
  });

  test('an ENABLED environment cannot be deleted: it must be DISABLED first', async () => {
    await createCe(t.client, 'doomed');
    await rejectsClient(
      t.client.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: 'doomed' })),
      /computeEnvironment 'doomed' must be DISABLED before it can be deleted/,
    );
    assert.ok(await describeCe(t.client, 'doomed'));
    await disable(t.client, 'doomed');
    await t.client.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: 'doomed' }));
    assert.equal(await describeCe(t.client, 'doomed'), undefined);
  });

  test('DeleteComputeEnvironment accepts the ARN', async () => {
    const arn = await createCe(t.client, 'by-arn', { state: 'DISABLED' });
    await t.client.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: arn }));
    assert.equal(await describeCe(t.client, arn), undefined);
  });

  test('an environment a queue uses cannot be deleted, even DISABLED; once the queue lets go it can', async () => {
    await createCe(t.client, 'in-use');
    await createCe(t.client, 'spare');
    await createQueue(t.client, 'user-q', ['in-use']);
    await disable(t.client, 'in-use');
    await rejectsClient(
      t.client.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: 'in-use' })),
      /computeEnvironment 'in-use' is used by job queue\(s\) 'user-q'/,
    );
    await t.client.send(
      new UpdateJobQueueCommand({ jobQueue: 'user-q', computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'spare' }] }),
    );
    await t.client.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: 'in-use' }));
    assert.equal(await describeCe(t.client, 'in-use'), undefined);

    await disable(t.client, 'spare');
    await rejectsClient(t.client.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: 'spare' })), /'user-q'/);
    await t.client.send(new UpdateJobQueueCommand({ jobQueue: 'user-q', state: 'DISABLED' }));
    await t.client.send(new DeleteJobQueueCommand({ jobQueue: 'user-q' }));
    await t.client.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: 'spare' }));
  });

  test('the members AWS requires per type are refused when missing: instanceRole and minvCpus on EC2/SPOT, the Spot Fleet role under BEST_FIT, security groups on Fargate', async () => {
    const create = (computeResources: Record<string, unknown>) =>
      t.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'incomplete', type: 'MANAGED', computeResources: computeResources as never }));
    const ec2 = { type: 'EC2', minvCpus: 0, maxvCpus: 4, instanceTypes: ['optimal'], subnets: ['subnet-1'], instanceRole: 'ecsInstanceRole' };
    await rejectsClient(create({ ...ec2, instanceRole: undefined }), /computeResources\.instanceRole is required for EC2 compute resources/);
    await rejectsClient(create({ ...ec2, minvCpus: undefined }), /computeResources\.minvCpus is required for EC2 compute resources/);
    await rejectsClient(create({ ...ec2, type: 'SPOT', instanceRole: undefined, allocationStrategy: 'SPOT_CAPACITY_OPTIMIZED' }), /computeResources\.instanceRole is required for SPOT/);
    await rejectsClient(create({ ...ec2, type: 'SPOT' }), /computeResources\.spotIamFleetRole is required for SPOT compute resources with the BEST_FIT allocation strategy/);
    await rejectsClient(create({ type: 'FARGATE', maxvCpus: 4, subnets: ['subnet-1'] }), /computeResources\.securityGroupIds is required for FARGATE compute resources/);
    assert.equal(await describeCe(t.client, 'incomplete'), undefined, 'nothing was created');
  });

  test('an unknown environment is named in the ClientException of Update and Delete', async () => {
    await rejectsClient(
      t.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'nope', state: 'DISABLED' })),
      /computeEnvironment 'nope' does not exist/,
    );
    await rejectsClient(
      t.client.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: `${ARN_PREFIX}nope` })),
      /computeEnvironment 'arn:aws:batch:us-east-1:000000000000:compute-environment\/nope' does not exist/,
    );
  });

  test('the ARN of an environment created with a client in eu-west-1 carries eu-west-1, and other regions find it by that ARN', async () => {
    const eu = batchClient(t.url, undefined, 'eu-west-1');
    try {
      const res = await eu.send(
        new CreateComputeEnvironmentCommand({
          computeEnvironmentName: 'dublin',
          type: 'MANAGED',
          computeResources: { type: 'FARGATE', maxvCpus: 4, subnets: ['subnet-1'], securityGroupIds: ['sg-1'] },
        }),
      );
      assert.equal(res.computeEnvironmentArn, 'arn:aws:batch:eu-west-1:000000000000:compute-environment/dublin');
      const ce = await describeCe(t.client, res.computeEnvironmentArn!);
      assert.equal(ce?.computeEnvironmentArn, res.computeEnvironmentArn);
      assert.match(ce?.ecsClusterArn ?? '', /^arn:aws:ecs:eu-west-1:000000000000:/);
      assert.equal(ce?.computeResources?.type, 'FARGATE');
    } finally {
      eu.destroy();
    }
  });
});
