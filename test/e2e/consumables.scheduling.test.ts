/**
 * Consumable resources in scheduling: a job starts only when every consumable it needs is
 * free, holds it while it runs and returns it when it ends (REPLENISHABLE), or uses it up
 * (NON_REPLENISHABLE).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateConsumableResourceCommand,
  DescribeConsumableResourceCommand,
  ListJobsByConsumableResourceCommand,
  RegisterJobDefinitionCommand,
} from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, describeJob, submit, waitForStatus } from '../helpers/fixtures.js';

describe('consumable resources in scheduling', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    await createCe(t.client, 'local', { maxvCpus: 2 });
    await createQueue(t.client, 'q', ['local']);
  });
  after(async () => t.close());

  async function definition(name: string, resource: string, command: string[]): Promise<void> {
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: name,
        type: 'container',
        consumableResourceProperties: { consumableResourceList: [{ consumableResource: resource, quantity: 1 }] },
        containerProperties: { image: 'busybox', command, resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
      }),
    );
  }

  test('a license held by one job is not given to another until it ends', async () => {
    await t.client.send(new CreateConsumableResourceCommand({ consumableResourceName: 'license', totalQuantity: 1, resourceType: 'REPLENISHABLE' }));
    await definition('licensed', 'license', ['sleep', '0.4']);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await submit(t.client, { jobQueue: 'q', jobDefinition: 'licensed' }));
    await waitForStatus(t.client, ids[0], ['RUNNING']);
    const during = await t.client.send(new DescribeConsumableResourceCommand({ consumableResource: 'license' }));
    assert.equal(during.inUseQuantity, 1);
    assert.equal(during.availableQuantity, 0);
    const jobs = [];
    for (const id of ids) jobs.push(await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED']));
    jobs.sort((a, b) => a.startedAt! - b.startedAt!);
    for (let i = 1; i < jobs.length; i++) assert.ok(jobs[i].startedAt! >= jobs[i - 1].stoppedAt!, 'two jobs held the single license at once');
    const listed = await t.client.send(new ListJobsByConsumableResourceCommand({ consumableResource: 'license' }));
    assert.deepEqual(listed.jobs?.map((j) => j.jobArn?.split('/').pop()).sort(), [...ids].sort());
    assert.equal((await t.client.send(new DescribeConsumableResourceCommand({ consumableResource: 'license' }))).inUseQuantity, 0);
  });

  test('a NON_REPLENISHABLE resource is used up, and the job that finds none left waits with a RESOURCE reason', async () => {
    await t.client.send(new CreateConsumableResourceCommand({ consumableResourceName: 'tokens', totalQuantity: 2, resourceType: 'NON_REPLENISHABLE' }));
    await definition('spender', 'tokens', ['true']);
    const a = await submit(t.client, { jobQueue: 'q', jobDefinition: 'spender' });
    await waitForStatus(t.client, a, ['SUCCEEDED']);
    const b = await submit(t.client, { jobQueue: 'q', jobDefinition: 'spender' });
    await waitForStatus(t.client, b, ['SUCCEEDED']);
    const c = await submit(t.client, { jobQueue: 'q', jobDefinition: 'spender' });
    await waitForStatus(t.client, c, ['RUNNABLE']);
    for (let i = 0; i < 100 && !(await describeJob(t.client, c)).statusReason; i++) await new Promise((r) => setTimeout(r, 20));
    assert.match((await describeJob(t.client, c)).statusReason ?? '', /^RESOURCE:/);
    assert.equal((await t.client.send(new DescribeConsumableResourceCommand({ consumableResource: 'tokens' }))).totalQuantity, 0);
  });

  test('a job naming a consumable resource that does not exist is refused at submission', async () => {
    await definition('ghostly', 'ghost', ['true']);
    await assert.rejects(submit(t.client, { jobQueue: 'q', jobDefinition: 'ghostly' }), (e: Error) => e.name === 'ClientException' && /ghost/.test(e.message));
  });
});
