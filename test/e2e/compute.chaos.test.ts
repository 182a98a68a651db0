/**
 * Agent-loss and slow-start chaos (Spot chaos: compute.scaling.test.ts), on a server whose
 * clock runs ×60 and whose chaos draws come from a random source the test scripts, so what
 * happens is decided, not hoped for:
 *   - an agent lost to chaos (SIGKILL of the agent process, as a host that dies) fails its
 *     running attempt with the host-terminated reason, the job's evaluateOnExit retries it on
 *     a new instance and it succeeds, and the cost report counts the lost attempt as work lost;
 *   - a slow start keeps the instance PENDING for the configured (dilated) delay: it is ready
 *     only after it, and its job starts only then; an instance drawn on time is not delayed;
 *     meanwhile why-pending estimates the job's start from the scale-up in progress.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { RegisterJobDefinitionCommand } from '@aws-sdk/client-batch';
import type { InstanceView } from '../../src/api/instances.js';
import { connect } from '../../src/cli/client.js';
import { CLI, startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, submit, waitForStatus } from '../helpers/fixtures.js';

const run = promisify(execFile);
const ALL_STATES = ['PENDING', 'LAUNCHING', 'ACTIVE', 'TERMINATING', 'TERMINATED'];

async function instances(t: TestServer, ce: string): Promise<InstanceView[]> {
  const c = connect({ endpoint: t.url });
  try {
    return (await c.openbatchHttp<{ instances: InstanceView[] }>('GET', '/openbatch/v1/instances', { computeEnvironment: ce, state: ALL_STATES })).instances;
  } finally {
    c.close();
  }
}

describe('agent-loss chaos', () => {
  let t: TestServer;
  // Every draw spares every agent, except the one draw after `loseNext` is set.
  let loseNext = false;
  const random = () => {
    if (!loseNext) return 0.999999;
    loseNext = false;
    return 0;
  };
  before(async () => {
    t = await startTestServer({ timeDilation: 60, agentLossesPerHour: 6, scaleDownDelaySeconds: 3600 }, { random });
  });
  after(async () => t.close());

  test('an agent lost to chaos fails its attempt as a host loss; evaluateOnExit retries it and the job succeeds', async () => {
    await createCe(t.client, 'ce', { maxvCpus: 1 });
    await createQueue(t.client, 'q', ['ce']);
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'until-lost',
        type: 'container',
        // A first attempt that only the loss of its host ends; the retry finishes at once.
        retryStrategy: { attempts: 3, evaluateOnExit: [{ onStatusReason: 'Host EC2*', action: 'RETRY' }, { onReason: '*', action: 'EXIT' }] },
        containerProperties: {
          image: 'busybox',
          command: ['sh', '-c', 'if [ "$AWS_BATCH_JOB_ATTEMPT" = 1 ]; then sleep 600; fi; echo done'],
          resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }],
        },
      }),
    );
    const id = await submit(t.client, { jobQueue: 'q', jobDefinition: 'until-lost' });
    const first = await waitForStatus(t.client, id, ['RUNNING'], 60_000);
    const lost = first.container!.containerInstanceArn!.split('/').pop()!;
    loseNext = true;

    const job = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 90_000);
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    assert.equal(job.attempts?.length, 2);
    assert.equal(job.attempts?.[0].statusReason, `Host EC2 (instance ${lost}) terminated.`);
    assert.notEqual(job.attempts?.[1].container?.containerInstanceArn, first.container?.containerInstanceArn, 'the retry ran on a new instance');

    const all = await instances(t, 'ce');
    const gone = all.find((i) => i.instanceId === lost)!;
    assert.equal(gone.state, 'TERMINATED');
    assert.equal(gone.terminationReason, 'agent lost: killed by chaos');
    assert.equal(all.filter((i) => i.state === 'TERMINATED').length, 1, 'one draw, one loss');

    // The cost report counts the lost attempt as work lost, as for a Spot interruption.
    const cost = JSON.parse((await run(process.execPath, [CLI, 'cost', '--job', id, '--json', '--endpoint', t.url])).stdout) as { total: { attempts: number; lostAttempts: number } };
    assert.equal(cost.total.attempts, 2);
    assert.equal(cost.total.lostAttempts, 1);
  });
});

describe('slow-start chaos', () => {
  let t: TestServer;
  // Launches draw in turn: the first instance boots on time, the second late.
  const draws = [0.9, 0.1];
  before(async () => {
    // Half of the instances boot 300 s (5 s of real time at ×60) late.
    t = await startTestServer({ timeDilation: 60, slowStartProbability: 0.5, slowStartSeconds: 300, scaleDownDelaySeconds: 3600 }, { random: () => draws.shift() ?? 0.9 });
  });
  after(async () => t.close());

  test('a slow-starting instance stays PENDING for the dilated delay and its job starts only once it is ready', async () => {
    for (const name of ['first', 'second']) {
      await createCe(t.client, name, { maxvCpus: 1 });
      await createQueue(t.client, `${name}-q`, [name]);
    }
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'quick',
        type: 'container',
        containerProperties: { image: 'busybox', command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
      }),
    );

    const onTime = await submit(t.client, { jobQueue: 'first-q', jobDefinition: 'quick' });
    assert.equal((await waitForStatus(t.client, onTime, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'SUCCEEDED');
    const [fast] = await instances(t, 'first');
    assert.equal(fast.slowStartMs, undefined);

    const late = await submit(t.client, { jobQueue: 'second-q', jobDefinition: 'quick' });
    let booting: InstanceView | undefined;
    for (let i = 0; i < 200 && !booting; i++) {
      booting = (await instances(t, 'second'))[0];
      if (!booting) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(booting, 'an instance was launched for the second job');
    assert.equal(booting.state, 'PENDING');
    assert.equal(booting.slowStartMs, 5_000);
    assert.equal(booting.readyAt, null);
    const table = (await run(process.execPath, [CLI, 'instances', '--ce', 'second', '--endpoint', t.url])).stdout;
    assert.match(table, new RegExp(`${booting.instanceId}.*PENDING \\(slow start\\)`));
    // Why-pending says capacity is launching for it, and estimates from the launch and the first instance's boot.
    const why = JSON.parse((await run(process.execPath, [CLI, 'why', late, '--json', '--endpoint', t.url])).stdout) as { code: string; eta?: { basis: string } };
    assert.equal(why.code, 'NO_CAPACITY');
    assert.equal(why.eta?.basis, 'launch');

    const job = await waitForStatus(t.client, late, ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    const [slow] = await instances(t, 'second');
    assert.equal(slow.instanceId, booting.instanceId);
    assert.ok(slow.readyAt! - slow.launchedAt >= 5_000, `ready ${slow.readyAt! - slow.launchedAt} ms after launch`);
    assert.ok(job.attempts![0].startedAt! >= slow.readyAt!, 'the job started once its instance was ready');
    // The on-time instance was ready without the delay (it took only its agent's start).
    assert.ok(fast.readyAt !== null && fast.readyAt >= fast.launchedAt);
  });

  test('Fargate tasks booting late do not hold back the tasks of jobs that came after them', async () => {
    await createCe(t.client, 'tasks', { type: 'FARGATE', maxvCpus: 2 });
    await createQueue(t.client, 'tasks-q', ['tasks']);
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'task',
        type: 'container',
        platformCapabilities: ['FARGATE'],
        containerProperties: {
          image: 'busybox',
          command: ['true'],
          executionRoleArn: 'arn:aws:iam::000000000000:role/ecsTaskExecutionRole',
          resourceRequirements: [{ type: 'VCPU', value: '0.25' }, { type: 'MEMORY', value: '512' }],
        },
      }),
    );
    draws.push(0.1, 0.1); // both tasks boot late
    const one = await submit(t.client, { jobQueue: 'tasks-q', jobDefinition: 'task' });
    let first: InstanceView | undefined;
    for (let i = 0; i < 200 && !first; i++) {
      first = (await instances(t, 'tasks'))[0];
      if (!first) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(first?.state, 'PENDING');
    const two = await submit(t.client, { jobQueue: 'tasks-q', jobDefinition: 'task' });
    for (const id of [one, two]) assert.equal((await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'SUCCEEDED');

    const tasks = (await instances(t, 'tasks')).sort((a, b) => a.launchedAt - b.launchedAt);
    assert.equal(tasks.length, 2, `one task per job, none launched twice for the same job: ${JSON.stringify(tasks)}`);
    assert.ok(tasks.every((i) => i.slowStartMs === 5_000));
    assert.ok(tasks[1].launchedAt < tasks[0].launchedAt + tasks[0].slowStartMs!, 'the second task was launched while the first was still delayed');
  });
});
