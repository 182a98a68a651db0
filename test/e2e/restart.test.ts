/**
 * A server killed at any moment loses nothing it accepted: objects and jobs survive, attempts
 * lost with the server fail with a clear reason and are retried as their strategy allows.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { DescribeComputeEnvironmentsCommand, DescribeJobDefinitionsCommand, DescribeJobQueuesCommand, RegisterJobDefinitionCommand } from '@aws-sdk/client-batch';
import { batchClient, spawnServer, tempDir, type ServerProcess } from '../helpers/server.js';
import { createCe, createQueue, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

const dataDir = tempDir();
let server: ServerProcess | undefined;
after(async () => {
  await server?.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

function processesWith(marker: string): number {
  try {
    return execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

test('SIGKILL of the server: everything accepted survives and lost attempts are retried', async () => {
  server = await spawnServer(dataDir);
  let client = batchClient(server.url);
  await createCe(client, 'local', { maxvCpus: 1 });
  await createQueue(client, 'q', ['local']);
  await registerDefinition(client, 'quick', { command: ['echo', 'done'] });
  // A unique sleep duration marks the job's processes, so pgrep can tell if any outlived the server.
  const marker = `sleep 299.${process.pid}`;
  // The first attempt blocks until killed; the retry succeeds at once.
  await client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: 'slow-then-ok',
      type: 'container',
      retryStrategy: { attempts: 2 },
      containerProperties: {
        image: 'busybox',
        command: ['sh', '-c', `if [ "$AWS_BATCH_JOB_ATTEMPT" = 1 ]; then ${marker}; fi; echo second attempt`],
        resourceRequirements: [
          { type: 'VCPU', value: '1' },
          { type: 'MEMORY', value: '64' },
        ],
      },
    }),
  );
  await registerDefinition(client, 'slow-once', { command: marker.split(' ') });
  const quick = await submit(client, { jobQueue: 'q', jobDefinition: 'quick' });
  await waitForStatus(client, quick, ['SUCCEEDED']);
  const retried = await submit(client, { jobQueue: 'q', jobDefinition: 'slow-then-ok' });
  await waitForStatus(client, retried, ['RUNNING']);
  // Queued behind the running job on the 1-vCPU environment: accepted, not yet started.
  const queued = await submit(client, { jobQueue: 'q', jobDefinition: 'slow-once', containerOverrides: { command: ['echo', 'queued ran'] } });
  const lost = await submit(client, { jobQueue: 'q', jobDefinition: 'quick' });

  await server.kill('SIGKILL');
  client.destroy();
  // The agent dies with its server and takes its jobs with it: no orphan keeps running.
  for (let i = 0; i < 100 && processesWith(marker) > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(processesWith(marker), 0, 'a job process outlived its killed server');

  server = await spawnServer(dataDir);
  client = batchClient(server.url);
  const ces = await client.send(new DescribeComputeEnvironmentsCommand({}));
  assert.deepEqual(ces.computeEnvironments?.map((c) => c.computeEnvironmentName), ['local']);
  const queues = await client.send(new DescribeJobQueuesCommand({}));
  assert.deepEqual(queues.jobQueues?.map((q) => q.jobQueueName), ['q']);
  const defs = await client.send(new DescribeJobDefinitionsCommand({}));
  assert.equal(defs.jobDefinitions?.length, 3);

  assert.equal((await waitForStatus(client, quick, ['SUCCEEDED'])).status, 'SUCCEEDED');
  const r = await waitForStatus(client, retried, ['SUCCEEDED', 'FAILED']);
  assert.equal(r.status, 'SUCCEEDED', r.statusReason);
  assert.equal(r.attempts?.length, 2);
  assert.match(r.attempts?.[0].statusReason ?? '', /control plane restarted/);
  assert.equal((await waitForStatus(client, queued, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
  assert.equal((await waitForStatus(client, lost, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
  client.destroy();
});
