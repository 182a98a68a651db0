/**
 * Scaling of MANAGED compute environments under a dilated clock (timeDilation 60: a minute
 * of scale-down delay passes in a second): minvCpus stays launched, RUNNABLE demand launches
 * instances up to maxvCpus and no further, desiredvCpus says what is launched, idle
 * instances go after the delay but never below minvCpus. And Spot chaos: at a configured
 * rate, with no command, SPOT instances are interrupted and a job with a rule for AWS's
 * host-terminated reason is retried until it completes; EC2 instances are never touched.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateComputeEnvironmentCommand, DescribeComputeEnvironmentsCommand, RegisterJobDefinitionCommand } from '@aws-sdk/client-batch';
import type { InstanceView } from '../../src/api/instances.js';
import { connect } from '../../src/cli/client.js';
import { sharedDir, startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, eventually, submit, waitForStatus } from '../helpers/fixtures.js';

async function instances(t: TestServer, query: Record<string, string | string[]>): Promise<InstanceView[]> {
  const c = connect({ endpoint: t.url });
  try {
    return (await c.openbatchHttp<{ instances: InstanceView[] }>('GET', '/openbatch/v1/instances', query)).instances;
  } finally {
    c.close();
  }
}

async function desiredvCpus(t: TestServer, ce: string): Promise<number | undefined> {
  const res = await t.client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: [ce] }));
  return res.computeEnvironments?.[0]?.computeResources?.desiredvCpus;
}

describe('scaling with demand, within minvCpus..maxvCpus', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ hostVcpus: 8, timeDilation: 60, scaleDownDelaySeconds: 60, terminateGraceSeconds: 1 });
  });
  after(async () => t.close());

  test('minvCpus stays up, demand scales up to maxvCpus and no further, idle instances go down to minvCpus', async () => {
    await t.client.send(
      new CreateComputeEnvironmentCommand({
        computeEnvironmentName: 'elastic',
        type: 'MANAGED',
        // c5.large: 2 vCPUs, 4 GiB. minvCpus 1 keeps one of them; maxvCpus 4 allows two.
        computeResources: { type: 'EC2', minvCpus: 1, maxvCpus: 4, instanceTypes: ['c5.large'], subnets: ['subnet-1'], instanceRole: 'ecsInstanceRole' },
      }),
    );
    await createQueue(t.client, 'elastic-q', ['elastic']);
    const live = () => instances(t, { computeEnvironment: 'elastic', state: ['PENDING', 'LAUNCHING', 'ACTIVE', 'TERMINATING'] });

    // With no job at all, minvCpus is launched.
    const [first] = await eventually('the minvCpus instance', async () => {
      const l = await live();
      return l.length === 1 && l[0].state === 'ACTIVE' ? l : undefined;
    });
    assert.equal(first.instanceType, 'c5.large');
    assert.deepEqual(first.capacity, { vcpus: 2, memoryMiB: 4096, gpus: 0 });
    assert.equal(await desiredvCpus(t, 'elastic'), 2);

    // Five 1-vCPU jobs held by a gate: four fit in maxvCpus, the fifth waits.
    const gate = join(sharedDir('openbatch-scaling-'), 'open');
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'held',
        type: 'container',
        containerProperties: {
          image: 'busybox',
          command: ['sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.2; done`],
          resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }],
        },
      }),
    );
    const jobs = await Promise.all([1, 2, 3, 4, 5].map(() => submit(t.client, { jobQueue: 'elastic-q', jobDefinition: 'held' })));
    const running = await eventually('four jobs RUNNING on two instances', async () => {
      const l = await live();
      const states = await Promise.all(jobs.map((id) => waitForStatus(t.client, id, ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING'])));
      const r = states.filter((j) => j.status === 'RUNNING');
      return r.length === 4 && l.length === 2 ? r : undefined;
    });
    assert.equal(new Set(running.map((j) => j.container!.containerInstanceArn)).size, 2, 'the jobs run on two instances');
    assert.equal(await desiredvCpus(t, 'elastic'), 4);
    const atMax = await live();
    assert.ok(atMax.every((i) => i.instanceType === 'c5.large' && i.used.jobs === 2), JSON.stringify(atMax.map((i) => i.used)));
    // The fifth job waits for a free vCPU: maxvCpus allows no third instance.
    const waiting = jobs.find((id) => !running.some((j) => j.jobId === id))!;
    assert.equal((await waitForStatus(t.client, waiting, ['RUNNABLE'])).status, 'RUNNABLE');
    assert.equal((await live()).length, 2);

    writeFileSync(gate, '');
    for (const id of jobs) assert.equal((await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'SUCCEEDED');

    // Idle for the (dilated) minute: one instance goes, the one minvCpus needs stays.
    const [kept] = await eventually('scale-down to minvCpus', async () => {
      const l = await live();
      return l.length === 1 && l[0].state === 'ACTIVE' ? l : undefined;
    });
    assert.equal(await desiredvCpus(t, 'elastic'), 2);
    const ended = await instances(t, { computeEnvironment: 'elastic', state: 'TERMINATED' });
    assert.deepEqual(
      ended.map((i) => i.terminationReason),
      ['scaled down: idle'],
    );
    // Several more dilated minutes later it is still there: never below minvCpus.
    await new Promise((r) => setTimeout(r, 3_000));
    assert.deepEqual((await live()).map((i) => i.instanceId), [kept.instanceId]);
  });
});

describe('Spot chaos', () => {
  let t: TestServer;
  before(async () => {
    // 20 interruptions per instance per (dilated) hour: about one every 3 s of real time; 1 s of notice.
    t = await startTestServer({ hostVcpus: 8, timeDilation: 60, spotInterruptionsPerHour: 20, spotNoticeSeconds: 60, scaleDownDelaySeconds: 3600 });
  });
  after(async () => t.close());

  test('SPOT instances are interrupted at the configured rate; jobs retried on the host-terminated reason complete; EC2 is spared', async () => {
    await createCe(t.client, 'spot', { type: 'SPOT', maxvCpus: 2 });
    await createCe(t.client, 'ondemand', { maxvCpus: 1 });
    await createQueue(t.client, 'spot-q', ['spot']);
    await createQueue(t.client, 'ondemand-q', ['ondemand']);
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'until-interrupted',
        type: 'container',
        // A first attempt that only an interruption ends; later attempts finish at once.
        retryStrategy: { attempts: 10, evaluateOnExit: [{ onStatusReason: 'Host EC2*', action: 'RETRY' }, { onReason: '*', action: 'EXIT' }] },
        containerProperties: {
          image: 'busybox',
          command: ['sh', '-c', 'if [ "$AWS_BATCH_JOB_ATTEMPT" = 1 ]; then sleep 600; fi; echo done'],
          resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }],
        },
      }),
    );
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'steady',
        type: 'container',
        containerProperties: { image: 'busybox', command: ['sleep', '8'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
      }),
    );
    const onDemand = await submit(t.client, { jobQueue: 'ondemand-q', jobDefinition: 'steady' });
    const spotJobs = await Promise.all([1, 2].map(() => submit(t.client, { jobQueue: 'spot-q', jobDefinition: 'until-interrupted' })));
    for (const id of spotJobs) {
      const job = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 120_000);
      assert.equal(job.status, 'SUCCEEDED', job.statusReason);
      assert.ok(job.attempts!.length >= 2);
      for (const a of job.attempts!.slice(0, -1)) assert.match(a.statusReason ?? '', /^Host EC2 \(instance i-[0-9a-f]+\) terminated\.$/);
    }
    const ended = await instances(t, { computeEnvironment: 'spot', state: 'TERMINATED' });
    assert.ok(ended.length >= 1 && ended.every((i) => i.terminationReason === 'Spot interruption'), JSON.stringify(ended.map((i) => i.terminationReason)));

    const steady = await waitForStatus(t.client, onDemand, ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(steady.status, 'SUCCEEDED', steady.statusReason);
    assert.equal(steady.attempts!.length, 1);
    assert.deepEqual(await instances(t, { computeEnvironment: 'ondemand', state: 'TERMINATED' }), []);
  });
});
