/**
 * The agent's half of the lease (compute/agentLease.ts), against a control plane made of a
 * few lines of HTTP: an agent that gets no answer for its lease stops what it runs and
 * reports it lost once it gets through; requests to a control plane that holds them time out;
 * a launched instance's agent exits instead; a refused report stops its process.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pino from 'pino';
import { Agent } from '../../src/agent/agent.js';
import type { Report } from '../../src/agent/protocol.js';
import type { Executor } from '../../src/executor/types.js';
import { tempDir } from '../helpers/server.js';
import { assignment, controlPlane, fakeExecutor, LEASE, until } from '../helpers/fakeControlPlane.js';
import { rmSync } from 'node:fs';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function makeAgent(url: string, executor: Executor, exitWhenOrphaned = false): Agent {
  const workRoot = tempDir('openbatch-lease-');
  dirs.push(workRoot);
  return new Agent({ server: url, instanceId: 'i-1', token: 'tok', executors: { process: executor }, workRoot, logger: pino({ level: 'silent' }), exitWhenOrphaned });
}

test('an agent without answers for its lease stops its attempts, and reports them lost once it gets through', async () => {
  const cp = controlPlane([assignment('job-a')]);
  const { executor, log } = fakeExecutor();
  const agent = makeAgent(await cp.listen(), executor);
  const run = agent.run();
  try {
    await until('the attempt to start', () => log.started === 1);
    await until('the start to be reported', () => cp.state.reports.some((r) => r.kind === 'started'));
    cp.state.silent = true;
    const silentFrom = cp.state.lastAnswer;
    await until('the attempt to be stopped', () => log.terminatedAt.length === 1);
    assert.ok(cp.state.silent, 'stopped while the control plane was silent');
    // Not before the lease ran out: the last answer renewed it for LEASE.ms from its request.
    assert.ok(log.terminatedAt[0] - silentFrom >= LEASE.ms - 200, `stopped ${Math.round(log.terminatedAt[0] - silentFrom)} ms after the last answer`);
    cp.state.silent = false;
    await until('the exit to be reported', () => cp.state.reports.some((r) => r.kind === 'exited'));
    const exit = cp.state.reports.find((r) => r.kind === 'exited') as Extract<Report, { kind: 'exited' }>;
    assert.equal(exit.hostLost, true);
    assert.match(exit.reason ?? '', /no answer from the control plane/);
    // It carries on: still polling.
    const polls = cp.state.polls;
    await until('another poll', () => cp.state.polls > polls);
  } finally {
    await agent.stop();
    await run;
    cp.close();
  }
});

test('a launched instance whose control plane stays silent for its lease stops its attempts and exits', async () => {
  const cp = controlPlane([assignment('job-b')]);
  const { executor, log } = fakeExecutor();
  const agent = makeAgent(await cp.listen(), executor, true);
  const run = agent.run();
  try {
    await until('the attempt to start', () => log.started === 1);
    cp.state.silent = true;
    assert.equal(await run, 'orphaned');
    assert.ok(log.terminatedAt.length >= 1, 'its attempt was stopped');
  } finally {
    await agent.stop();
    cp.close();
  }
});

test('a report the control plane refuses as stale stops the process it was about', async () => {
  const cp = controlPlane([assignment('job-c')]);
  const { executor, log } = fakeExecutor();
  cp.state.stale.push({ jobId: 'job-c', attempt: 1 });
  const agent = makeAgent(await cp.listen(), executor);
  const run = agent.run();
  try {
    await until('the attempt to be stopped', () => log.terminatedAt.length === 1);
    assert.ok(cp.state.reports.some((r) => r.kind === 'started' && r.jobId === 'job-c'));
  } finally {
    await agent.stop();
    await run;
    cp.close();
  }
});
