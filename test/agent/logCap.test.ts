/**
 * An attempt's log output is capped by its agent (the server's maxLogBytesPerAttempt): a job
 * that prints without end keeps its first lines, a line says where the cap was reached, and a
 * last one how much was dropped.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import pino from 'pino';
import { Agent } from '../../src/agent/agent.js';
import type { Report } from '../../src/agent/protocol.js';
import { tempDir } from '../helpers/server.js';
import { assignment, controlPlane, printingExecutor, until } from '../helpers/fakeControlPlane.js';

test("an attempt's output beyond its cap is dropped and counted, with a line where it was cut and one at the end", async () => {
  // 1,000 lines of 100 bytes against a cap of 10,000 bytes: 100 kept, 900 dropped.
  const lines = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(4, '0')} ${'x'.repeat(95)}`);
  const job = { ...assignment('job-loud'), logLimitBytes: 10_000 };
  const cp = controlPlane([job]);
  const workRoot = tempDir('openbatch-logcap-');
  const agent = new Agent({ server: await cp.listen(), instanceId: 'i-1', token: 'tok', executors: { process: printingExecutor(lines) }, workRoot, logger: pino({ level: 'silent' }) });
  const run = agent.run();
  try {
    await until('the exit to be reported', () => cp.state.reports.some((r) => r.kind === 'exited'));
    const logged = cp.state.reports.filter((r): r is Extract<Report, { kind: 'logs' }> => r.kind === 'logs').flatMap((r) => r.lines.map((l) => l.m));
    assert.deepEqual(logged.slice(0, 100), lines.slice(0, 100), 'the first lines are kept, in order');
    assert.match(logged[100], /reached 10000 bytes .*maxLogBytesPerAttempt.*dropped/);
    assert.match(logged[logged.length - 1], /^openbatch: 900 log lines \(90000 bytes\) of this attempt were dropped/);
    assert.equal(logged.length, 102);
  } finally {
    await agent.stop();
    await run;
    cp.close();
    rmSync(workRoot, { recursive: true, force: true });
  }
});
