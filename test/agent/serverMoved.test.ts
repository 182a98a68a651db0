/**
 * A local agent outlives its server, and the server may come back on another port: the agent
 * finds it through the file the server writes in its data directory (agent/serverAddress.ts)
 * and carries on within its lease, its attempt untouched and its reports delivered there.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import pino from 'pino';
import { Agent } from '../../src/agent/agent.js';
import { readServerUrl, serverUrlFile, writeServerUrl } from '../../src/agent/serverAddress.js';
import { tempDir } from '../helpers/server.js';
import { assignment, controlPlane, fakeExecutor, until } from '../helpers/fakeControlPlane.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('a launched agent follows its server to the URL the server file names, keeping its attempt', async () => {
  const dataDir = tempDir('openbatch-moved-');
  const workRoot = tempDir('openbatch-moved-work-');
  dirs.push(dataDir, workRoot);
  const before = controlPlane([assignment('job-m')]);
  const after = controlPlane([]);
  const firstUrl = await before.listen();
  writeServerUrl(dataDir, firstUrl);
  const { executor, log } = fakeExecutor();
  const agent = new Agent({
    server: firstUrl, serverFile: serverUrlFile(dataDir), instanceId: 'i-1', token: 'tok', executors: { process: executor },
    workRoot, logger: pino({ level: 'silent' }), exitWhenOrphaned: true,
  });
  const run = agent.run();
  let ended: string | undefined;
  void run.then((why) => (ended = why));
  try {
    await until('the attempt to start', () => log.started === 1);
    await until('the start to be reported', () => before.state.reports.some((r) => r.kind === 'started'));
    // The server goes away; its successor listens elsewhere and says so in the file.
    before.close();
    const secondUrl = await after.listen();
    writeServerUrl(dataDir, secondUrl);
    assert.equal(readServerUrl(serverUrlFile(dataDir)), secondUrl);
    await until('polls at the new address', () => after.state.polls >= 3);
    // Longer than the lease (800 ms) since the first server went: the agent renewed it there.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(log.terminatedAt.length, 0, 'the attempt was never stopped');
    assert.equal(ended, undefined, 'the agent did not exit as orphaned');
    assert.deepEqual(agent.controlPlanes(), [secondUrl]);
  } finally {
    await agent.stop();
    await run;
    after.close();
  }
  // Its attempt, stopped with the agent, is reported to the server it moved to.
  assert.ok(after.state.reports.some((r) => r.kind === 'exited' && r.jobId === 'job-m'));
});
