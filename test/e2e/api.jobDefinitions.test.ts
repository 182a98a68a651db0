/**
 * Job definitions through the real SDK over HTTP: revisions, deregistration (INACTIVE, still
 * described), the ways to name a definition, and which revision a submission gets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DeregisterJobDefinitionCommand,
  DescribeJobDefinitionsCommand,
  RegisterJobDefinitionCommand,
  type BatchClient,
  type DescribeJobDefinitionsCommandInput,
  type JobDefinition,
} from '@aws-sdk/client-batch';
import { batchClient, startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, describeJob, registerDefinition, submit } from '../helpers/fixtures.js';
import { rejectsClient } from '../helpers/apiErrors.js';

const PREFIX = 'arn:aws:batch:us-east-1:000000000000:job-definition/';

async function definitions(client: BatchClient, input: DescribeJobDefinitionsCommandInput): Promise<JobDefinition[]> {
  return (await client.send(new DescribeJobDefinitionsCommand(input))).jobDefinitions ?? [];
}

/** `name:revision status` of each definition, sorted, for compact comparisons. */
function revisions(defs: JobDefinition[]): string[] {
  return defs.map((d) => `${d.jobDefinitionName}:${d.revision} ${d.status}`).sort();
}

async function register(client: BatchClient, name: string, command: string[]) {
  return client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: name,
      type: 'container',
      parameters: { who: 'world' },
      retryStrategy: { attempts: 2 },
      timeout: { attemptDurationSeconds: 600 },
      tags: { stage: 'test' },
      containerProperties: {
        image: 'busybox',
        command,
        environment: [{ name: 'MODE', value: 'fast' }],
        resourceRequirements: [
          { type: 'VCPU', value: '1' },
          { type: 'MEMORY', value: '512' },
        ],
      },
    }),
  );
}

describe('job definitions', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    await createCe(t.client, 'off', { state: 'DISABLED' });
    await createQueue(t.client, 'q', ['off']);
  });
  after(async () => t.close());

  test('registering the same name three times gives revisions 1, 2 and 3 with their ARNs', async () => {
    for (const revision of [1, 2, 3]) {
      const res = await register(t.client, 'render', ['echo', `v${revision}`, 'Ref::who']);
      assert.equal(res.jobDefinitionName, 'render');
      assert.equal(res.revision, revision);
      assert.equal(res.jobDefinitionArn, `${PREFIX}render:${revision}`);
    }
  });

  test('registrations of one name sent at once each get their own revision', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => register(t.client, 'parallel', ['true'])));
    assert.deepEqual(
      results.map((r) => r.revision).sort((a, b) => a! - b!),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
  });

  test('a described definition carries what was registered, with status ACTIVE', async () => {
    const [d] = await definitions(t.client, { jobDefinitions: ['render:2'] });
    assert.equal(d.jobDefinitionName, 'render');
    assert.equal(d.jobDefinitionArn, `${PREFIX}render:2`);
    assert.equal(d.revision, 2);
    assert.equal(d.status, 'ACTIVE');
    assert.equal(d.type, 'container');
    assert.deepEqual(d.parameters, { who: 'world' });
    assert.equal(d.retryStrategy?.attempts, 2);
    assert.equal(d.timeout?.attemptDurationSeconds, 600);
    assert.deepEqual(d.tags, { stage: 'test' });
    assert.equal(d.containerProperties?.image, 'busybox');
    assert.deepEqual(d.containerProperties?.command, ['echo', 'v2', 'Ref::who']);
    assert.deepEqual(d.containerProperties?.environment, [{ name: 'MODE', value: 'fast' }]);
    assert.deepEqual(d.containerProperties?.resourceRequirements, [
      { type: 'VCPU', value: '1' },
      { type: 'MEMORY', value: '512' },
    ]);
  });

  test('DescribeJobDefinitions finds definitions by name, by name:revision and by ARN', async () => {
    assert.deepEqual(revisions(await definitions(t.client, { jobDefinitionName: 'render' })), [
      'render:1 ACTIVE',
      'render:2 ACTIVE',
      'render:3 ACTIVE',
    ]);
    assert.deepEqual(revisions(await definitions(t.client, { jobDefinitions: ['render:3'] })), ['render:3 ACTIVE']);
    assert.deepEqual(revisions(await definitions(t.client, { jobDefinitions: [`${PREFIX}render:1`, 'render:2'] })), [
      'render:1 ACTIVE',
      'render:2 ACTIVE',
    ]);
    assert.deepEqual(await definitions(t.client, { jobDefinitions: ['render:9', 'nope:1'] }), []);
    assert.deepEqual(await definitions(t.client, { jobDefinitionName: 'nope' }), []);
  });

  test('DeregisterJobDefinition makes a revision INACTIVE; it is still described, and the status filter tells them apart', async () => {
    await t.client.send(new DeregisterJobDefinitionCommand({ jobDefinition: 'render:2' }));
    assert.deepEqual(revisions(await definitions(t.client, { jobDefinitionName: 'render' })), [
      'render:1 ACTIVE',
      'render:2 INACTIVE',
      'render:3 ACTIVE',
    ]);
    assert.deepEqual(revisions(await definitions(t.client, { jobDefinitions: [`${PREFIX}render:2`] })), ['render:2 INACTIVE']);
    assert.deepEqual(revisions(await definitions(t.client, { jobDefinitionName: 'render', status: 'ACTIVE' })), [
      'render:1 ACTIVE',
      'render:3 ACTIVE',
    ]);
    assert.deepEqual(revisions(await definitions(t.client, { jobDefinitionName: 'render', status: 'INACTIVE' })), ['render:2 INACTIVE']);
  });

  test('DeregisterJobDefinition accepts the ARN', async () => {
    await t.client.send(new DeregisterJobDefinitionCommand({ jobDefinition: `${PREFIX}render:3` }));
    const [d] = await definitions(t.client, { jobDefinitions: ['render:3'] });
    assert.equal(d.status, 'INACTIVE');
  });

  test('registering again after a deregistration continues the revision numbers', async () => {
    const res = await register(t.client, 'render', ['echo', 'v4']);
    assert.equal(res.revision, 4);
    assert.equal(res.jobDefinitionArn, `${PREFIX}render:4`);
  });

  test('a submission by name gets the latest ACTIVE revision; by name:revision or ARN, that revision', async () => {
    const byName = await submit(t.client, { jobQueue: 'q', jobDefinition: 'render' });
    assert.equal((await describeJob(t.client, byName)).jobDefinition, `${PREFIX}render:4`);
    await t.client.send(new DeregisterJobDefinitionCommand({ jobDefinition: 'render:4' }));
    const afterDeregister = await submit(t.client, { jobQueue: 'q', jobDefinition: 'render' });
    assert.equal((await describeJob(t.client, afterDeregister)).jobDefinition, `${PREFIX}render:1`);
    const byRevision = await submit(t.client, { jobQueue: 'q', jobDefinition: 'render:1' });
    assert.equal((await describeJob(t.client, byRevision)).jobDefinition, `${PREFIX}render:1`);
    const byArn = await submit(t.client, { jobQueue: 'q', jobDefinition: `${PREFIX}render:1` });
    const job = await describeJob(t.client, byArn);
    assert.equal(job.jobDefinition, `${PREFIX}render:1`);
    assert.deepEqual(job.container?.command, ['echo', 'v1', 'world']);
  });

  test('an INACTIVE revision cannot be submitted, and the error says it is INACTIVE', async () => {
    await rejectsClient(submit(t.client, { jobQueue: 'q', jobDefinition: 'render:2' }), /jobDefinition 'render:2' is INACTIVE/);
  });

  test('a name whose revisions are all INACTIVE cannot be submitted', async () => {
    await registerDefinition(t.client, 'retired');
    await t.client.send(new DeregisterJobDefinitionCommand({ jobDefinition: 'retired:1' }));
    await rejectsClient(submit(t.client, { jobQueue: 'q', jobDefinition: 'retired' }), /jobDefinition 'retired' does not exist or has no ACTIVE revision/);
  });

  test('an unknown definition is named in the ClientException of SubmitJob and DeregisterJobDefinition', async () => {
    await rejectsClient(submit(t.client, { jobQueue: 'q', jobDefinition: 'nope' }), /jobDefinition 'nope' does not exist/);
    await rejectsClient(submit(t.client, { jobQueue: 'q', jobDefinition: 'render:99' }), /jobDefinition 'render:99' does not exist/);
    await rejectsClient(
      t.client.send(new DeregisterJobDefinitionCommand({ jobDefinition: 'nope:1' })),
      /jobDefinition 'nope:1' does not exist/,
    );
  });

  test('an ARN of another account names nothing here: Describe leaves it out, SubmitJob and Deregister say it does not exist', async () => {
    const foreign = 'arn:aws:batch:us-east-1:111111111111:job-definition/render:1';
    assert.deepEqual(await definitions(t.client, { jobDefinitions: [foreign] }), []);
    await rejectsClient(submit(t.client, { jobQueue: 'q', jobDefinition: foreign }), /jobDefinition '.*111111111111.*' does not exist/);
    await rejectsClient(
      submit(t.client, { jobQueue: 'q', jobDefinition: 'arn:aws:batch:us-east-1:111111111111:job-definition/render' }),
      /does not exist/,
    );
    await rejectsClient(t.client.send(new DeregisterJobDefinitionCommand({ jobDefinition: foreign })), /jobDefinition '.*111111111111.*' does not exist/);
    const [d] = await definitions(t.client, { jobDefinitions: ['render:1'] });
    assert.equal(d.status, 'ACTIVE');
  });

  test('DeregisterJobDefinition without a revision is refused: it acts on one revision', async () => {
    await rejectsClient(t.client.send(new DeregisterJobDefinitionCommand({ jobDefinition: 'render' })), /jobDefinition 'render' is invalid: use <name>:<revision>/);
  });

  test('jobDefinitions cannot be combined with jobDefinitionName or status', async () => {
    await rejectsClient(definitions(t.client, { jobDefinitions: ['render:1'], status: 'ACTIVE' }), /status cannot be combined with jobDefinitions/);
  });

  test('the ARN of a definition registered with a client in eu-west-1 carries eu-west-1', async () => {
    const eu = batchClient(t.url, undefined, 'eu-west-1');
    try {
      const res = await eu.send(
        new RegisterJobDefinitionCommand({ jobDefinitionName: 'dublin-def', type: 'container', containerProperties: { image: 'busybox', vcpus: 1, memory: 128 } }),
      );
      assert.equal(res.jobDefinitionArn, 'arn:aws:batch:eu-west-1:000000000000:job-definition/dublin-def:1');
      const [d] = await definitions(t.client, { jobDefinitions: [res.jobDefinitionArn!] });
      assert.equal(d?.jobDefinitionArn, res.jobDefinitionArn);
    } finally {
      eu.destroy();
    }
  });
});
