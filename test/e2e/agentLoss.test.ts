/**
 * kill -9 of an agent: its attempt fails with the host-terminated reason and is retried on a
 * new instance, and the killed agent's job process does not live on beside the retry.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { RegisterJobDefinitionCommand } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, submit, waitForStatus } from '../helpers/fixtures.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(async () => t.close());

function running(marker: string): boolean {
  try {
    execFileSync('pgrep', ['-f', marker]);
    return true;
  } catch {
    return false;
  }
}

test('an attempt on a killed agent is retried elsewhere and never runs twice at once', async () => {
  await createCe(t.client, 'ce', { maxvCpus: 1 });
  await createQueue(t.client, 'q', ['ce']);
  const marker = `sleep 297.${process.pid}`;
  await t.client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: 'spot-like',
      type: 'container',
      retryStrategy: { attempts: 2, evaluateOnExit: [{ onStatusReason: 'Host EC2*', action: 'RETRY' }, { onReason: '*', action: 'EXIT' }] },
      containerProperties: {
        image: 'busybox',
        command: ['sh', '-c', `if [ "$AWS_BATCH_JOB_ATTEMPT" = 1 ]; then ${marker}; fi; echo retried`],
        resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }],
      },
    }),
  );
  const id = await submit(t.client, { jobQueue: 'q', jobDefinition: 'spot-like' });
  const runningJob = await waitForStatus(t.client, id, ['RUNNING']);
  const instanceId = runningJob.container!.containerInstanceArn!.split('/').pop()!;
  const { provider_data } = await t.server.services.db.selectFrom('instances').select('provider_data').where('id', '=', instanceId).executeTakeFirstOrThrow();
  for (let i = 0; i < 100 && !running(marker); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(running(marker));
  process.kill((JSON.parse(provider_data) as { pid: number }).pid, 'SIGKILL');

  const job = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED']);
  assert.equal(job.status, 'SUCCEEDED', job.statusReason);
  assert.equal(job.attempts?.length, 2);
  assert.equal(job.attempts?.[0].statusReason, `Host EC2 (instance ${instanceId}) terminated.`);
  assert.notEqual(job.attempts?.[1].container?.containerInstanceArn, runningJob.container?.containerInstanceArn);
  assert.equal(running(marker), false, "the killed agent's job is still running beside its retry");
});
