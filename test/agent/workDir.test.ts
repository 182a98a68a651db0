/**
 * An attempt starts in an empty working directory of its own, even where an agent that died
 * running the same attempt left that directory behind with its files (and its task metadata
 * socket, which the new attempt's would otherwise not be bound over).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { Agent } from '../../src/agent/agent.js';
import type { AttemptExit, Executor, RunningAttempt } from '../../src/executor/types.js';
import { RELAY_SOCKET } from '../../src/executor/metadataRelay.js';
import { tempDir } from '../helpers/server.js';
import { assignment, controlPlane, until } from '../helpers/fakeControlPlane.js';

test('a working directory left by a dead agent for the same attempt is emptied before the attempt starts in it', async () => {
  const job = assignment('job-left');
  const cp = controlPlane([job]);
  const workRoot = tempDir('openbatch-workdir-');
  const left = join(workRoot, `${job.jobId}-${job.attempt}`);
  mkdirSync(join(left, 'out'), { recursive: true });
  writeFileSync(join(left, 'out', 'result'), 'the dead attempt’s');
  writeFileSync(join(left, RELAY_SOCKET), '');
  let seen: string[] | undefined;
  const executor: Executor = {
    name: 'process',
    capabilities: { processGroups: true, cgroups: false, sandbox: false, containers: false },
    unavailable: [],
    start(spec): RunningAttempt {
      seen = readdirSync(spec.workDir);
      return { pid: undefined, exited: Promise.resolve<AttemptExit>({ exitCode: 0 }), terminate: () => undefined };
    },
  };
  const agent = new Agent({ server: await cp.listen(), instanceId: 'i-1', token: 'tok', executors: { process: executor }, workRoot, logger: pino({ level: 'silent' }) });
  const run = agent.run();
  try {
    await until('the exit to be reported', () => cp.state.reports.some((r) => r.kind === 'exited'));
    assert.deepEqual(seen, [], 'the attempt sees none of what was left');
  } finally {
    await agent.stop();
    await run;
    cp.close();
    rmSync(workRoot, { recursive: true, force: true });
  }
});
