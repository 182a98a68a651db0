/**
 * `npm run chaos -- --minutes 30 --seed 7`: the crash harness for as long as asked, run
 * after run (each with the next seed), printing each run's figures and stopping at the
 * first run with a violation (its work directory is kept). CHAOS_DATABASE_URL (and
 * CHAOS_CONTROL_PLANES, 2 by default) select PostgreSQL with several control planes: the URL's
 * account creates a database per run there (kept after a failed run, dropped after a passing one).
 */
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { cleanUp, runChaos, storeFromEnv } from './harness.js';

// Jobs in the bubblewrap sandbox get a private /tmp, so the harness's files (the jobs' scripts
// and their records) must live where they can see them, as the test suite's do
// (scripts/run-tests.mjs).
if (tmpdir() === '/tmp') process.env.TMPDIR = '/var/tmp';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, seed: { type: 'string', default: String(Date.now() % 100000) }, 'run-minutes': { type: 'string', default: '3' } } });
const until = Date.now() + Number(values.minutes) * 60_000;
const runMs = Number(values['run-minutes']) * 60_000;
let seed = Number(values.seed);
const total = { runs: 0, serverKills: 0, serverPauses: 0, agentKills: 0, leaderKills: 0, failoverMsMax: 0, readoptMsMax: 0, downtimeMsMax: 0, jobs: 0, attemptsRun: 0, lost: 0, doubleRuns: 0, controlPlaneFailures: 0 };
while (Date.now() < until) {
  const r = await runChaos({ seed, durationMs: Math.min(runMs, Math.max(until - Date.now(), 30_000)), killEveryMs: 5_000, store: storeFromEnv(), log: (l) => console.log(`[seed ${seed}] ${l}`) });
  total.runs++;
  total.serverKills += r.serverKills;
  total.serverPauses += r.serverPauses;
  total.readoptMsMax = Math.max(total.readoptMsMax, ...r.readoptMs);
  total.downtimeMsMax = Math.max(total.downtimeMsMax, ...r.downtimeMs);
  total.controlPlaneFailures += r.controlPlaneFailures;
  total.agentKills += r.agentKills;
  total.leaderKills += r.leaderKills;
  total.failoverMsMax = Math.max(total.failoverMsMax, ...r.failoverMs);
  total.jobs += r.jobs;
  total.attemptsRun += r.attemptsRun;
  total.lost += r.lost;
  total.doubleRuns += r.doubleRuns;
  const { violations, workDir, database: _database, ...numbers } = r;
  console.log(`run ${total.runs}: ${JSON.stringify(numbers)}`);
  if (r.controlPlaneFailures) violations.push(`${r.controlPlaneFailures} attempts failed for the control plane's sake (control planes down ${r.downtimeMs.join(', ')} ms)`);
  if (r.readoptMs.some((ms) => ms < 0)) violations.push('a restarted control plane did not hear from its agents within 30 s');
  if (violations.length) {
    console.log(`VIOLATIONS (seed ${seed}, kept in ${workDir}):\n  ${violations.join('\n  ')}`);
    console.log(`total: ${JSON.stringify(total)}`);
    process.exit(1);
  }
  await cleanUp(r);
  seed++;
}
console.log(`total: ${JSON.stringify(total)}`);
