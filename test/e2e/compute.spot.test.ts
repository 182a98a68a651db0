/**
 * Spot: an interruption on command (CLI and HTTP endpoint) ends the instance after its notice,
 * the attempt fails with AWS's host-terminated reason, a rule for that reason retries the job
 * on a new instance, and it completes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { RegisterJobDefinitionCommand } from '@aws-sdk/client-batch';
import type { InstanceView } from '../../src/api/instances.js';
import { connect } from '../../src/cli/client.js';
import { CLI, startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, submit, waitForStatus } from '../helpers/fixtures.js';

const run = promisify(execFile);
let t: TestServer;
before(async () => {
  // A one-second notice; no chaos (interruptions only on command).
  t = await startTestServer({ spotNoticeSeconds: 1, spotInterruptionsPerHour: 0 });
});
after(async () => t.close());

async function instances(query: Record<string, string | string[]> = {}): Promise<InstanceView[]> {
  const c = connect({ endpoint: t.url });
  try {
    return (await c.openbatchHttp<{ instances: InstanceView[] }>('GET', '/openbatch/v1/instances', query)).instances;
  } finally {
    c.close();
  }
}

test('a Spot interruption mid-job fails the attempt as AWS does; the job is retried on a new instance and succeeds', async () => {
  await createCe(t.client, 'spot', { type: 'SPOT', maxvCpus: 2 });
  await createQueue(t.client, 'spot-q', ['spot']);
  await t.client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: 'interruptible',
      type: 'container',
      retryStrategy: { attempts: 3, evaluateOnExit: [{ onStatusReason: 'Host EC2*', action: 'RETRY' }, { onReason: '*', action: 'EXIT' }] },
      containerProperties: {
        image: 'busybox',
        command: ['sh', '-c', 'if [ "$AWS_BATCH_JOB_ATTEMPT" = 1 ]; then sleep 300; fi; echo done'],
        resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '128' }],
      },
    }),
  );
  const id = await submit(t.client, { jobQueue: 'spot-q', jobDefinition: 'interruptible' });
  const first = await waitForStatus(t.client, id, ['RUNNING'], 60_000);
  const instanceId = first.container!.containerInstanceArn!.split('/').pop()!;

  const { stdout } = await run(process.execPath, [CLI, 'instances', 'interrupt', instanceId, '--endpoint', t.url]);
  assert.match(stdout, new RegExp(`instance ${instanceId} interrupted`));

  const job = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 90_000);
  assert.equal(job.status, 'SUCCEEDED', job.statusReason);
  assert.equal(job.attempts?.length, 2);
  assert.equal(job.attempts?.[0].statusReason, `Host EC2 (instance ${instanceId}) terminated.`);
  assert.notEqual(job.attempts?.[1].container?.containerInstanceArn, first.container?.containerInstanceArn, 'the retry ran on a new instance');

  const all = await instances({ computeEnvironment: 'spot', state: ['ACTIVE', 'LAUNCHING', 'TERMINATING', 'TERMINATED'] });
  const gone = all.find((i) => i.instanceId === instanceId)!;
  assert.equal(gone.state, 'TERMINATED');
  assert.equal(gone.terminationReason, 'Spot interruption');
  assert.ok(gone.terminatedAt! >= gone.interruptionAt! - 1_000, 'terminated when its notice ended');
  assert.ok(all.some((i) => i.instanceId !== instanceId && i.instanceType === gone.instanceType), 'a replacement of the same type was launched');

  // The CLI's table shows the reason too.
  const table = (await run(process.execPath, [CLI, 'instances', '--all', '--ce', 'spot', '--endpoint', t.url])).stdout;
  assert.match(table, new RegExp(`${instanceId}.*TERMINATED.*Spot interruption`));
});

test('only SPOT and FARGATE_SPOT instances can be interrupted', async () => {
  await createCe(t.client, 'ondemand', { maxvCpus: 2 });
  await createQueue(t.client, 'ondemand-q', ['ondemand']);
  await t.client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: 'short',
      type: 'container',
      containerProperties: { image: 'busybox', command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
    }),
  );
  await waitForStatus(t.client, await submit(t.client, { jobQueue: 'ondemand-q', jobDefinition: 'short' }), ['SUCCEEDED'], 60_000);
  const [inst] = await instances({ computeEnvironment: 'ondemand' });
  const c = connect({ endpoint: t.url });
  try {
    await assert.rejects(c.openbatchHttp('POST', `/openbatch/v1/instances/${inst.instanceId}/interrupt`), /EC2 compute environment 'ondemand': only SPOT and FARGATE_SPOT instances are interrupted/);
    await assert.rejects(c.openbatchHttp('POST', '/openbatch/v1/instances/i-00000000000000000/interrupt'), /does not exist/);
    await assert.rejects(c.openbatchHttp('GET', '/openbatch/v1/instances', { state: 'RUNNING' }), /state 'RUNNING' is not an instance state/);
  } finally {
    c.close();
  }
});
