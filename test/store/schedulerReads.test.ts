/**
 * What a scheduler pass reads of the jobs table (store/jobs.ts): the heads of FIFO queues and
 * of fair-share queues' shares, the shares that have work, and what runs where. On SQLite in
 * memory and on PostgreSQL (the loose index scan of activeShares is written for both).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { activeShares, runnableHead, runningByShare, shareHead, usageByInstance } from '../../src/store/jobs.js';
import { applyTransitions } from '../../src/store/transitions.js';
import { openTestStore, type TestStore } from '../harness/store.js';
import { drive, put, row, T0 } from '../harness/rows.js';

let ts: TestStore;
beforeEach(async () => {
  ts = await openTestStore();
});
afterEach(async () => ts.close());

/** Puts the jobs and makes them RUNNABLE, in the order given (their submission order). */
async function runnable(...jobs: ReturnType<ReturnType<typeof row>['build']>[]): Promise<void> {
  await put(ts, ...jobs);
  for (const j of jobs) await drive(ts, j.row.id, 'RUNNABLE');
}

/** Places a RUNNABLE job on an instance (STARTING), and RUNNING (started at `startedAt`) when asked. */
async function place(id: string, instanceId: string, startedAt?: number): Promise<void> {
  const running = startedAt !== undefined;
  await ts.uow.write((tx) =>
    applyTransitions(
      tx,
      [
        { job: { id, status: 'RUNNABLE' }, to: 'STARTING', statusReason: null, set: { instance_id: instanceId, ce_name: 'ce', attempt_count: 1 } },
        ...(running ? [{ job: { id, status: 'STARTING' }, to: 'RUNNING' as const, statusReason: null, set: { started_at: startedAt } }] : []),
      ],
      T0,
    ),
  );
}

test('the head of a FIFO queue: its RUNNABLE jobs in submission order, up to the limit', async () => {
  await runnable(row('a').build(), row('b').build(), row('other').queue('q2').build(), row('c').build(), row('d').build());
  await place('b', 'i-1');
  assert.deepEqual((await runnableHead(ts.store.db, 'q', 2)).map((j) => j.id), ['a', 'c']);
  assert.deepEqual((await runnableHead(ts.store.db, 'q', 10)).map((j) => j.id), ['a', 'c', 'd']);
});

test('the shares of a fair-share queue that have RUNNABLE jobs, and each share\'s head by priority, then submission', async () => {
  await runnable(
    row('a1').share('alpha').build(),
    row('b1').share('beta', 1).build(),
    row('b2').share('beta', 5).build(),
    row('b3').share('beta', 5).build(),
    row('g1').share('gamma').build(),
    row('x').queue('other').share('delta').build(),
  );
  await place('g1', 'i-1');
  assert.deepEqual((await activeShares(ts.store.db, 'q')).sort(), ['alpha', 'beta']);
  assert.deepEqual((await shareHead(ts.store.db, 'q', 'beta', 10)).map((j) => j.id), ['b2', 'b3', 'b1']);
  assert.deepEqual((await shareHead(ts.store.db, 'q', 'beta', 1)).map((j) => j.id), ['b2']);
});

test('vCPUs held per queue and share, and per instance with how many jobs there are STARTING and when its last job started', async () => {
  await runnable(row('a').vcpus(2).share('s1').build(), row('b').vcpus(1).share('s1').build(), row('c').vcpus(4).share('s2').build(), row('waits').vcpus(8).share('s1').build());
  await place('a', 'i-1', T0 + 1_000);
  await place('b', 'i-1');
  await place('c', 'i-2', T0 + 2_000);
  const byShare = (await runningByShare(ts.store.db)).sort((x, y) => String(x.share).localeCompare(String(y.share)));
  assert.deepEqual(byShare, [
    { queue: 'q', share: 's1', vcpus: 3 },
    { queue: 'q', share: 's2', vcpus: 4 },
  ]);
  const usage = await usageByInstance(ts.store.db);
  assert.deepEqual(usage.get('i-1'), { vcpus: 3, memoryMiB: 128, gpus: 0, jobs: 2, starting: 1, lastStart: T0 + 1_000 });
  assert.deepEqual(usage.get('i-2'), { vcpus: 4, memoryMiB: 64, gpus: 0, jobs: 1, starting: 0, lastStart: T0 + 2_000 });
  assert.equal(usage.get('i-3'), undefined);
});
