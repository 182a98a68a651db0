/**
 * Instance types through the API: what a CE's instanceTypes and allocation strategy launch,
 * what they refuse, and the never-fits reason for a job no allowed type can hold.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateComputeEnvironmentCommand, RegisterJobDefinitionCommand } from '@aws-sdk/client-batch';
import type { InstanceView } from '../../src/api/instances.js';
import { connect } from '../../src/cli/client.js';
import { WAIT_REASONS } from '../../src/model/reasons.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createQueue, submit, waitForStatus } from '../helpers/fixtures.js';

let t: TestServer;
before(async () => {
  t = await startTestServer({ hostVcpus: 2, hostMemoryMiB: 16_384 });
});
after(async () => t.close());

const ce = (name: string, instanceTypes: string[], allocationStrategy?: 'BEST_FIT' | 'BEST_FIT_PROGRESSIVE') =>
  t.client.send(
    new CreateComputeEnvironmentCommand({
      computeEnvironmentName: name,
      type: 'MANAGED',
      computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 2, instanceTypes, allocationStrategy, subnets: [], instanceRole: 'ecsInstanceRole' },
    }),
  );

const definition = (name: string, memory: string) =>
  t.client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: name,
      type: 'container',
      containerProperties: { image: 'busybox', command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: memory }] },
    }),
  );

test('a CE launches the type its strategy picks, with that type capacity', async () => {
  await ce('mem', ['r5', 'c5'], 'BEST_FIT_PROGRESSIVE');
  await createQueue(t.client, 'mem-q', ['mem']);
  await definition('big-memory', '12000');
  const job = await waitForStatus(t.client, await submit(t.client, { jobQueue: 'mem-q', jobDefinition: 'big-memory' }), ['SUCCEEDED', 'FAILED'], 60_000);
  assert.equal(job.status, 'SUCCEEDED', job.statusReason);
  const c = connect({ endpoint: t.url });
  try {
    const { instances } = await c.openbatchHttp<{ instances: InstanceView[] }>('GET', '/openbatch/v1/instances', { computeEnvironment: 'mem', state: ['LAUNCHING', 'ACTIVE', 'TERMINATING', 'TERMINATED'] });
    assert.equal(instances[0].instanceType, 'r5.large');
    assert.deepEqual(instances[0].capacity, { vcpus: 2, memoryMiB: 16_384, gpus: 0 });
    assert.equal(instances[0].capped, false);
  } finally {
    c.close();
  }
});

test('a job larger than every allowed type gets the never-fits reason', async () => {
  await ce('small', ['c5.large']);
  await createQueue(t.client, 'small-q', ['small']);
  await definition('too-big', '6000');
  const job = await waitForStatus(t.client, await submit(t.client, { jobQueue: 'small-q', jobDefinition: 'too-big' }), ['RUNNABLE'], 30_000);
  for (let i = 0; i < 100 && (await waitForStatus(t.client, job.jobId!, ['RUNNABLE'])).statusReason !== WAIT_REASONS.neverFits; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal((await waitForStatus(t.client, job.jobId!, ['RUNNABLE'])).statusReason, WAIT_REASONS.neverFits);
});

test('unknown instance types are refused by name', async () => {
  await assert.rejects(ce('bad', ['m5.medium']), /computeResources.instanceTypes\[0\] 'm5.medium' is not a size of the m5 family/);
  await assert.rejects(ce('bad', ['optimal', 'quantum1']), /computeResources.instanceTypes\[1\] 'quantum1' is not an instance type openbatch knows/);
});
