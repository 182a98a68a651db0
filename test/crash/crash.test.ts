/**
 * The short crash run of the normal suite: a seeded mixed workload (arrays, N_TO_N and
 * SEQUENTIAL dependencies, retries with evaluateOnExit, timeouts, cancels and terminates)
 * while the control plane is killed, stopped or paused and agents are killed a few times;
 * afterwards no accepted job is lost, none ran twice at once, none failed for the control
 * plane's sake, dependencies and retry strategies held (harness.ts).
 * In the suite's PostgreSQL pass it runs with two control planes on one database, and the
 * first kill (and most control-plane kills after it) takes the leader: the other control
 * plane must take the lease over and the workload must come through all the same.
 * `npm run chaos` runs the same for as long as asked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanUp, runChaos, storeFromEnv } from './harness.js';

test('a workload survives killed, stopped and paused control planes and killed agents: nothing lost, run twice or failed for it', async () => {
  const seed = Number(process.env.CHAOS_SEED ?? 20261125);
  const result = await runChaos({ seed, durationMs: 40_000, killEveryMs: 7_000, settleMs: 90_000, store: storeFromEnv(), log: (l) => console.log(l) });
  const { violations, workDir, database: _database, ...numbers } = result;
  console.log(`crash run: ${JSON.stringify(numbers)}`);
  assert.deepEqual(violations, [], `seed ${seed}, run kept in ${workDir}`);
  assert.equal(result.lost, 0);
  assert.equal(result.doubleRuns, 0);
  // Every restart and pause is shorter than the agent lease: no running attempt is lost to them.
  assert.equal(result.controlPlaneFailures, 0, `attempts failed because a control plane restarted or paused (killed to listening again: ${result.downtimeMs.join(', ')} ms)`);
  assert.ok(result.readoptMs.every((ms) => ms >= 0), `a restarted control plane did not hear from its agents within 30 s: ${result.readoptMs.join(', ')} ms`);
  assert.ok(result.jobs > 10, `only ${result.jobs} jobs were accepted`);
  assert.ok(result.serverKills + result.agentKills >= 2, 'the run killed too little to mean anything');
  if (result.store === 'postgres') {
    assert.ok(result.leaderKills >= 1, 'no leader was killed: the run shows no failover');
    assert.ok(result.failoverMs.every((ms) => ms >= 0), `a killed leader was not replaced within 30 s: ${result.failoverMs.join(', ')} ms`);
  }
  await cleanUp(result);
});
