/**
 * store/withdrawals.ts: taking back work queued on an agent. An attempt not yet handed out is
 * withdrawn at once; one handed out is asked for, and withdrawn when its agent gives it back;
 * either way the job is RUNNABLE again as it was before the attempt, which leaves no trace.
 * On SQLite in memory, and on PostgreSQL in the suite's second pass.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { getJob } from '../../src/store/jobs.js';
import { markDelivered } from '../../src/store/delivery.js';
import { startAttempts } from '../../src/store/placement.js';
import { withdrawQueued } from '../../src/store/withdrawals.js';
import { AttemptReports } from '../../src/store/attemptReports.js';
import { startingOn } from '../../src/store/agentQueues.js';
import { openTestStore, type TestStore } from '../harness/store.js';
import { drive, put, row, T0 } from '../harness/rows.js';

let ts: TestStore;
beforeEach(async () => {
  ts = await openTestStore();
});
afterEach(async () => ts.close());

/** Places RUNNABLE job `id` on instance i-1, as a pass does; answers its attempt's token. */
async function place(id: string): Promise<string> {
  const job = (await getJob(ts.store.db, id))!;
  const token = `tok-${id}-${job.attempt_count + 1}`;
  await ts.uow.write((tx) => startAttempts(tx, [{ job, placement: { instanceId: 'i-1', ceName: 'ce', token, logStreamName: `d/default/${id}-${job.attempt_count + 1}` } }], T0 + 10));
  return token;
}

async function attemptsOf(id: string) {
  return ts.store.db.selectFrom('attempts').select(['attempt', 'withdraw_at']).where('job_id', '=', id).orderBy('attempt').execute();
}

async function streams() {
  return (await ts.store.db.selectFrom('log_streams').select('log_stream').orderBy('log_stream').execute()).map((r) => r.log_stream);
}

describe('withdrawQueued', () => {
  test('an attempt its agent was not handed yet is withdrawn at once: the job is RUNNABLE as before, the attempt and its stream gone', async () => {
    await put(ts, row('a').build());
    await drive(ts, 'a', 'RUNNABLE');
    await place('a');
    assert.deepEqual((await startingOn(ts.store.db, ['i-1'])).map((j) => j.id), ['a']);
    ts.events.length = 0;
    const asked = await ts.uow.write((tx) => withdrawQueued(tx, [{ jobId: 'a', instanceId: 'i-1' }], T0 + 20));
    assert.deepEqual([...asked], []);
    const a = (await getJob(ts.store.db, 'a'))!;
    assert.deepEqual([a.status, a.attempt_count, a.instance_id, a.ce_name, a.log_stream_name], ['RUNNABLE', 0, null, null, null]);
    assert.deepEqual(await attemptsOf('a'), []);
    assert.deepEqual(await streams(), []);
    assert.deepEqual(ts.events.map((e) => [e.from, e.to]), [['STARTING', 'RUNNABLE']]);
  });

  test('a retried job withdrawn gets back its earlier attempt\'s count and log stream', async () => {
    await put(ts, row('a').build());
    await drive(ts, 'a', 'RUNNABLE');
    await place('a');
    await drive(ts, 'a', 'RUNNING', 'RUNNABLE');
    await place('a');
    await ts.uow.write((tx) => withdrawQueued(tx, [{ jobId: 'a', instanceId: 'i-1' }], T0 + 20));
    const a = (await getJob(ts.store.db, 'a'))!;
    assert.deepEqual([a.status, a.attempt_count, a.log_stream_name], ['RUNNABLE', 1, 'd/default/a-1']);
    assert.deepEqual((await attemptsOf('a')).map((x) => x.attempt), [1]);
  });

  test('an attempt handed out is asked for; when its agent gives it back, the job is RUNNABLE again', async () => {
    await put(ts, row('a').build());
    await drive(ts, 'a', 'RUNNABLE');
    const token = await place('a');
    await markDelivered(ts.store.db, 'i-1', ['a'], T0 + 15);
    const asked = await ts.uow.write((tx) => withdrawQueued(tx, [{ jobId: 'a', instanceId: 'i-1' }], T0 + 20));
    assert.deepEqual([...asked], ['i-1']);
    assert.equal((await getJob(ts.store.db, 'a'))!.status, 'STARTING', 'it may have started: only its agent knows');
    assert.deepEqual(await attemptsOf('a'), [{ attempt: 1, withdraw_at: T0 + 20 }]);
    // A report with another token, or from another instance, is stale.
    const refused = await ts.uow.write(async (tx) => {
      const b = await AttemptReports.load(tx, ['a'], T0 + 25, 'i-1');
      const wrongToken = b.withdrawn('a', 1, 'forged');
      const b2 = await AttemptReports.load(tx, ['a'], T0 + 25, 'i-2');
      return [wrongToken, b2.withdrawn('a', 1, token)];
    });
    assert.deepEqual(refused, [false, false]);
    const ok = await ts.uow.write(async (tx) => {
      const b = await AttemptReports.load(tx, ['a'], T0 + 30, 'i-1');
      const r = b.withdrawn('a', 1, token);
      await b.flush();
      return r;
    });
    assert.equal(ok, true);
    const a = (await getJob(ts.store.db, 'a'))!;
    assert.deepEqual([a.status, a.attempt_count, a.instance_id], ['RUNNABLE', 0, null]);
    assert.deepEqual(await attemptsOf('a'), []);
  });

  test('an attempt that was not asked for, or has started, is not given back', async () => {
    await put(ts, row('a').build(), row('b').build());
    await drive(ts, 'a', 'RUNNABLE');
    await drive(ts, 'b', 'RUNNABLE');
    const ta = await place('a');
    const tb = await place('b');
    await markDelivered(ts.store.db, 'i-1', ['a', 'b'], T0 + 15);
    await ts.uow.write((tx) => withdrawQueued(tx, [{ jobId: 'b', instanceId: 'i-1' }], T0 + 20));
    const answers = await ts.uow.write(async (tx) => {
      const b = await AttemptReports.load(tx, ['a', 'b'], T0 + 25, 'i-1');
      assert.equal(await b.started('b', 1, tb, T0 + 22), true);
      const r = [b.withdrawn('a', 1, ta), b.withdrawn('b', 1, tb)];
      await b.flush();
      return r;
    });
    assert.deepEqual(answers, [false, false]);
    assert.equal((await getJob(ts.store.db, 'a'))!.status, 'STARTING');
    assert.equal((await getJob(ts.store.db, 'b'))!.status, 'RUNNING');
  });
});
