/**
 * TerminateJob of a STARTING job, wherever the job is: not yet received by its agent (the
 * agent polls, and finds nothing to run), queued on a busy agent, or started. It ends FAILED
 * with the caller's reason within a poll, never RUNNING when it never ran, and its room is
 * free for the next job.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateComputeEnvironmentCommand, TerminateJobCommand } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, describeJob, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import type { PollResponse } from '../../src/agent/protocol.js';

/** An agent the test drives by hand over the agent protocol: it polls only when told to. */
class HandAgent {
  constructor(
    private readonly url: string,
    readonly instanceId: string,
    private readonly token: string,
  ) {}

  static async join(t: TestServer, ce: string): Promise<HandAgent> {
    const joinToken = readFileSync(join(t.dataDir, 'agent-join-token'), 'utf8').trim();
    const res = await fetch(`${t.url}/agent/v1/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${joinToken}` },
      body: JSON.stringify({ computeEnvironment: ce, vcpus: 1, memoryMiB: 512, gpus: 0 }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { instanceId, token } = (await res.json()) as { instanceId: string; token: string };
    return new HandAgent(t.url, instanceId, token);
  }

  /** One poll that says the agent runs nothing, answered at once. */
  async poll(): Promise<PollResponse> {
    const res = await fetch(`${this.url}/agent/v1/poll`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ instanceId: this.instanceId, running: [], waitMs: 0 }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as PollResponse;
  }
}

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
