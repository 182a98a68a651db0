/**
 * The benchmarks still run: each workload at a tiny size, and its result has the fields the
 * report needs, with sane values. No timing is asserted; figures are for `npm run bench`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { percentiles, table } from '../../bench/lib.js';
import { profileRun } from '../../bench/profile.js';
import { latency } from '../../bench/workloads/latency.js';
import { submitRate } from '../../bench/workloads/submitRate.js';
import { throughput } from '../../bench/workloads/throughput.js';
import { arrayThroughput } from '../../bench/workloads/arrayThroughput.js';
import { schedulerScale } from '../../bench/workloads/schedulerScale.js';
import { dashboardScale } from '../../bench/workloads/dashboard.js';
import { scaleOut } from '../../bench/workloads/scaleOut.js';
import { cpuJobs } from '../../bench/workloads/cpuJobs.js';
import { dependencies } from '../../bench/workloads/dependencies.js';
import { schedulerCore } from '../../bench/workloads/schedulerCore.js';
import { targets } from '../../bench/targets.js';

const positive = (x: number, what: string) => assert.ok(Number.isFinite(x) && x > 0, `${what} = ${x}`);

describe('bench', () => {
  test('workload 3: 100 ms CPU jobs against the ideal and the same commands through xargs', async () => {
    const r = await cpuJobs({ jobs: 4, cores: 2 });
    assert.equal(r.jobs, 4);
    assert.equal(r.idealSeconds, 0.2);
    for (const k of ['makespanSeconds', 'rawSeconds', 'ratioToIdeal', 'ratioToRaw'] as const) positive(r[k], k);
  });

  test('workload 4: a dependency chain and a fan-out/fan-in against raw spawns', async () => {
    const r = await dependencies({ chain: 3, fan: 4, cores: 2, tuned: true });
    assert.equal(r.chain.jobs, 3);
    assert.equal(r.fan.jobs, 6, 'root + 4 children + sink');
    for (const f of [r.chain, r.fan]) for (const k of ['jobsPerSecond', 'xargsPerSecond', 'nodeSpawnPerSecond', 'ratioToXargs', 'ratioToNodeSpawn'] as const) positive(f[k], k);
    for (const f of [r.tuned!.chain, r.tuned!.fan]) for (const k of ['jobsPerSecond', 'ratioToXargs', 'ratioToNodeSpawn'] as const) positive(f[k], `tuned ${k}`);
    positive(r.chainSubmitMs!.default, 'chain submission span');
    positive(r.chainSubmitMs!.tuned!, 'chain submission span, tuned CE');
    assert.ok(r.chainSubmitMs!.default <= r.chain.elapsedMs, 'the submission span lies within the chain');
  });

  test('workload 8: the scheduler core with an agent whose executor spawns nothing', async () => {
    const r = await schedulerCore({ singles: 5, arraySize: 7, slots: 4 });
    assert.equal(r.singles.jobs, 5);
    assert.equal(r.array.jobs, 7);
    positive(r.singles.jobsPerSecond, 'singles/s');
    positive(r.array.jobsPerSecond, 'array/s');
    // Measured in clock ticks (10 ms): a tiny run may see none.
    if (process.platform === 'linux') for (const f of [r.singles, r.array]) assert.ok(Number.isFinite(f.serverCpuMsPerJob) && f.serverCpuMsPerJob >= 0, `server CPU ms per job = ${f.serverCpuMsPerJob}`);
  });

  test('the closing table: every ratio present is held against its target', () => {
    const rows = targets({
      latency: { toRunningMs: { p50: 4, p99: 30 }, ratioRunningToSpawn: 1.5 } as never,
      schedulerScale: { passRatio: 2.5, rssMiB: 300, small: { queued: 1_000 }, large: { queued: 1_000_000 } } as never,
      arrayThroughput: { ratioToXargs: 0.6, ratioToNodeSpawn: 1.2, cpu: { serverMsPerJob: 0.15, agentMsPerJob: 0.5, forkServerMsPerJob: 0.1 } } as never,
    });
    assert.equal(rows.find((x) => x.figure.startsWith('array children ÷ xargs'))?.met, true, 'issue 23: ≥ 0.5× on a default CE');
    assert.equal(rows.find((x) => x.figure === 'agent CPU ms per array child (with its fork server), default CE')?.met, false);
    assert.equal(rows.find((x) => x.figure === 'server CPU ms per array child, default CE')?.met, true);
    const p50 = rows.find((x) => x.figure.startsWith('submit → RUNNING p50'));
    assert.equal(p50?.met, true);
    assert.equal(rows.find((x) => x.figure.startsWith('submit → RUNNING p99'))?.met, false);
    assert.equal(rows.find((x) => x.figure.startsWith('pass p50'))?.met, false);
    assert.equal(rows.find((x) => x.figure.startsWith('RUNNING p50 ÷'))?.met, undefined, 'no target, no verdict');
    assert.ok(!rows.some((x) => x.workload === '1'), 'workloads not run are left out');
  });

  test('workload 7: scheduler pass and SubmitJob rate at two queue sizes, and array vs plain SubmitJob', async () => {
    const r = await schedulerScale({ large: 2_000, passes: 2, submits: 1, submitMs: 200 });
    assert.equal(r.large.queued, 2_000);
    positive(r.submitRate.small, 'SubmitJob/s with the small queue');
    positive(r.submitRate.ratio, 'SubmitJob/s large ÷ small');
    positive(r.small.passMs.p50, 'small pass p50');
    positive(r.large.passMs.p50, 'large pass p50');
    positive(r.passRatio, 'passRatio');
    positive(r.submitMs.ratio, 'array/plain');
  });

  test('dashboard requests at two sizes', async () => {
    const r = await dashboardScale({ large: 2_000, rounds: 1 });
    assert.equal(r.large, 2_000);
    assert.ok(r.rows.some((x) => x.request === 'overview'));
    for (const x of r.rows) positive(x.ratio, x.request);
  });

  test('percentiles and table', () => {
    const p = percentiles([5, 1, 4, 2, 3]);
    assert.deepEqual([p.n, p.p50, p.p90, p.max], [5, 3, 5, 5]);
    assert.match(table(['a', 'b'], [['x', 1234.5]]), /\| x \| 1,235 \|/);
  });

  test('workload 6: SubmitJob and DescribeJobs rates against their peers', async () => {
    const r = await submitRate({ concurrencies: [1, 2], durationMs: 200, rounds: 1 });
    assert.equal(r.rows.length, 2);
    positive(r.jobsSubmitted, 'jobsSubmitted');
    positive(r.sqliteCommitsPerSecond, 'sqliteCommitsPerSecond');
    positive(r.sequentialRatioToCommits, 'sequentialRatioToCommits');
    for (const row of r.rows) {
      for (const k of ['submit', 'dependent', 'describe', 'noop'] as const) {
        positive(row[k].perSecond, `${k}/s`);
        positive(row[k].latencyMs.p50, `${k} p50`);
        // A short segment may fall between two clock ticks of the server's CPU time: ≥ 0, not > 0.
        if (process.platform === 'linux') assert.ok(Number.isFinite(row[k].serverCpuMs) && row[k].serverCpuMs >= 0, `${k} server CPU ms = ${row[k].serverCpuMs}`);
      }
      positive(row.ratioToDescribe, 'ratioToDescribe');
      positive(row.ratioToNoop, 'ratioToNoop');
    }
  });

  test('workload 5: submit → RUNNING latency against spawn', async () => {
    const r = await latency({ jobs: 5, spawnSamples: 5 });
    assert.equal(r.toRunningMs.n, 5);
    for (const k of ['toRunningMs', 'toSucceededMs', 'submitCallMs', 'spawnEventMs', 'spawnExitMs'] as const) positive(r[k].p50, k);
    positive(r.ratioRunningToSpawn, 'ratioRunningToSpawn');
    positive(r.ratioSucceededToExit, 'ratioSucceededToExit');
  });

  test('workload 1: throughput against xargs and a Node spawn loop', async () => {
    const r = await throughput({ jobs: 5, cores: 2, submitConcurrency: 4, tuned: true });
    for (const k of ['jobsPerSecond', 'submitPerSecond', 'xargsPerSecond', 'nodeSpawnPerSecond', 'ratioToXargs', 'ratioToNodeSpawn'] as const) positive(r[k], k);
    assert.equal(r.tuned?.tags['openbatch:prefetch'], '16', 'the tuned CE queues 8 jobs per core');
    for (const k of ['jobsPerSecond', 'ratioToXargs', 'ratioToNodeSpawn'] as const) positive(r.tuned![k], `tuned ${k}`);
  });

  test('workload 2: one array of trivial children against xargs and a Node spawn loop', async () => {
    const r = await arrayThroughput({ size: 6, cores: 2, tuned: true });
    assert.equal(r.size, 6);
    for (const k of ['childrenPerSecond', 'xargsPerSecond', 'nodeSpawnPerSecond', 'ratioToXargs', 'ratioToNodeSpawn'] as const) positive(r[k], k);
    for (const k of ['jobsPerSecond', 'ratioToXargs', 'ratioToNodeSpawn'] as const) positive(r.tuned![k], `tuned ${k}`);
  });

  test('compute: scale-up to a new instance, and trivial jobs through 1, 2 and 8 instances', async () => {
    const r = await scaleOut({ scaleUpRounds: 2, jobs: 8 });
    assert.equal(r.scaleUpMs.n, 2);
    positive(r.scaleUpMs.p50, 'scaleUpMs p50');
    positive(r.scaleUpRatio, 'scaleUpRatio');
    assert.deepEqual(r.throughput.map((x) => x.instances), [1, 2, 8]);
    for (const x of r.throughput) positive(x.jobsPerSecond, `jobs/s through ${x.instances}`);
    positive(r.ratio8to1, 'ratio8to1');
  });

  test('profiling run: server CPU profile, SQL statements, agent profile', async () => {
    const p = await profileRun((server) => throughput({ jobs: 5, cores: 2, submitConcurrency: 4, skipLimits: true, server }));
    positive(p.server.busyMs, 'server busyMs');
    assert.ok(p.server.topFunctions.length > 0);
    assert.ok(p.sql.some((s) => s.sql === 'commit' && s.calls > 0));
    assert.ok(p.agents.length >= 1);
    positive(p.agents[0].busyMs, 'agent busyMs');
  });
});
