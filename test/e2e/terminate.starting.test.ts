/**
 * TerminateJob of a STARTING job, wherever the job is: not yet received by its agent (the
 * agent polls, and finds nothing to run), queued on a busy agent, or started. It ends FAILED
 * with the caller's reason within a poll, never RUNNING when it never ran, and its room is
 * free for the next job.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateComputeEnvironmentCommand, TerminateJobCommand } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, describeJob, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { HandAgent } from '../helpers/handAgent.js';

describe('TerminateJob of a STARTING job', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ terminateGraceSeconds: 1 });
    await registerDefinition(t.client, 'sleeper', { command: ['sleep', '300'] });
  });
  after(async () => t.close());

  test('not yet received by its agent: FAILED with the reason at the agent’s next poll, never RUNNING, and its room free', async () => {
    await t.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'hand', type: 'UNMANAGED' }));
    await createQueue(t.client, 'hand-q', ['hand']);
    const agent = await HandAgent.join(t, 'hand');
    await agent.poll();
    const id = await submit(t.client, { jobName: 'unreceived', jobQueue: 'hand-q', jobDefinition: 'sleeper' });
    await waitForStatus(t.client, id, ['STARTING']);
    await t.client.send(new TerminateJobCommand({ jobId: id, reason: 'stopped before it was received' }));
    const answer = await agent.poll();
    assert.deepEqual(answer.start.map((a) => a.jobId), [], 'the agent is not given the terminated job');
    const job = await describeJob(t.client, id);
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, 'stopped before it was received');
    assert.equal(job.startedAt, undefined, 'it never ran');
    assert.equal(job.attempts?.[0]?.statusReason, 'stopped before it was received');
    // The instance's room is free: the next job is placed on it and handed out.
    const next = await submit(t.client, { jobName: 'next', jobQueue: 'hand-q', jobDefinition: 'sleeper' });
    await waitForStatus(t.client, next, ['STARTING']);
    assert.deepEqual((await agent.poll()).start.map((a) => a.jobId), [next]);
    await t.client.send(new TerminateJobCommand({ jobId: next, reason: 'test over' }));
    await agent.poll();
  });

  test('at the first sight of STARTING while its instance is busy (queued on the agent, or just started): FAILED with the reason, and the next job runs', async () => {
    // openbatch:prefetch lets the busy instance hold the job STARTING, queued on its agent.
    await createCe(t.client, 'busy', { maxvCpus: 1, tags: { 'openbatch:prefetch': '1' } });
    await createQueue(t.client, 'busy-q', ['busy']);
    const hog = await submit(t.client, { jobName: 'hog', jobQueue: 'busy-q', jobDefinition: 'sleeper' });
    await waitForStatus(t.client, hog, ['RUNNING'], 60_000);
    const id = await submit(t.client, { jobName: 'queued', jobQueue: 'busy-q', jobDefinition: 'sleeper' });
    await waitForStatus(t.client, id, ['STARTING'], 60_000);
    await t.client.send(new TerminateJobCommand({ jobId: id, reason: 'not needed after all' }));
    const job = await waitForStatus(t.client, id, ['FAILED', 'SUCCEEDED'], 60_000);
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, 'not needed after all');
    assert.equal(job.startedAt, undefined, 'it never ran');
    await t.client.send(new TerminateJobCommand({ jobId: hog, reason: 'make room' }));
    await registerDefinition(t.client, 'quick', { command: ['true'] });
    const next = await submit(t.client, { jobName: 'next', jobQueue: 'busy-q', jobDefinition: 'quick' });
    assert.equal((await waitForStatus(t.client, next, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'SUCCEEDED');
  });
});
