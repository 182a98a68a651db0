/**
 * The agent's half of the lease (compute/agentLease.ts), against a control plane made of a
 * few lines of HTTP: an agent that gets no answer for its lease stops what it runs and
 * reports it lost once it gets through; requests to a control plane that holds them time out;
 * a launched instance's agent exits instead; a refused report stops its process.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, test } from 'node:test';
import pino from 'pino';
import { Agent } from '../../src/agent/agent.js';
import type { Assignment, PollResponse, Report } from '../../src/agent/protocol.js';
import type { AttemptExit, Executor, RunningAttempt } from '../../src/executor/types.js';
import { tempDir } from '../helpers/server.js';
import { rmSync } from 'node:fs';

const LEASE = { ms: 800, pollWaitMs: 100 };

/** A fake control plane: hands out `work` once, answers or holds requests, records reports. */
function controlPlane(work: Assignment[]) {
  const state = { silent: false, reports: [] as Report[], lastAnswer: 0, polls: 0, stale: [] as { jobId: string; attempt: number }[] };
  const held: ServerResponse[] = [];
  let given = false;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (state.silent) return void held.push(res); // a paused control plane: accepted, never answered
      const msg = JSON.parse(body || '{}') as { reports?: Report[] };
      let answer: unknown;
      if (req.url === '/agent/v1/poll') {
        state.polls++;
        answer = { start: given ? [] : work, stop: [], shutdown: false, lease: LEASE } satisfies PollResponse;
        given = true;
      } else {
        state.reports.push(...(msg.reports ?? []));
        answer = { stale: state.stale.splice(0) };
      }
      state.lastAnswer = performance.now();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(answer));
    });
  });
  return {
    state,
    async listen(): Promise<string> {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    },
    close() {
      for (const r of held) r.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}

/** An executor whose attempts run until terminated; it records when. */
function fakeExecutor() {
  const log = { started: 0, terminatedAt: [] as number[] };
  const executor: Executor = {
    name: 'process',
    capabilities: { processGroups: true, cgroups: false, sandbox: false, containers: false },
    unavailable: [],
    start(): RunningAttempt {
      log.started++;
      let end!: (e: AttemptExit) => void;
      const exited = new Promise<AttemptExit>((r) => (end = r));
      return { pid: undefined, exited, terminate: () => (log.terminatedAt.push(performance.now()), end({ exitCode: 137 })) };
    },
  };
  return { executor, log };
}

function assignment(jobId: string): Assignment {
  return { jobId, attempt: 1, token: 't-' + jobId, command: ['true'], env: {}, vcpus: 1, memoryMiB: 64, gpus: 0, timeoutSeconds: null, logStreamName: 's', executor: 'process', settings: {} };
}

async function until(what: string, fn: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

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
