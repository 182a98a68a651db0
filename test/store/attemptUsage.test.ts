/**
 * store/attemptUsage.ts: what attempts used, as their agents report it. A report counts only
 * from the attempt's instance with its token; figures only grow; a running attempt's samples
 * make its memory series, thinned when full; a job definition's recent runs are its
 * succeeded and out-of-memory attempts, newest first. On SQLite in memory, and on PostgreSQL
 * in the suite's second pass.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { getAttempts, getJob } from '../../src/store/jobs.js';
import { startAttempts } from '../../src/store/placement.js';
import { AttemptReports, type AttemptEnd } from '../../src/store/attemptReports.js';
import { appendPoint, attemptUsageOf, recentRuns, recordUsage, SERIES_MAX, type UsageReport } from '../../src/store/attemptUsage.js';
import type { UsageFigures } from '../../src/model/usage.js';
import { openTestStore, type TestStore } from '../harness/store.js';
import { drive, put, row, T0 } from '../harness/rows.js';

const MiB = 1024 * 1024;
const DEF = 'arn:aws:batch:us-east-1:000000000000:job-definition/d:1';

let ts: TestStore;
beforeEach(async () => {
  ts = await openTestStore();
});
afterEach(async () => ts.close());

/** A job placed on instance i-1 and started; answers its attempt's token. */
async function running(id: string): Promise<string> {
  await put(ts, row(id).build());
  await drive(ts, id, 'RUNNABLE');
  const job = (await getJob(ts.store.db, id))!;
  const token = `tok-${id}`;
  await ts.uow.write((tx) => startAttempts(tx, [{ job, placement: { instanceId: 'i-1', ceName: 'ce', token, logStreamName: `d/default/${id}` } }], T0 + 10));
  await ts.uow.write(async (tx) => {
    const b = await AttemptReports.load(tx, [id], T0 + 20, 'i-1');
    assert.equal(await b.started(id, 1, token, T0 + 20), true);
    await b.flush();
  });
  return token;
}

async function ended(id: string, token: string, end: Omit<AttemptEnd, 'stoppedAt'>, stoppedAt: number): Promise<void> {
  await ts.uow.write(async (tx) => {
    const b = await AttemptReports.load(tx, [id], stoppedAt, 'i-1');
    assert.equal(await b.exited(id, 1, token, { ...end, stoppedAt }), true);
    await b.flush();
  });
}

const report = (id: string, token: string, at: number, figures: Omit<UsageFigures, 'source'>, final = false): UsageReport => ({
  jobId: id,
  attempt: 1,
  token,
  at,
  figures: { source: 'cgroup', ...figures },
  final,
});

async function record(instanceId: string, ...reports: UsageReport[]): Promise<void> {
  await ts.uow.write((tx) => recordUsage(tx, instanceId, reports));
}

async function usageOf(id: string) {
  const [a] = await getAttempts(ts.store.db, [id]);
  return attemptUsageOf(a, true);
}

describe('recordUsage', () => {
  test('samples of a running attempt: figures that only grow, memory now and its series', async () => {
    const token = await running('a');
    assert.equal(await usageOf('a'), undefined, 'nothing measured yet');
    await record('i-1', report('a', token, T0 + 1000, { cpuSeconds: 1, memoryBytes: 100 * MiB, peakMemoryBytes: 120 * MiB, readBytes: 10, writeBytes: 20 }));
    // Two in one batch, the second late with smaller counters: counters and the peak stay.
    await record(
      'i-1',
      report('a', token, T0 + 2000, { cpuSeconds: 2, memoryBytes: 80 * MiB, peakMemoryBytes: 130 * MiB }),
      report('a', token, T0 + 3000, { cpuSeconds: 1.5, memoryBytes: 90 * MiB, peakMemoryBytes: 125 * MiB }),
    );
    assert.deepEqual(await usageOf('a'), {
      source: 'cgroup',
      at: T0 + 3000,
      cpuSeconds: 2,
      memoryBytes: 90 * MiB,
      peakMemoryBytes: 130 * MiB,
      readBytes: 10,
      writeBytes: 20,
      memorySeries: [
        [T0 + 1000, 100 * MiB],
        [T0 + 2000, 80 * MiB],
        [T0 + 3000, 90 * MiB],
      ],
    });
    const [a] = await getAttempts(ts.store.db, ['a']);
    assert.equal(attemptUsageOf(a)!.memorySeries, undefined, 'the series is decoded only when asked');
  });

  test('a report from another instance or with another token is dropped', async () => {
    const token = await running('a');
    await record('i-2', report('a', token, T0 + 1000, { cpuSeconds: 5, memoryBytes: MiB }));
    await record('i-1', report('a', 'forged', T0 + 1000, { cpuSeconds: 5, memoryBytes: MiB }));
    await record('i-2', report('a', token, T0 + 1000, { cpuSeconds: 5 }, true));
    await record('i-1', report('a', 'forged', T0 + 1000, { cpuSeconds: 5 }, true));
    assert.equal(await usageOf('a'), undefined);
  });

  test("the attempt's end: its figures in all, never lower than a sample's, no point of the series", async () => {
    const token = await running('a');
    await record('i-1', report('a', token, T0 + 1000, { cpuSeconds: 1, memoryBytes: 100 * MiB, peakMemoryBytes: 150 * MiB, readBytes: 4096 }));
    await ended('a', token, { exitCode: 0, reason: null }, T0 + 4000);
    // The end knows more CPU time and bytes written, and (sampled) a lower peak than a sample saw.
    await record('i-1', report('a', token, T0 + 4000, { cpuSeconds: 3.25, peakMemoryBytes: 140 * MiB, readBytes: 4096, writeBytes: 8192 }, true));
    const u = await usageOf('a');
    assert.deepEqual({ ...u, memorySeries: undefined }, {
      source: 'cgroup',
      at: T0 + 4000,
      cpuSeconds: 3.25,
      memoryBytes: 100 * MiB,
      peakMemoryBytes: 150 * MiB,
      readBytes: 4096,
      writeBytes: 8192,
      memorySeries: undefined,
    });
    assert.deepEqual(u!.memorySeries, [[T0 + 1000, 100 * MiB]]);
  });

  test('an attempt measured only at its end (shorter than a sample) has its figures', async () => {
    const token = await running('a');
    await ended('a', token, { exitCode: 0, reason: null }, T0 + 500);
    await record('i-1', report('a', token, T0 + 500, { cpuSeconds: 0.25, peakMemoryBytes: 3 * MiB }, true));
    assert.deepEqual(await usageOf('a'), { source: 'cgroup', at: T0 + 500, cpuSeconds: 0.25, peakMemoryBytes: 3 * MiB });
  });

  test('a full series loses every other older point: a long run keeps its whole shape', () => {
    const full = Array.from({ length: SERIES_MAX }, (_, i): [number, number] => [i, i]);
    const next = appendPoint(full, [SERIES_MAX, SERIES_MAX]);
    assert.equal(next.length, SERIES_MAX / 2 + 1);
    assert.deepEqual(next[0], [1, 1]);
    assert.deepEqual(next.at(-2), [SERIES_MAX - 1, SERIES_MAX - 1]);
    assert.deepEqual(next.at(-1), [SERIES_MAX, SERIES_MAX]);
  });
});

describe('recentRuns', () => {
  test('succeeded and out-of-memory runs with their figures, newest first; other failures and unmeasured runs left out', async () => {
    const runs: [string, Omit<AttemptEnd, 'stoppedAt'>, number, Omit<UsageFigures, 'source'> | undefined][] = [
      ['old', { exitCode: 0, reason: null }, T0 + 5000, { cpuSeconds: 1, peakMemoryBytes: 100 * MiB }],
      ['oom', { exitCode: 137, reason: 'OutOfMemoryError: Container killed due to memory usage' }, T0 + 6000, { cpuSeconds: 0.5, peakMemoryBytes: 64 * MiB }],
      ['failed', { exitCode: 1, reason: null }, T0 + 7000, { cpuSeconds: 9, peakMemoryBytes: 900 * MiB }],
      ['unmeasured', { exitCode: 0, reason: null }, T0 + 8000, undefined],
      ['new', { exitCode: 0, reason: null }, T0 + 9000, { cpuSeconds: 4, peakMemoryBytes: 200 * MiB }],
    ];
    for (const [id, end, at, figures] of runs) {
      const token = await running(id);
      await ended(id, token, end, at);
      if (figures) await record('i-1', report(id, token, at, figures, true));
    }
    assert.deepEqual(await recentRuns(ts.store.db, [DEF], 200), [
      { runSeconds: 8.98, cpuSeconds: 4, peakMemoryMiB: 200 },
      { runSeconds: 5.98, outOfMemory: true, cpuSeconds: 0.5, peakMemoryMiB: 64 },
      { runSeconds: 4.98, cpuSeconds: 1, peakMemoryMiB: 100 },
    ]);
    assert.deepEqual((await recentRuns(ts.store.db, [DEF], 1)).map((r) => r.cpuSeconds), [4], 'the newest only');
    assert.deepEqual(await recentRuns(ts.store.db, ['arn:aws:batch:us-east-1:000000000000:job-definition/other:1'], 200), []);
  });
});
