/**
 * A control plane made of a few lines of HTTP, and an executor whose attempts run until told
 * to stop, for tests of the agent on its own (test/agent/): what it asks, what it reports,
 * when it stops what it runs.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Assignment, PollResponse, Report } from '../../src/agent/protocol.js';
import type { AttemptExit, Executor, LogLine, RunningAttempt } from '../../src/executor/types.js';
import { until as waitUntil } from './until.js';

export const LEASE = { ms: 800, pollWaitMs: 100 };

/** A fake control plane: hands out `work` once, answers or holds requests, records reports. */
export function controlPlane(work: Assignment[]) {
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
export function fakeExecutor() {
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

export function assignment(jobId: string): Assignment {
  return { jobId, attempt: 1, token: 't-' + jobId, command: ['true'], env: {}, vcpus: 1, memoryMiB: 64, gpus: 0, timeoutSeconds: null, logStreamName: 's', executor: 'process', settings: {} };
}

/** until() asked every 20 ms: the agent's own timings here are a second or less. */
export function until(what: string, fn: () => boolean, ms = 20_000): Promise<boolean> {
  return waitUntil(what, fn, ms, 20);
}


/** An executor whose attempts print `lines` (in batches of `batch`) and exit 0. */
export function printingExecutor(lines: string[], batch = 100): Executor {
  return {
    name: 'process',
    capabilities: { processGroups: true, cgroups: false, sandbox: false, containers: false },
    unavailable: [],
    start(_spec, onLog: (lines: LogLine[]) => void): RunningAttempt {
      const exited = (async (): Promise<AttemptExit> => {
        for (let i = 0; i < lines.length; i += batch) {
          await new Promise((r) => setImmediate(r));
          onLog(lines.slice(i, i + batch).map((message) => ({ stream: 'stdout', timestamp: Date.now(), message })));
        }
        return { exitCode: 0 };
      })();
      return { pid: undefined, exited, terminate: () => undefined };
    },
  };
}
