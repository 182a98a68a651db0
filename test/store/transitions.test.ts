/**
 * store/transitions.ts, the one writer of job status: what it writes, what it refuses, and
 * what a job's end causes (dependents released or failed, array roll-up, every index of a
 * failed array answered). On SQLite in memory, and on PostgreSQL in the suite's second pass.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import fc from 'fast-check';
import { REASONS } from '../../src/model/reasons.js';
import { getJob } from '../../src/store/jobs.js';
import { applyTransitions, type Transition } from '../../src/store/transitions.js';
import type { JobStatus } from '../../src/model/jobStateMachine.js';
import { expandArrays } from '../../src/store/arrays.js';
import { openTestStore, type TestStore } from '../harness/store.js';
import { drive, put, row, statuses, T0 } from '../harness/rows.js';

let ts: TestStore;

/** The transitions that take a job along `statuses`, from the first. */
function path(id: string, ...statuses: JobStatus[]): Transition[] {
  return statuses.slice(1).map((to, i) => ({ job: { id, status: statuses[i] }, to, statusReason: null }));
}
beforeEach(async () => {
  ts = await openTestStore();
});
afterEach(async () => ts.close());

describe('applyTransitions: writing', () => {
  test('writes each job in the batch and emits their events in order, after the commit', async () => {
    await put(ts, row('a').build(), row('b').build());
    ts.events.length = 0;
    await ts.uow.write(async (tx) => {
      await applyTransitions(
        tx,
        [
          { job: { id: 'b', status: 'SUBMITTED' }, to: 'RUNNABLE', statusReason: null },
          { job: { id: 'a', status: 'SUBMITTED' }, to: 'PENDING', statusReason: null, set: { pending_deps: 2 } },
        ],
        T0 + 5,
      );
      assert.equal(ts.events.length, 0, 'no event before the commit');
    });
    assert.deepEqual(
      ts.events.map((e) => [e.jobId, e.from, e.to, e.at]),
      [
        ['b', 'SUBMITTED', 'RUNNABLE', T0 + 5],
        ['a', 'SUBMITTED', 'PENDING', T0 + 5],
      ],
    );
    const b = (await getJob(ts.store.db, 'b'))!;
    assert.equal(b.runnable_at, T0 + 5, 'RUNNABLE records since when');
    assert.equal((await getJob(ts.store.db, 'a'))!.pending_deps, 2);
  });

  test('several changes of one job in a batch are one write from the first status to the last, each with its event', async () => {
    await put(ts, row('a').build());
    await drive(ts, 'a', 'RUNNABLE', 'STARTING');
    ts.events.length = 0;
    await ts.uow.write((tx) =>
      applyTransitions(
        tx,
        [
          { job: { id: 'a', status: 'STARTING' }, to: 'RUNNING', statusReason: null, set: { started_at: T0 + 1 } },
          { job: { id: 'a', status: 'RUNNING' }, to: 'SUCCEEDED', statusReason: REASONS.essentialContainerExited, set: { exit_code: 0, stopped_at: T0 + 2 } },
        ],
        T0 + 3,
      ),
    );
    assert.deepEqual(ts.events.map((e) => e.to), ['RUNNING', 'SUCCEEDED']);
    const a = (await getJob(ts.store.db, 'a'))!;
    assert.deepEqual([a.status, a.started_at, a.stopped_at, a.exit_code, a.status_reason], ['SUCCEEDED', T0 + 1, T0 + 2, 0, REASONS.essentialContainerExited]);
  });

  test('an illegal change is refused and nothing of its batch is written', async () => {
    await put(ts, row('a').build(), row('b').build());
    await drive(ts, 'a', 'FAILED');
    ts.events.length = 0;
    await assert.rejects(
      ts.uow.write((tx) =>
        applyTransitions(
          tx,
          [
            { job: { id: 'b', status: 'SUBMITTED' }, to: 'RUNNABLE', statusReason: null },
            { job: { id: 'a', status: 'FAILED' }, to: 'RUNNING', statusReason: null },
          ],
          T0,
        ),
      ),
      /illegal job state change FAILED → RUNNING/,
    );
    assert.deepEqual(await statuses(ts, 'a', 'b'), { a: 'FAILED', b: 'SUBMITTED' });
    assert.equal(ts.events.length, 0);
  });

  test('a job no longer in the status its caller read is refused: the rows changed are checked', async () => {
    await put(ts, row('a').build(), row('b').build());
    await drive(ts, 'a', 'RUNNABLE');
    await assert.rejects(
      ts.uow.write((tx) => applyTransitions(tx, [...path('a', 'SUBMITTED', 'RUNNABLE'), ...path('b', 'SUBMITTED', 'RUNNABLE')], T0)),
      /1 of 2 jobs were no longer SUBMITTED when changed to RUNNABLE/,
    );
    assert.deepEqual(await statuses(ts, 'a', 'b'), { a: 'RUNNABLE', b: 'SUBMITTED' });
  });
});

describe('applyTransitions: what an end causes', () => {
  test('a success counts off its dependents; those with nothing left to wait for become RUNNABLE', async () => {
    await put(ts, row('a').build(), row('b').build(), row('one').dependsOn('a').build(), row('both').dependsOn('a', 'b').build());
    await drive(ts, 'one', 'PENDING');
    await drive(ts, 'both', 'PENDING');
    await drive(ts, 'a', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED');
    assert.deepEqual(await statuses(ts, 'one', 'both'), { one: 'RUNNABLE', both: 'PENDING' });
    assert.equal((await getJob(ts.store.db, 'both'))!.pending_deps, 1);
    await drive(ts, 'b', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED');
    assert.equal((await statuses(ts, 'both')).both, 'RUNNABLE');
  });

  test('two dependencies succeeding in one batch are both counted off', async () => {
    await put(ts, row('a').build(), row('b').build(), row('both').dependsOn('a', 'b').build());
    await drive(ts, 'both', 'PENDING');
    await ts.uow.write((tx) => applyTransitions(tx, [...path('a', 'SUBMITTED', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED'), ...path('b', 'SUBMITTED', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED')], T0));
    assert.equal((await statuses(ts, 'both')).both, 'RUNNABLE');
  });

  test('a failure fails its PENDING dependents and theirs, with "Dependent Job failed"', async () => {
    await put(ts, row('a').build(), row('b').dependsOn('a').build(), row('c').dependsOn('b').build(), row('free').build());
    await drive(ts, 'b', 'PENDING');
    await drive(ts, 'c', 'PENDING');
    await drive(ts, 'a', 'RUNNABLE', 'FAILED');
    assert.deepEqual(await statuses(ts, 'a', 'b', 'c', 'free'), { a: 'FAILED', b: 'FAILED', c: 'FAILED', free: 'SUBMITTED' });
    assert.equal((await getJob(ts.store.db, 'c'))!.status_reason, REASONS.dependentJobFailed);
  });

  test('an array parent that fails before its children exist gets every child, FAILED with its reason', async () => {
    await put(ts, row('dep').build(), row('arr').array(3).dependsOn('dep').build());
    await drive(ts, 'arr', 'PENDING');
    await drive(ts, 'dep', 'RUNNABLE', 'FAILED');
    assert.deepEqual(await statuses(ts, 'arr', 'arr:0', 'arr:1', 'arr:2'), { arr: 'FAILED', 'arr:0': 'FAILED', 'arr:1': 'FAILED', 'arr:2': 'FAILED' });
    assert.equal((await getJob(ts.store.db, 'arr:2'))!.status_reason, REASONS.dependentJobFailed);
  });
});

describe('array roll-up', () => {
  const children = (n: number) => [...Array(n).keys()].map((i) => `arr:${i}`);
  const expand = () => ts.uow.write((tx) => expandArrays(tx, T0, 1000));

  test('the last child to end decides the parent: SUCCEEDED when every child did', async () => {
    await put(ts, row('arr').array(3).build(), row('after').dependsOn('arr').build());
    await drive(ts, 'arr', 'PENDING');
    await drive(ts, 'after', 'PENDING');
    assert.equal(await expand(), 3);
    for (const c of children(3)) {
      assert.equal((await statuses(ts, 'arr')).arr, 'PENDING', 'the parent waits while a child has not ended');
      await drive(ts, c, 'STARTING', 'RUNNING', 'SUCCEEDED');
    }
    assert.deepEqual(await statuses(ts, 'arr', 'after'), { arr: 'SUCCEEDED', after: 'RUNNABLE' });
  });

  test('one failed child fails the parent, once the last child has ended, with "Array Child Job failed"', async () => {
    await put(ts, row('arr').array(2).build());
    await drive(ts, 'arr', 'PENDING');
    await expand();
    await drive(ts, 'arr:0', 'FAILED');
    assert.equal((await statuses(ts, 'arr')).arr, 'PENDING');
    await drive(ts, 'arr:1', 'STARTING', 'RUNNING', 'SUCCEEDED');
    const parent = (await getJob(ts.store.db, 'arr'))!;
    assert.deepEqual([parent.status, parent.status_reason, parent.array_succeeded, parent.array_failed], ['FAILED', REASONS.arrayChildFailed, 1, 1]);
  });
});

describe('applyTransitions: properties', () => {
  test('on any dependency graph, whatever the outcomes: a job fails when one of its dependencies fails, and becomes RUNNABLE once all succeed', async () => {
    // Jobs 0..n-1; each may depend on lower-numbered ones. Jobs end in number order, each
    // either succeeding or failing (if still able to run), in one transition batch each.
    const graph = fc.integer({ min: 2, max: 7 }).chain((n) =>
      fc.tuple(
        fc.array(fc.subarray([...Array(n).keys()]), { minLength: n, maxLength: n }),
        fc.array(fc.boolean(), { minLength: n, maxLength: n }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(graph, async ([rawDeps, succeeds]) => {
        const n = succeeds.length;
        const deps = rawDeps.map((d, i) => d.filter((x) => x < i));
        const store = await openTestStore();
        const prior = ts;
        ts = store;
        try {
          const id = (i: number) => `j${i}`;
          await put(ts, ...deps.map((d, i) => row(id(i)).dependsOn(...d.map(id)).build()));
          for (let i = 0; i < n; i++) await drive(ts, id(i), deps[i].length ? 'PENDING' : 'RUNNABLE');
          const expected: string[] = [];
          for (let i = 0; i < n; i++) {
            const depFailed = deps[i].some((d) => expected[d] === 'FAILED');
            expected[i] = depFailed ? 'FAILED' : succeeds[i] ? 'SUCCEEDED' : 'FAILED';
            const current = (await statuses(ts, id(i)))[id(i)];
            if (depFailed) {
              assert.equal(current, 'FAILED', `${id(i)} depends on a failed job`);
              continue;
            }
            assert.equal(current, 'RUNNABLE', `${id(i)}'s dependencies all succeeded`);
            await drive(ts, id(i), 'STARTING', 'RUNNING', succeeds[i] ? 'SUCCEEDED' : 'FAILED');
          }
          const final = await statuses(ts, ...deps.map((_, i) => id(i)));
          assert.deepEqual(Object.values(final), expected);
        } finally {
          ts = prior;
          await store.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});
