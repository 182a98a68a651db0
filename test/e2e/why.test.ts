/**
 * Why-pending through the real SDK and the real CLI: a job that can never fit says so at
 * once with the numbers, a job behind five others is sixth, a dependent job names what it
 * waits on.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { CreateConsumableResourceCommand, RegisterJobDefinitionCommand, TerminateJobCommand } from '@aws-sdk/client-batch';
import type { WhyReport } from '../../src/scheduler/why.js';
import { CLI, startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

const run = promisify(execFile);

describe('openbatch why', () => {
  let t: TestServer;
  const why = async (jobId: string, ...flags: string[]) => {
    const env = { ...process.env, OPENBATCH_ENDPOINT: t.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
    return (await run(process.execPath, [CLI, 'why', ...(jobId ? [jobId] : []), ...flags], { env })).stdout;
  };
  const whyJson = async (jobId: string) => JSON.parse(await why(jobId, '--json')) as WhyReport;
  /** Polls until the scheduler has given the job a reason of its own. */
  const untilCode = async (jobId: string, code: string) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await whyJson(jobId);
      if (r.code === code) return r;
      if (Date.now() > deadline) throw new Error(`job ${jobId} never got ${code}; last: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  };

  before(async () => {
    t = await startTestServer({ hostVcpus: 2, hostMemoryMiB: 4096, terminateGraceSeconds: 1 });
    await createCe(t.client, 'one', { maxvCpus: 1 });
    await createQueue(t.client, 'busy', ['one']);
    await registerDefinition(t.client, 'sleeper', { command: ['sleep', '60'] });
    await registerDefinition(t.client, 'quick', { command: ['true'] });
    await registerDefinition(t.client, 'huge', { command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '100000' }] });
  });
  after(async () => t.close());

  test('a job asking for more memory than any instance gets the never-fits reason at once, with the numbers', async () => {
    const id = await submit(t.client, { jobQueue: 'busy', jobDefinition: 'huge' });
    const r = await untilCode(id, 'NEVER_FITS');
    assert.equal(r.status, 'RUNNABLE');
    assert.match(r.statusReason ?? '', /^MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT/);
    assert.equal(r.need?.memoryMiB, 100000);
    assert.equal(r.computeEnvironments?.[0].largest?.memoryMiB, 4096);
    const text = await why(id);
    assert.match(text, /reason\s+NEVER_FITS/);
    assert.match(text, /asks 1 vCPU, 100000 MiB/);
    assert.match(text, /largest instance 1 vCPU, 4096 MiB/);
    assert.equal(r.position, undefined, 'a job that never fits holds no place in the queue');
    assert.doesNotMatch(text, /position/);
    assert.equal((await waitForStatus(t.client, id, ['RUNNABLE'])).statusReason, r.statusReason, 'DescribeJobs carries the same statusReason');
  });

  test('a job needing more units of a consumable than the resource has in all says it cannot start until that changes, and what to do', async () => {
    await t.client.send(new CreateConsumableResourceCommand({ consumableResourceName: 'seat', totalQuantity: 1, resourceType: 'REPLENISHABLE' }));
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'two-seats',
        type: 'container',
        containerProperties: { image: 'busybox', command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
        consumableResourceProperties: { consumableResourceList: [{ consumableResource: 'seat', quantity: 2 }] },
      }),
    );
    const id = await submit(t.client, { jobQueue: 'busy', jobDefinition: 'two-seats' });
    const r = await untilCode(id, 'NO_CONSUMABLE');
    // AWS's statusReason: it waits RUNNABLE for the resource, as AWS has it wait
    assert.match(r.statusReason ?? '', /^RESOURCE:CONSUMABLE_RESOURCE/);
    assert.deepEqual(r.consumables, [{ name: 'seat', needed: 2, available: 1, total: 1 }]);
    assert.equal(r.summary, 'blocked by consumable seat (needs 2, its totalQuantity is 1): it cannot start until that changes');
    assert.equal(r.hint, "raise the resource's totalQuantity (aws batch update-consumable-resource --consumable-resource seat --operation SET --quantity 2), or cancel the job");
    await t.client.send(new TerminateJobCommand({ jobId: id, reason: 'test over' }));
  });

  test('a job behind five others reports position 6; a dependent job names its dependency', async () => {
    const blocker = await submit(t.client, { jobQueue: 'busy', jobDefinition: 'sleeper', jobName: 'blocker' });
    await waitForStatus(t.client, blocker, ['RUNNING'], 60_000);
    const queued: string[] = [];
    for (let i = 0; i < 6; i++) queued.push(await submit(t.client, { jobQueue: 'busy', jobDefinition: 'quick', jobName: `q${i}` }));
    const dependent = await submit(t.client, { jobQueue: 'busy', jobDefinition: 'quick', dependsOn: [{ jobId: blocker }] });

    const sixth = await untilCode(queued[5], 'NO_CAPACITY');
    assert.equal(sixth.position, 6);
    assert.equal(sixth.jobsAhead, 5);
    assert.equal(sixth.statusReason, null, 'waiting for capacity carries no statusReason: it is never failed for it');
    assert.match(await why(queued[5]), /position\s+6 \(5 ahead\)/);
    assert.equal((await whyJson(queued[0])).position, 1);

    const listed = await why('', '--queue', 'busy');
    assert.match(listed, new RegExp(`\\s6  ${queued[5]}  q5\\s+NO_CAPACITY`));
    assert.match(listed, /-  \S+\s+\S+\s+NEVER_FITS/, 'a job that never fits has no position');

    const dep = await whyJson(dependent);
    assert.equal(dep.code, 'DEPENDENCY');
    assert.deepEqual(dep.dependencies?.map((d) => [d.jobId, d.status]), [[blocker, 'RUNNING']]);
    assert.match(await why(dependent), new RegExp(`waiting on dependency: ${blocker} \\(RUNNING\\)`));

    await t.client.send(new TerminateJobCommand({ jobId: blocker, reason: 'test over' }));
    for (const id of queued) assert.equal((await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'SUCCEEDED');
    const done = await whyJson(queued[5]);
    assert.equal(done.code, 'SUCCEEDED');
  });

  test('why of a job that does not exist is a ClientException naming it', async () => {
    await assert.rejects(why('no-such-job'), (e: Error & { stderr?: string }) => /jobId 'no-such-job' does not exist/.test(e.stderr ?? ''));
  });
});
