/**
 * Consumable resources in scheduling, on the in-process harness: a job starts only when every
 * consumable it needs is free, holds it while it runs and returns it when it ends
 * (REPLENISHABLE), or uses it up (NON_REPLENISHABLE).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateConsumableResourceCommand,
  DescribeConsumableResourceCommand,
  ListJobsByConsumableResourceCommand,
  RegisterJobDefinitionCommand,
} from '@aws-sdk/client-batch';
import { startHarness, type Harness } from '../harness/controlPlane.js';
import { shell } from '../harness/shell.js';

describe('consumable resources in scheduling', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.queue('q', { vcpus: 2 }, (a) => shell(a));
  });
  after(async () => h.close());

  async function definition(name: string, resource: string, command: string[]): Promise<void> {
    await h.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: name,
        type: 'container',
        consumableResourceProperties: { consumableResourceList: [{ consumableResource: resource, quantity: 1 }] },
        containerProperties: { image: 'busybox', command, resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
      }),
    );
  }

  test('a license held by one job is not given to another until it ends', async () => {
    await h.client.send(new CreateConsumableResourceCommand({ consumableResourceName: 'license', totalQuantity: 1, resourceType: 'REPLENISHABLE' }));
    await definition('licensed', 'license', ['sleep', '5']);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await h.submit({ jobQueue: 'q', jobDefinition: 'licensed' }));
    await h.status(ids[0], ['RUNNING']);
    const during = await h.client.send(new DescribeConsumableResourceCommand({ consumableResource: 'license' }));
    assert.equal(during.inUseQuantity, 1);
    assert.equal(during.availableQuantity, 0);
    const jobs = [];
    for (const id of ids) jobs.push(await h.status(id, ['SUCCEEDED', 'FAILED']));
    jobs.sort((a, b) => a.startedAt! - b.startedAt!);
    for (let i = 1; i < jobs.length; i++) assert.ok(jobs[i].startedAt! >= jobs[i - 1].stoppedAt!, 'two jobs held the single license at once');
    const listed = await h.client.send(new ListJobsByConsumableResourceCommand({ consumableResource: 'license' }));
    assert.deepEqual(listed.jobs?.map((j) => j.jobArn?.split('/').pop()).sort(), [...ids].sort());
    assert.equal((await h.client.send(new DescribeConsumableResourceCommand({ consumableResource: 'license' }))).inUseQuantity, 0);
  });

  test('a NON_REPLENISHABLE resource is used up, and the job that finds none left waits with a RESOURCE reason', async () => {
    await h.client.send(new CreateConsumableResourceCommand({ consumableResourceName: 'tokens', totalQuantity: 2, resourceType: 'NON_REPLENISHABLE' }));
    await definition('spender', 'tokens', ['true']);
    const a = await h.submit({ jobQueue: 'q', jobDefinition: 'spender' });
    await h.status(a, ['SUCCEEDED']);
    const b = await h.submit({ jobQueue: 'q', jobDefinition: 'spender' });
    await h.status(b, ['SUCCEEDED']);
    const c = await h.submit({ jobQueue: 'q', jobDefinition: 'spender' });
    await h.until(async () => (await h.job(c)).statusReason !== undefined);
    assert.deepEqual([(await h.job(c)).status, (await h.job(c)).statusReason?.startsWith('RESOURCE:')], ['RUNNABLE', true]);
    assert.equal((await h.client.send(new DescribeConsumableResourceCommand({ consumableResource: 'tokens' }))).totalQuantity, 0);
  });

  test('a job naming a consumable resource that does not exist is refused at submission', async () => {
    await definition('ghostly', 'ghost', ['true']);
    await assert.rejects(h.submit({ jobQueue: 'q', jobDefinition: 'ghostly' }), (e: Error) => e.name === 'ClientException' && /ghost/.test(e.message));
  });
});
