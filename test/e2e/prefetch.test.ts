/**
 * A compute environment tagged `openbatch:prefetch=N`: each instance's agent holds up to N
 * jobs STARTING beyond what it has room to run, and starts each as soon as room frees. What
 * a user relies on: never more running at once than the instance holds, never more STARTING
 * than the tag allows, every job run once, and TerminateJob still stopping a job that waits
 * on an agent before it ever starts. Without the tag (the automatic queue), a job is not kept
 * queued behind jobs that overran the compute environment's usual ones: it waits RUNNABLE.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateComputeEnvironmentCommand, DescribeJobsCommand, TagResourceCommand, TerminateJobCommand, UntagResourceCommand } from '@aws-sdk/client-batch';
import { connect } from '../../src/cli/client.js';
import type { WhyReport } from '../../src/scheduler/why.js';
import { startTestServer, writableDir, type TestServer } from '../helpers/server.js';
import { createQueue, eventually, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

function ce(name: string, tags: Record<string, string>) {
  return new CreateComputeEnvironmentCommand({
    computeEnvironmentName: name,
    type: 'MANAGED',
    // outside the sandbox, so that the jobs' log file is the test's
    tags: { 'openbatch:sandbox': 'off', ...tags },
    computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 2, instanceTypes: ['optimal'], subnets: ['subnet-1'], instanceRole: 'ecsInstanceRole' },
  });
}

describe('a compute environment that queues work on its agents (openbatch:prefetch)', () => {
  let t: TestServer;
  // Jobs run outside the sandbox here but as the job user (a root agent's nobody): theirs to write.
  const dir = writableDir('openbatch-prefetch-');
  before(async () => {
    t = await startTestServer({ hostVcpus: 2 });
    await t.client.send(ce('short', { 'openbatch:prefetch': '2' }));
    await createQueue(t.client, 'q', ['short']);
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('runs no more at once than the instance holds, holds no more STARTING than the tag allows, and runs every job once', async () => {
    const log = join(dir, 'runs.log');
    // Each job notes its start and its end; appends of one short line do not interleave. A
    // second each, so that a busy agent's reports (sent every 100 ms while work waits there)
    // leave a wide moment where two run and one waits, for the watcher below to see.
    await registerDefinition(t.client, 'note', { command: ['sh', '-c', 'echo "s $AWS_BATCH_JOB_ID" >> "$0"; sleep 1; echo "e $AWS_BATCH_JOB_ID" >> "$0"', log] });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await submit(t.client, { jobName: `n${i}`, jobQueue: 'q', jobDefinition: 'note' }));
    let maxStarting = 0;
    let queuedBesideFull = false;
    for (;;) {
      const { jobs } = await t.client.send(new DescribeJobsCommand({ jobs: ids }));
      const count = (s: string) => jobs!.filter((j) => j.status === s).length;
      maxStarting = Math.max(maxStarting, count('STARTING'));
      if (count('RUNNING') === 2 && count('STARTING') > 0) queuedBesideFull = true;
      if (count('SUCCEEDED') + count('FAILED') === ids.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const id of ids) assert.equal((await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
    assert.ok(maxStarting <= 2, `at most 2 jobs STARTING at a time (saw ${maxStarting})`);
    assert.ok(queuedBesideFull, 'a job waited STARTING on the agent while the instance ran 2');
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    let running = 0;
    let most = 0;
    for (const l of lines) {
      running += l.startsWith('s ') ? 1 : -1;
      most = Math.max(most, running);
    }
    assert.ok(most <= 2, `the 2-vCPU instance ran at most 2 jobs of 1 vCPU at once (saw ${most})`);
    assert.deepEqual(lines.filter((l) => l.startsWith('s ')).map((l) => l.slice(2)).sort(), [...ids].sort(), 'every job ran exactly once');
  });

  test('TerminateJob stops a job that waits on the agent before it starts; it never runs', async () => {
    await registerDefinition(t.client, 'long', { command: ['sleep', '60'] });
    const marker = join(dir, 'ran');
    await registerDefinition(t.client, 'mark', { command: ['touch', marker] });
    const busy = [await submit(t.client, { jobQueue: 'q', jobDefinition: 'long' }), await submit(t.client, { jobQueue: 'q', jobDefinition: 'long' })];
    for (const id of busy) await waitForStatus(t.client, id, ['RUNNING']);
    const waiting = await submit(t.client, { jobName: 'waits', jobQueue: 'q', jobDefinition: 'mark' });
    await waitForStatus(t.client, waiting, ['STARTING']);
    await t.client.send(new TerminateJobCommand({ jobId: waiting, reason: 'not needed after all' }));
    const ended = await waitForStatus(t.client, waiting, ['SUCCEEDED', 'FAILED']);
    assert.equal(ended.status, 'FAILED');
    assert.equal(ended.statusReason, 'not needed after all');
    for (const id of busy) await t.client.send(new TerminateJobCommand({ jobId: id, reason: 'test over' }));
    for (const id of busy) await waitForStatus(t.client, id, ['FAILED']);
    assert.equal(existsSync(marker), false, 'the terminated job never ran');
  });

  test('a job of a higher-priority queue goes ahead of work already queued on the agent, which is taken back and runs later, once', async () => {
    await createQueue(t.client, 'urgent', ['short'], 100);
    await registerDefinition(t.client, 'hold-q', { command: ['sleep', '60'] });
    await registerDefinition(t.client, 'quick-q', { command: ['true'] });
    const busy = [await submit(t.client, { jobQueue: 'q', jobDefinition: 'hold-q' }), await submit(t.client, { jobQueue: 'q', jobDefinition: 'hold-q' })];
    for (const id of busy) await waitForStatus(t.client, id, ['RUNNING']);
    // Both queued on the full instance's agent (the tag allows 2).
    const low = [await submit(t.client, { jobName: 'low0', jobQueue: 'q', jobDefinition: 'quick-q' }), await submit(t.client, { jobName: 'low1', jobQueue: 'q', jobDefinition: 'quick-q' })];
    for (const id of low) await waitForStatus(t.client, id, ['STARTING']);
    const high = await submit(t.client, { jobName: 'high', jobQueue: 'urgent', jobDefinition: 'quick-q' });
    await waitForStatus(t.client, high, ['STARTING']);
    // The first slot that frees runs the urgent job, not the work queued before it.
    await t.client.send(new TerminateJobCommand({ jobId: busy[0], reason: 'make room' }));
    const h = await waitForStatus(t.client, high, ['SUCCEEDED', 'FAILED']);
    assert.equal(h.status, 'SUCCEEDED');
    const { jobs: waitingLow } = await t.client.send(new DescribeJobsCommand({ jobs: low }));
    for (const j of waitingLow!) assert.ok(j.status === 'STARTING' || j.status === 'RUNNABLE' || (j.startedAt ?? 0) >= h.startedAt!, `${j.jobName} (${j.status}) did not start before the urgent job`);
    await t.client.send(new TerminateJobCommand({ jobId: busy[1], reason: 'test over' }));
    for (const id of low) {
      const j = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED']);
      assert.equal(j.status, 'SUCCEEDED');
      assert.ok(j.startedAt! >= h.startedAt!, `${j.jobName} started after the urgent job`);
      // What was taken back never ran: it is no attempt of the job.
      assert.equal(j.attempts!.length, 1, `${j.jobName} ran once`);
    }
  });

  test('a prefetch tag added by TagResource applies to the next placements, and UntagResource ends it', async () => {
    const arn = (await t.client.send(ce('retagged', {}))).computeEnvironmentArn!;
    await createQueue(t.client, 'q-retagged', ['retagged']);
    await registerDefinition(t.client, 'hold', { command: ['sleep', '60'] });
    await registerDefinition(t.client, 'quick', { command: ['true'] });
    const busy = [await submit(t.client, { jobQueue: 'q-retagged', jobDefinition: 'hold' }), await submit(t.client, { jobQueue: 'q-retagged', jobDefinition: 'hold' })];
    for (const id of busy) await waitForStatus(t.client, id, ['RUNNING']);
    // No prefetch yet: with the instance full, the next job waits in the queue.
    const first = await submit(t.client, { jobQueue: 'q-retagged', jobDefinition: 'quick' });
    await waitForStatus(t.client, first, ['RUNNABLE']);
    await t.client.send(new TagResourceCommand({ resourceArn: arn, tags: { 'openbatch:prefetch': '1' } }));
    // The tag reaches the scheduler and the agent: the job is queued on the full instance's
    // agent (STARTING), and it does not start while both slots are busy.
    await waitForStatus(t.client, first, ['STARTING']);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await waitForStatus(t.client, first, ['STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'])).status, 'STARTING', 'a queued job waits for room');
    await t.client.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['openbatch:prefetch'] }));
    const second = await submit(t.client, { jobQueue: 'q-retagged', jobDefinition: 'quick' });
    await waitForStatus(t.client, second, ['RUNNABLE']);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await waitForStatus(t.client, second, ['RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'])).status, 'RUNNABLE', 'without the tag, nothing more is queued on the agent');
    await t.client.send(new TerminateJobCommand({ jobId: busy[0], reason: 'make room' }));
    assert.equal((await waitForStatus(t.client, first, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
    assert.equal((await waitForStatus(t.client, second, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
    await t.client.send(new TerminateJobCommand({ jobId: busy[1], reason: 'test over' }));
    await waitForStatus(t.client, busy[1], ['FAILED']);
  });

  test('a prefetch tag that is not a whole number in range is refused, at creation and by TagResource', async () => {
    await assert.rejects(
      t.client.send(ce('bad', { 'openbatch:prefetch': 'lots' })),
      (e: Error) => e.name === 'ClientException' && /tags\.openbatch:prefetch must be auto or a whole number from 0 to 1024 \(got 'lots'\)/.test(e.message),
    );
    const arn = (await t.client.send(ce('retag', {}))).computeEnvironmentArn!;
    await assert.rejects(
      t.client.send(new TagResourceCommand({ resourceArn: arn, tags: { 'openbatch:prefetch': '5000' } })),
      (e: Error) => e.name === 'ClientException' && /tags\.openbatch:prefetch must be auto or a whole number from 0 to 1024 \(got '5000'\)/.test(e.message),
    );
    await t.client.send(new TagResourceCommand({ resourceArn: arn, tags: { 'openbatch:prefetch': '4' } }));
  });
});

describe('the automatic queue (openbatch:prefetch absent: the default)', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ hostVcpus: 2 });
    await t.client.send(ce('auto', {}));
    await createQueue(t.client, 'qa', ['auto']);
  });
  after(async () => t.close());

  test('a job is not kept queued behind jobs that overran its CE\'s short ones: it waits RUNNABLE for capacity, says so, and runs once when room frees', async () => {
    // Short jobs ended lately: the CE's agents queue work.
    await registerDefinition(t.client, 'instant', { command: ['true'] });
    const quick = [];
    for (let i = 0; i < 6; i++) quick.push(await submit(t.client, { jobQueue: 'qa', jobDefinition: 'instant' }));
    for (const id of quick) assert.equal((await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
    // Two long ones fill the instance.
    await registerDefinition(t.client, 'long-a', { command: ['sleep', '60'] });
    const busy = [await submit(t.client, { jobQueue: 'qa', jobDefinition: 'long-a' }), await submit(t.client, { jobQueue: 'qa', jobDefinition: 'long-a' })];
    for (const id of busy) await waitForStatus(t.client, id, ['RUNNING']);
    const patient = await submit(t.client, { jobName: 'patient', jobQueue: 'qa', jobDefinition: 'instant' });
    // Whether or not it was queued on the agent for a moment, it ends up waiting RUNNABLE for capacity, as in AWS.
    const waiting = await eventually('the job waiting RUNNABLE for capacity', async () => {
      const c = connect({ endpoint: t.url });
      try {
        const r = await c.openbatch<WhyReport>('why', { jobId: patient });
        return r.status === 'RUNNABLE' && r.code === 'NO_CAPACITY' ? r : undefined;
      } finally {
        c.close();
      }
    });
    assert.match(waiting.summary, /^CE auto is at its maxvCpus 2: CE auto's busy instance i-[0-9a-f]+ \(.*running 2 jobs of queue qa /);
    await t.client.send(new TerminateJobCommand({ jobId: busy[0], reason: 'make room' }));
    const done = await waitForStatus(t.client, patient, ['SUCCEEDED', 'FAILED']);
    assert.equal(done.status, 'SUCCEEDED');
    assert.equal(done.attempts!.length, 1, 'taken back, it left no attempt');
    await t.client.send(new TerminateJobCommand({ jobId: busy[1], reason: 'test over' }));
    await waitForStatus(t.client, busy[1], ['FAILED']);
  });
});
