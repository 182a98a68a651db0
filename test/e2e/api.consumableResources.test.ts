/**
 * Consumable resources through the real SDK: create, describe, update, list, delete, tags.
 * No job holds units yet (scheduling with them is issue 4), so in-use quantities are 0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateConsumableResourceCommand,
  DeleteConsumableResourceCommand,
  DescribeConsumableResourceCommand,
  ListConsumableResourcesCommand,
  ListJobsByConsumableResourceCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UpdateConsumableResourceCommand,
  paginateListConsumableResources,
  type BatchClient,
} from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';

const ARN_PREFIX = 'arn:aws:batch:us-east-1:000000000000:consumable-resource/';

function clientException(message: RegExp) {
  return { name: 'ClientException', message };
}

async function create(client: BatchClient, name: string, totalQuantity?: number, resourceType?: string) {
  return client.send(new CreateConsumableResourceCommand({ consumableResourceName: name, totalQuantity, resourceType }));
}

async function describeResource(client: BatchClient, ref: string) {
  return client.send(new DescribeConsumableResourceCommand({ consumableResource: ref }));
}

async function setTotal(client: BatchClient, ref: string, operation: string, quantity: number, clientToken?: string) {
  return client.send(new UpdateConsumableResourceCommand({ consumableResource: ref, operation, quantity, clientToken }));
}

describe('consumable resources', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => t.close());

  test('CreateConsumableResource returns the ARN; Describe by name or ARN shows total, in use 0 and available', async () => {
    const created = await t.client.send(
      new CreateConsumableResourceCommand({ consumableResourceName: 'licenses', totalQuantity: 5, tags: { team: 'render' } }),
    );
    assert.equal(created.consumableResourceName, 'licenses');
    assert.equal(created.consumableResourceArn, `${ARN_PREFIX}licenses`);

    for (const ref of ['licenses', created.consumableResourceArn!]) {
      const d = await describeResource(t.client, ref);
      assert.equal(d.consumableResourceName, 'licenses');
      assert.equal(d.consumableResourceArn, created.consumableResourceArn);
      assert.equal(d.totalQuantity, 5);
      assert.equal(d.inUseQuantity, 0);
      assert.equal(d.availableQuantity, 5);
      assert.equal(d.resourceType, 'REPLENISHABLE');
      assert.equal(typeof d.createdAt, 'number');
      assert.deepEqual(d.tags, { team: 'render' });
    }
  });

  test('a NON_REPLENISHABLE resource keeps its type; totalQuantity defaults to 0', async () => {
    await create(t.client, 'credits', undefined, 'NON_REPLENISHABLE');
    const d = await describeResource(t.client, 'credits');
    assert.equal(d.resourceType, 'NON_REPLENISHABLE');
    assert.equal(d.totalQuantity, 0);
    assert.equal(d.availableQuantity, 0);
  });

  test('a second resource with the same name is refused, naming it', async () => {
    await create(t.client, 'dup', 1);
    await assert.rejects(create(t.client, 'dup', 2), clientException(/consumableResourceName 'dup' already exists/));
    assert.equal((await describeResource(t.client, 'dup')).totalQuantity, 1);
  });

  test('an unknown name or ARN is a ClientException naming it, in every operation that takes one', async () => {
    const missing = [
      () => describeResource(t.client, 'nope'),
      () => setTotal(t.client, 'nope', 'SET', 1),
      () => t.client.send(new DeleteConsumableResourceCommand({ consumableResource: 'nope' })),
      () => t.client.send(new ListJobsByConsumableResourceCommand({ consumableResource: 'nope' })),
    ];
    for (const call of missing) await assert.rejects(call(), clientException(/consumableResource 'nope' does not exist/));
    await assert.rejects(describeResource(t.client, `${ARN_PREFIX}nope`), clientException(/'arn:aws:batch:.*consumable-resource\/nope' does not exist/));
    // the ARN of another kind of resource with the same name is not the resource
    await create(t.client, 'samename', 1);
    const queueArn = 'arn:aws:batch:us-east-1:000000000000:job-queue/samename';
    await assert.rejects(describeResource(t.client, queueArn), clientException(/job-queue\/samename' does not exist/));
  });

  test('UpdateConsumableResource SET, ADD and REMOVE change the total and return it', async () => {
    await create(t.client, 'tokens', 10);
    assert.equal((await setTotal(t.client, 'tokens', 'ADD', 5)).totalQuantity, 15);
    assert.equal((await setTotal(t.client, `${ARN_PREFIX}tokens`, 'REMOVE', 3)).totalQuantity, 12);
    const set = await setTotal(t.client, 'tokens', 'SET', 4);
    assert.equal(set.totalQuantity, 4);
    assert.equal(set.consumableResourceName, 'tokens');
    assert.equal(set.consumableResourceArn, `${ARN_PREFIX}tokens`);
    const d = await describeResource(t.client, 'tokens');
    assert.equal(d.totalQuantity, 4);
    assert.equal(d.availableQuantity, 4);
  });

  test('REMOVE below zero is refused and leaves the total; an update without operation changes nothing', async () => {
    await create(t.client, 'seats', 2);
    await assert.rejects(setTotal(t.client, 'seats', 'REMOVE', 3), clientException(/quantity 3 cannot be removed .*'seats'.* totalQuantity is 2/));
    const same = await t.client.send(new UpdateConsumableResourceCommand({ consumableResource: 'seats' }));
    assert.equal(same.totalQuantity, 2);
    await assert.rejects(
      t.client.send(new UpdateConsumableResourceCommand({ consumableResource: 'seats', quantity: 1 })),
      clientException(/operation is required with quantity/),
    );
    await assert.rejects(setTotal(t.client, 'seats', 'MULTIPLY', 1), { name: 'ClientException' });
  });

  test('an update repeated with the same clientToken is applied once; another payload with that token is refused', async () => {
    await create(t.client, 'idem', 0);
    assert.equal((await setTotal(t.client, 'idem', 'ADD', 2, 'tok-1')).totalQuantity, 2);
    assert.equal((await setTotal(t.client, 'idem', 'ADD', 2, 'tok-1')).totalQuantity, 2);
    assert.equal((await describeResource(t.client, 'idem')).totalQuantity, 2);
    await assert.rejects(setTotal(t.client, 'idem', 'ADD', 3, 'tok-1'), clientException(/clientToken 'tok-1' was already used/));
    assert.equal((await setTotal(t.client, 'idem', 'ADD', 2, 'tok-2')).totalQuantity, 4);
  });

  test('DeleteConsumableResource by ARN removes it', async () => {
    const { consumableResourceArn } = await create(t.client, 'gone', 1);
    await t.client.send(new DeleteConsumableResourceCommand({ consumableResource: consumableResourceArn }));
    await assert.rejects(describeResource(t.client, 'gone'), clientException(/consumableResource 'gone' does not exist/));
    await create(t.client, 'gone', 3);
    assert.equal((await describeResource(t.client, 'gone')).totalQuantity, 3);
  });

  test('tags are added, listed and described through the tag operations', async () => {
    const { consumableResourceArn } = await create(t.client, 'tagged', 1);
    await t.client.send(new TagResourceCommand({ resourceArn: consumableResourceArn, tags: { env: 'prod' } }));
    const listed = await t.client.send(new ListTagsForResourceCommand({ resourceArn: consumableResourceArn }));
    assert.deepEqual(listed.tags, { env: 'prod' });
    assert.deepEqual((await describeResource(t.client, 'tagged')).tags, { env: 'prod' });
  });

  test('ListJobsByConsumableResource answers an empty job list until jobs hold resources', async () => {
    await create(t.client, 'unused', 1);
    const res = await t.client.send(new ListJobsByConsumableResourceCommand({ consumableResource: 'unused', maxResults: 10 }));
    assert.deepEqual(res.jobs, []);
    assert.equal(res.nextToken, undefined);
    await assert.rejects(
      t.client.send(new ListJobsByConsumableResourceCommand({ consumableResource: 'unused', nextToken: 'garbage' })),
      clientException(/nextToken is invalid/),
    );
  });
});

describe('ListConsumableResources', () => {
  let t: TestServer;
  const names = ['gpu_a', 'gpu-b', 'GPUX', 'lic-1', 'lic-2', 'lic-3', 'other'];
  before(async () => {
    t = await startTestServer();
    for (const [i, n] of names.entries()) await create(t.client, n, i + 1);
  });
  after(async () => t.close());

  async function listNames(filters?: { name: string; values: string[] }[]): Promise<string[]> {
    const out: string[] = [];
    for await (const page of paginateListConsumableResources({ client: t.client, pageSize: 100 }, { filters })) {
      out.push(...page.consumableResources!.map((r) => r.consumableResourceName!));
    }
    return out;
  }

  test('pages of maxResults in name order, with nextToken until the last page', async () => {
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const res = await t.client.send(new ListConsumableResourcesCommand({ maxResults: 3, nextToken }));
      assert.ok(res.consumableResources!.length <= 3);
      seen.push(...res.consumableResources!.map((r) => r.consumableResourceName!));
      nextToken = res.nextToken;
      pages++;
    } while (nextToken);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [...names].sort());
  });

  test('summaries carry ARN, total, in-use quantity and type', async () => {
    const res = await t.client.send(new ListConsumableResourcesCommand({ maxResults: 1 }));
    assert.deepEqual(res.consumableResources, [
      { consumableResourceArn: `${ARN_PREFIX}GPUX`, consumableResourceName: 'GPUX', totalQuantity: 3, inUseQuantity: 0, resourceType: 'REPLENISHABLE' },
    ]);
    assert.ok(res.nextToken);
  });

  test('the SDK paginator walks every page', async () => {
    const out: string[] = [];
    for await (const page of paginateListConsumableResources({ client: t.client, pageSize: 2 }, {})) {
      out.push(...page.consumableResources!.map((r) => r.consumableResourceName!));
    }
    assert.deepEqual(out, [...names].sort());
  });

  test('CONSUMABLE_RESOURCE_NAME matches names ignoring case, and prefixes with a trailing *', async () => {
    assert.deepEqual(await listNames([{ name: 'CONSUMABLE_RESOURCE_NAME', values: ['gpux'] }]), ['GPUX']);
    assert.deepEqual(await listNames([{ name: 'CONSUMABLE_RESOURCE_NAME', values: ['gpu*'] }]), ['GPUX', 'gpu-b', 'gpu_a']);
    assert.deepEqual(await listNames([{ name: 'CONSUMABLE_RESOURCE_NAME', values: ['LIC-1', 'other'] }]), ['lic-1', 'other']);
    // `_` is a character, not a wildcard
    assert.deepEqual(await listNames([{ name: 'CONSUMABLE_RESOURCE_NAME', values: ['gpu_*'] }]), ['gpu_a']);
    assert.deepEqual(await listNames([{ name: 'CONSUMABLE_RESOURCE_NAME', values: ['none*'] }]), []);
  });

  test('a filtered listing pages too', async () => {
    const first = await t.client.send(
      new ListConsumableResourcesCommand({ maxResults: 2, filters: [{ name: 'CONSUMABLE_RESOURCE_NAME', values: ['lic*'] }] }),
    );
    assert.deepEqual(first.consumableResources!.map((r) => r.consumableResourceName), ['lic-1', 'lic-2']);
    const second = await t.client.send(
      new ListConsumableResourcesCommand({ maxResults: 2, nextToken: first.nextToken, filters: [{ name: 'CONSUMABLE_RESOURCE_NAME', values: ['lic*'] }] }),
    );
    assert.deepEqual(second.consumableResources!.map((r) => r.consumableResourceName), ['lic-3']);
    assert.equal(second.nextToken, undefined);
  });

  test('a token of another operation, an unknown filter and maxResults over 100 are refused', async () => {
    await assert.rejects(
      t.client.send(new ListConsumableResourcesCommand({ nextToken: Buffer.from(JSON.stringify({ op: 'ListJobs', p: 1 })).toString('base64url') })),
      clientException(/nextToken is invalid for ListConsumableResources/),
    );
    await assert.rejects(
      t.client.send(new ListConsumableResourcesCommand({ filters: [{ name: 'JOB_NAME', values: ['x'] }] })),
      { name: 'ClientException' },
    );
    await assert.rejects(t.client.send(new ListConsumableResourcesCommand({ maxResults: 101 })), { name: 'ClientException' });
  });
});
