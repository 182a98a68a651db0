/**
 * openbatch benchmarks: `npm run bench` (full) or `npm run bench -- --quick` (under two minutes).
 *
 *   --quick          small sizes
 *   --profile        also run workloads 1, 2, 6 and 8 once more, untimed, with the server under
 *                    `node --cpu-prof`, its SQLite statements timed and its agents profiled,
 *                    and print where the time went (default in a full run; --no-profile skips it)
 *   --only=a,b       only these workloads (issue 12's numbers): throughput (1), array (2), cpu (3),
 *                    deps (4), latency (5), submit (6), scheduler (7), core (8); and slurm, dashboard,
 *                    compute, executors
 *
 * Prints the tables and writes everything to bench/results/<timestamp>.json. Method and the
 * latest figures: docs/benchmarks.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { machineFacts, REPO_ROOT, table } from './lib.js';
import { arrayThroughput } from './workloads/arrayThroughput.js';
import { profileRun, type ProfiledRun, type ProfileSummary, type SqlStat } from './profile.js';
import { latency, type LatencyResult } from './workloads/latency.js';
import { submitRate, type SubmitRateResult } from './workloads/submitRate.js';
import { throughput, type CpuPerJob, type ThroughputResult, type TunedRate } from './workloads/throughput.js';
import { schedulerScale } from './workloads/schedulerScale.js';
import { slurmPeer, type SlurmResult } from './workloads/slurm.js';
import { dashboardScale } from './workloads/dashboard.js';
import { scaleOut } from './workloads/scaleOut.js';
import { executorStart } from './workloads/executorStart.js';
import { cpuJobs } from './workloads/cpuJobs.js';
import { dependencies } from './workloads/dependencies.js';
import { schedulerCore } from './workloads/schedulerCore.js';
import { targets } from './targets.js';

// The SDK's notice that its 2027 releases need Node 22 says nothing about these figures.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const profile = args.includes('--profile') || (!quick && !args.includes('--no-profile'));
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const wanted = (w: string) => !only || only.includes(w);

// Slurm runs well under 10 trivial jobs/s on one node, so its sizes are smaller; ratios are of rates.
const SIZES = quick
  ? { rateMs: 1_500, rounds: 3, latencyJobs: 50, spawnSamples: 100, tputJobs: 300, arraySize: 1_000, cpuJobs: 100, chain: 100, fan: 200, coreSingles: 1_000, coreArray: 2_000, coreSlots: 256, schedLarge: 100_000, arraySubmits: 10, slurmJobs: 20, slurmCpuJobs: 10, slurmChain: 10, slurmFan: 20, dashLarge: 100_000, scaleUpRounds: 5, computeJobs: 200, execSamples: 50, containerSamples: 10 }
  : { rateMs: 6_000, rounds: 3, latencyJobs: 300, spawnSamples: 300, tputJobs: 2_000, arraySize: 10_000, cpuJobs: 1_000, chain: 1_000, fan: 1_000, coreSingles: 10_000, coreArray: 10_000, coreSlots: 256, schedLarge: 1_000_000, arraySubmits: 30, slurmJobs: 200, slurmCpuJobs: 100, slurmChain: 50, slurmFan: 200, dashLarge: 1_000_000, scaleUpRounds: 20, computeJobs: 1_000, execSamples: 300, containerSamples: 50 };

const log = (s = '') => process.stdout.write(s + '\n');

function printSubmit(r: SubmitRateResult): void {
  log('\n## 6. SubmitJob and DescribeJobs rates (SDK, SigV4; CE DISABLED, so SubmitJob is API + durable commit)\n');
  log(
    table(
      ['in flight', 'SubmitJob /s', 'DescribeJobs /s', 'SDK → /healthz /s', 'submit ÷ describe', 'submit ÷ no-op', 'describe ÷ no-op', 'submit p50 ms', 'submit p99 ms'],
      r.rows.map((x) => [
        String(x.concurrency),
        x.submit.perSecond,
        x.describe.perSecond,
        x.noop.perSecond,
        x.ratioToDescribe,
        x.ratioToNoop,
        x.describe.perSecond / x.noop.perSecond,
        x.submit.latencyMs.p50,
        x.submit.latencyMs.p99,
      ]),
    ),
  );
  log('\nserver CPU per operation, ms (the server process alone, whatever the client on the same cores costs):\n');
  log(
    table(
      ['in flight', 'SubmitJob', 'SubmitJob behind an unfinished dependency', 'DescribeJobs', 'SDK → /healthz'],
      r.rows.map((x) => [
        String(x.concurrency),
        x.submit.serverCpuMs.toFixed(3),
        // (absent from results written before it was measured)
        x.dependent ? x.dependent.serverCpuMs.toFixed(3) : '',
        x.describe.serverCpuMs.toFixed(3),
        x.noop.serverCpuMs.toFixed(3),
      ]),
    ),
  );
  log(`\nSubmitJob behind an unfinished dependency, /s: ${r.rows.map((x) => `${x.dependent?.perSecond.toFixed(0) ?? '-'} at ${x.concurrency} in flight`).join(', ')}`);
  log(
    `\nlimit: durable one-row SQLite commits, one at a time (WAL, synchronous=FULL): ${r.sqliteCommitsPerSecond.toFixed(0)}/s; ` +
      `sequential SubmitJob ÷ that = ${r.sequentialRatioToCommits.toFixed(2)}`,
  );
}

function printLatency(r: LatencyResult): void {
  log(`\n## 5. submit → RUNNING on idle capacity (${r.jobs} sequential jobs of \`true\`), ms\n`);
  const row = (name: string, p: LatencyResult['toRunningMs']) => [name, p.p50, p.p90, p.p99, p.max];
  log(
    table(
      ['measure', 'p50', 'p90', 'p99', 'max'],
      [
        row('submit → startedAt (RUNNING)', r.toRunningMs),
        row('submit → SUCCEEDED seen (2 ms polls)', r.toSucceededMs),
        row('SubmitJob round trip', r.submitCallMs),
        row("limit: spawn('true') → 'spawn'", r.spawnEventMs),
        row("limit: spawn('true') → 'exit'", r.spawnExitMs),
      ],
    ),
  );
  log(`\nratios (p50): RUNNING ÷ spawn = ${r.ratioRunningToSpawn.toFixed(1)}×, SUCCEEDED ÷ exit = ${r.ratioSucceededToExit.toFixed(1)}×`);
}

/** The row of openbatch on the CE tuned for short jobs, when the workload ran it. */
function tunedRow(t: TunedRate | undefined): (string | number)[][] {
  if (!t) return [];
  return [[`openbatch, CE tuned for short jobs (${Object.entries(t.tags).map(([k, v]) => `${k}=${v}`).join(', ')})`, t.jobsPerSecond, '']];
}

/** openbatch's own CPU per job (server, agent with its fork server), on the default CE and the tuned one. */
function printCpu(cpu: CpuPerJob | undefined, tuned: CpuPerJob | undefined): void {
  const one = (c: CpuPerJob) => `server ${c.serverMsPerJob.toFixed(3)}, agent ${c.agentMsPerJob.toFixed(3)} (of which its fork server ${c.forkServerMsPerJob.toFixed(3)})`;
  if (cpu) log(`
openbatch's own CPU per job, ms (from /proc): default CE ${one(cpu)}${tuned ? `; tuned CE ${one(tuned)}` : ''}`);
}

/** openbatch ÷ a limit: default CE, and tuned CE after a slash when it ran. */
const ratios = (plain: number, tuned: number | undefined) => (tuned === undefined ? plain.toFixed(2) : `${plain.toFixed(2)} / tuned ${tuned.toFixed(2)}`);

function printThroughput(r: ThroughputResult): void {
  log(`\n## 1. Trivial-job throughput, one SubmitJob each (${r.jobs} jobs of \`true\`, ${r.concurrency} at a time)\n`);
  log(
    table(
      ['runner', 'jobs/s', 'openbatch ÷ runner'],
      [
        ['openbatch (first submit → last SUCCEEDED)', r.jobsPerSecond, '1'],
        ...tunedRow(r.tuned),
        [`limit: xargs -P ${r.concurrency} -I{} true`, r.xargsPerSecond, ratios(r.ratioToXargs, r.tuned?.ratioToXargs)],
        [`limit: Node spawn loop, ${r.concurrency} in flight`, r.nodeSpawnPerSecond, ratios(r.ratioToNodeSpawn, r.tuned?.ratioToNodeSpawn)],
      ],
    ),
  );
  log(`\nSubmitJob calls during the run: ${r.submitPerSecond.toFixed(0)}/s`);
  printCpu(r.cpu, r.tuned?.cpu);
}

function printSlurm(r: SlurmResult): void {
  log(`\n## Side by side with Slurm (${r.jobs} trivial jobs one by one and as one array; ${r.cpuJobs} jobs of 100 ms CPU; a chain of ${r.chain ?? 0}; a fan-out of ${r.fan ?? 0})\n`);
  if (r.skipped || !r.slurm || !r.openbatch || !r.provider || !r.ratios || !r.providerRatios) {
    log(`skipped: ${r.skipped ?? 'no result'}`);
    return;
  }
  log(`${r.version}, single node, configuration of bench/peers/slurm (high-throughput settings)\n`);
  log(
    table(
      ['workload', 'Slurm (sbatch) jobs/s', 'openbatch local jobs/s', 'openbatch ÷ Slurm', 'openbatch → Slurm provider jobs/s', 'provider ÷ plain sbatch'],
      [
        ['one by one', r.slurm.oneByOne.jobsPerSecond, r.openbatch.oneByOne.jobsPerSecond, r.ratios.oneByOne.toFixed(1), r.provider.oneByOne.jobsPerSecond, r.providerRatios.oneByOne.toFixed(2)],
        ['one array', r.slurm.array.jobsPerSecond, r.openbatch.array.jobsPerSecond, r.ratios.array.toFixed(1), r.provider.array.jobsPerSecond, r.providerRatios.array.toFixed(2)],
        ['100 ms CPU, one by one', r.slurm.cpu.jobsPerSecond, r.openbatch.cpu.jobsPerSecond, r.ratios.cpu.toFixed(1), '', ''],
      ],
    ),
  );
  if (r.slurm.chain) log(`\nchain of ${r.chain} (sbatch --dependency=afterok): ${(r.slurm.chain.elapsedMs / 1000).toFixed(1)} s, ${r.slurm.chain.jobsPerSecond.toFixed(2)} jobs/s`);
  if (r.slurm.fan) log(`root → array of ${r.fan} → sink: ${(r.slurm.fan.elapsedMs / 1000).toFixed(1)} s, ${r.slurm.fan.jobsPerSecond.toFixed(2)} jobs/s`);
  log(`\n100 ms CPU makespan: Slurm ${(r.slurm.cpu.elapsedMs / 1000).toFixed(1)} s, openbatch ${(r.openbatch.cpu.elapsedMs / 1000).toFixed(1)} s, ideal (CPU-seconds ÷ cores) ${r.slurm.cpu.ideal.toFixed(1)} s`);
}

function printProfile(title: string, p: ProfileSummary): void {
  log(`\n### ${title}: ${p.busyMs.toFixed(0)} ms busy of ${p.wallMs.toFixed(0)} ms\n`);
  log(table(['area (self time)', 'ms', '% of busy'], p.areas.slice(0, 10).map((e) => [e.name, e.ms, e.pct.toFixed(1)])));
  log('');
  log(table(['function (self time)', 'ms', '% of busy'], p.topFunctions.map((e) => [e.name, e.ms, e.pct.toFixed(1)])));
}

function printSql(sql: SqlStat[], server: ProfileSummary): void {
  const total = sql.reduce((n, x) => n + x.runMs + x.prepareMs, 0);
  log(`\n### server SQLite statements: ${total.toFixed(0)} ms (${((100 * total) / server.busyMs).toFixed(0)}% of server busy time)\n`);
  log(
    table(
      ['statement', 'calls', 'run ms', 'prepare ms', 'µs/call'],
      sql.slice(0, 12).map((x) => [x.sql.length > 90 ? x.sql.slice(0, 89) + '…' : x.sql, x.calls, x.runMs, x.prepareMs, (1000 * (x.runMs + x.prepareMs)) / Math.max(x.calls, 1)]),
    ),
  );
}

const facts = machineFacts();
const started = new Date();
log(
  `openbatch bench ${quick ? '(quick)' : '(full)'} — ${started.toISOString()}\n` +
    `commit ${facts.commit.slice(0, 12)}${facts.dirty ? ' (work tree modified)' : ''}; ${facts.cores} cores (${facts.cpuModel}), ` +
    `${facts.memoryMiB} MiB, node ${facts.node}, ${facts.platform}; load average ${facts.loadAverage.toFixed(2)}`,
);

const results: Record<string, unknown> = { date: started.toISOString(), quick, machine: facts, sizes: SIZES };
const outDir = join(REPO_ROOT, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const outFile = join(outDir, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
/** Written after each workload, so that a workload that fails loses none of the others' figures. */
const save = () => writeFileSync(outFile, JSON.stringify(results, null, 2) + '\n');
if (wanted('throughput')) {
  const r = await throughput({ jobs: SIZES.tputJobs, cores: facts.cores, submitConcurrency: 16, tuned: true });
  results.throughput = r;
  save();
  printThroughput(r);
}
if (wanted('array')) {
  const r = await arrayThroughput({ size: SIZES.arraySize, cores: facts.cores, tuned: true });
  results.arrayThroughput = r;
  save();
  log(`\n## 2. One array of ${r.size.toLocaleString('en')} children of \`true\`, ${r.concurrency} at a time\n`);
  log(
    table(
      ['runner', 'jobs/s', 'openbatch ÷ runner'],
      [
        ['openbatch (SubmitJob → parent SUCCEEDED)', r.childrenPerSecond, '1'],
        ...tunedRow(r.tuned),
        [`limit: xargs -P ${r.concurrency} -I{} true`, r.xargsPerSecond, ratios(r.ratioToXargs, r.tuned?.ratioToXargs)],
        [`limit: Node spawn loop, ${r.concurrency} in flight`, r.nodeSpawnPerSecond, ratios(r.ratioToNodeSpawn, r.tuned?.ratioToNodeSpawn)],
      ],
    ),
  );
  printCpu(r.cpu, r.tuned?.cpu);
}
if (wanted('cpu')) {
  const r = await cpuJobs({ jobs: SIZES.cpuJobs, cores: facts.cores });
  results.cpuJobs = r;
  save();
  log(`\n## 3. ${r.jobs.toLocaleString('en')} jobs of 100 ms CPU on ${r.cores} cores: makespan, s\n`);
  log(
    table(
      ['runner', 'makespan s', 'openbatch ÷ runner'],
      [
        ['openbatch (first submit → last SUCCEEDED)', r.makespanSeconds, '1'],
        [`limit: xargs -P ${r.cores} of the same command`, r.rawSeconds, r.ratioToRaw.toFixed(2)],
        ['ideal: CPU-seconds ÷ cores', r.idealSeconds, r.ratioToIdeal.toFixed(2)],
      ],
    ),
  );
}
if (wanted('deps')) {
  const r = await dependencies({ chain: SIZES.chain, fan: SIZES.fan, cores: facts.cores, tuned: true });
  results.dependencies = r;
  save();
  log(`\n## 4. Dependencies: a chain of ${r.chain.jobs.toLocaleString('en')}, and root → array of ${(r.fan.jobs - 2).toLocaleString('en')} → sink\n`);
  log(
    table(
      ['workload', 'openbatch s', 'jobs/s', 'raw: xargs jobs/s', 'openbatch ÷ xargs', 'raw: Node spawn jobs/s', 'openbatch ÷ Node spawn'],
      [
        ['chain (raw: one at a time)', r.chain.elapsedMs / 1000, r.chain.jobsPerSecond, r.chain.xargsPerSecond, r.chain.ratioToXargs.toFixed(2), r.chain.nodeSpawnPerSecond, r.chain.ratioToNodeSpawn.toFixed(2)],
        [`fan-out/fan-in (raw: ${r.cores} at a time)`, r.fan.elapsedMs / 1000, r.fan.jobsPerSecond, r.fan.xargsPerSecond, r.fan.ratioToXargs.toFixed(2), r.fan.nodeSpawnPerSecond, r.fan.ratioToNodeSpawn.toFixed(2)],
        ...(r.tuned
          ? [
              ['chain, CE tuned for short jobs', r.chain.jobs / r.tuned.chain.jobsPerSecond, r.tuned.chain.jobsPerSecond, r.chain.xargsPerSecond, r.tuned.chain.ratioToXargs.toFixed(2), r.chain.nodeSpawnPerSecond, r.tuned.chain.ratioToNodeSpawn.toFixed(2)],
              ['fan-out/fan-in, CE tuned for short jobs', r.fan.jobs / r.tuned.fan.jobsPerSecond, r.tuned.fan.jobsPerSecond, r.fan.xargsPerSecond, r.tuned.fan.ratioToXargs.toFixed(2), r.fan.nodeSpawnPerSecond, r.tuned.fan.ratioToNodeSpawn.toFixed(2)],
            ]
          : []),
      ],
    ),
  );
  const sub = r.chainSubmitMs;
  if (sub) {
    const part = (submitMs: number, jobsPerSecond: number) => `${(submitMs / 1000).toFixed(1)} s of ${(r.chain.jobs / jobsPerSecond).toFixed(1)} s`;
    log(
      `\nthe chain's SubmitJobs, one at a time, ran while its jobs did: ${part(sub.default, r.chain.jobsPerSecond)} (default CE)` +
        (sub.tuned !== undefined && r.tuned ? `, ${part(sub.tuned, r.tuned.chain.jobsPerSecond)} (tuned CE)` : ''),
    );
  }
}
if (wanted('latency')) {
  const r = await latency({ jobs: SIZES.latencyJobs, spawnSamples: SIZES.spawnSamples });
  results.latency = r;
  save();
  printLatency(r);
}
if (wanted('submit')) {
  const r = await submitRate({ concurrencies: [1, 16], durationMs: SIZES.rateMs, rounds: SIZES.rounds });
  results.submitRate = r;
  save();
  printSubmit(r);
}
if (wanted('scheduler')) {
  const r = await schedulerScale({ large: SIZES.schedLarge, passes: 20, submits: SIZES.arraySubmits, submitMs: SIZES.rateMs });
  results.schedulerScale = r;
  save();
  log(`\n## 7. Scheduler scale: pass time with ${r.small.queued.toLocaleString('en')} vs ${r.large.queued.toLocaleString('en')} RUNNABLE jobs queued, ms\n`);
  log(
    table(
      ['queued', 'pass p50', 'pass p90', 'pass max'],
      [
        [r.small.queued.toLocaleString('en'), r.small.passMs.p50, r.small.passMs.p90, r.small.passMs.max],
        [r.large.queued.toLocaleString('en'), r.large.passMs.p50, r.large.passMs.p90, r.large.passMs.max],
      ],
    ),
  );
  log(`\nlarge ÷ small (p50) = ${r.passRatio.toFixed(2)}; bench process RSS with the server in it: ${r.rssMiB.toFixed(0)} MiB; ${r.large.insertSeconds.toFixed(1)} s to insert the queued jobs`);
  log(
    `SubmitJob/s, ${16} in flight, into that queue: ${r.submitRate.small.toFixed(0)} with ${r.small.queued.toLocaleString('en')} queued, ` +
      `${r.submitRate.large.toFixed(0)} with ${r.large.queued.toLocaleString('en')} (large ÷ small ${r.submitRate.ratio.toFixed(2)})`,
  );
  log(`\n### 7b. SubmitJob of a 10,000-child array vs a plain SubmitJob, ms\n`);
  log(
    table(
      ['SubmitJob', 'p50', 'p90', 'max'],
      [
        ['plain', r.submitMs.plain.p50, r.submitMs.plain.p90, r.submitMs.plain.max],
        ['array of 10,000', r.submitMs.array10k.p50, r.submitMs.array10k.p90, r.submitMs.array10k.max],
      ],
    ),
  );
  log(`\narray ÷ plain (p50) = ${r.submitMs.ratio.toFixed(2)}`);
}
if (wanted('core')) {
  const r = await schedulerCore({ singles: SIZES.coreSingles, arraySize: SIZES.coreArray, slots: SIZES.coreSlots });
  results.schedulerCore = r;
  save();
  log(`\n## 8. Scheduler core: jobs through every state, durable commits, an agent whose executor spawns nothing (${r.slots} slots)\n`);
  log(
    table(
      ['jobs', 'n', 's', 'jobs/s', `÷ target ${r.target.toLocaleString('en')}/s`, 'server CPU ms/job'],
      [
        ['queued one by one, then the agent joins', r.singles.jobs, r.singles.elapsedMs / 1000, r.singles.jobsPerSecond, (r.singles.jobsPerSecond / r.target).toFixed(3), r.singles.serverCpuMsPerJob.toFixed(3)],
        ['one array (SubmitJob → parent SUCCEEDED)', r.array.jobs, r.array.elapsedMs / 1000, r.array.jobsPerSecond, (r.array.jobsPerSecond / r.target).toFixed(3), r.array.serverCpuMsPerJob.toFixed(3)],
      ],
    ),
  );
  log(`\nSubmitJob/s while queueing (16 in flight, not in the figure): ${r.submitPerSecond.toFixed(0)}`);
  log('server CPU ms/job: the server process alone over the timed span (from /proc); the target, 10,000 jobs/s on 2 cores, allows 0.2');
}
if (wanted('dashboard')) {
  const r = await dashboardScale({ large: SIZES.dashLarge, rounds: 10 });
  results.dashboardScale = r;
  save();
  log(`\n## Dashboard requests with ${r.small.toLocaleString('en')} vs ${r.large.toLocaleString('en')} jobs, ms (p50 of 10)\n`);
  log(table(['request', `${r.small.toLocaleString('en')} jobs`, `${r.large.toLocaleString('en')} jobs`, 'large ÷ small', 'large p90'], r.rows.map((x) => [x.request, x.smallMs.p50, x.largeMs.p50, x.ratio.toFixed(2), x.largeMs.p90])));
  log(`\n${r.insertSeconds.toFixed(1)} s to insert the jobs`);
}
if (wanted('slurm')) {
  const r = await slurmPeer({ jobs: SIZES.slurmJobs, cpuJobs: SIZES.slurmCpuJobs, chain: SIZES.slurmChain, fan: SIZES.slurmFan, cores: facts.cores, submitConcurrency: 16 });
  results.slurm = r;
  save();
  printSlurm(r);
}
if (wanted('compute')) {
  const r = await scaleOut({ scaleUpRounds: SIZES.scaleUpRounds, jobs: SIZES.computeJobs });
  results.scaleOut = r;
  save();
  log(`\n## Compute: RUNNABLE demand → a new instance taking the job (${r.scaleUpMs.n} rounds), ms\n`);
  log(
    table(
      ['measure', 'p50', 'p90', 'max'],
      [
        ['job createdAt → startedAt on a new instance', r.scaleUpMs.p50, r.scaleUpMs.p90, r.scaleUpMs.max],
        ["limit: node <cli> agent --help, spawn → exit", r.agentProgramStartMs.p50, r.agentProgramStartMs.p90, r.agentProgramStartMs.max],
      ],
    ),
  );
  log(`\nscale-up ÷ agent program start (p50) = ${r.scaleUpRatio.toFixed(1)}×`);
  log(`\n### Trivial jobs through 1, 2 and 8 local instances (8 vCPUs in all, ${SIZES.computeJobs} jobs)\n`);
  log(table(['instances', 'type', 'jobs/s', '÷ 1 instance'], r.throughput.map((x) => [String(x.instances), x.instanceType, x.jobsPerSecond, (x.jobsPerSecond / r.throughput[0].jobsPerSecond).toFixed(2)])));
}
if (wanted('executors')) {
  const r = await executorStart({ samples: SIZES.execSamples, containerSamples: SIZES.containerSamples });
  results.executorStart = r;
  save();
  log(`\n## Executor start overhead: one job of \`true\`, start() → exited, one at a time, ms\n`);
  log(
    table(
      ['executor', 'n', 'p50', 'p90', 'max', 'p50 ÷ spawn'],
      [
        ...r.rows.map((x) => (x.skipped ? [x.executor, '0', '-', '-', '-', `skipped: ${x.skipped}`] : [x.executor, String(x.ms.n), x.ms.p50, x.ms.p90, x.ms.max, x.ratio.toFixed(1)])),
        ["limit: spawn('true') → 'exit'", String(r.spawnExitMs.n), r.spawnExitMs.p50, r.spawnExitMs.p90, r.spawnExitMs.max, '1'],
      ],
    ),
  );
}
{
  const rows = targets(results as Parameters<typeof targets>[0]);
  results.targets = rows;
  log(`\n## Ratios against issues 12 and 23's targets\n`);
  log(table(['#', 'figure', 'measured', 'target', 'met'], rows.map((x) => [x.workload, x.figure, x.measured, x.target, x.met === undefined ? '-' : x.met ? 'met' : 'missed'])));
}
if (profile) {
  const report = (title: string, p: ProfiledRun<unknown>) => {
    log(`\n## Profile: ${title}`);
    printProfile('server', p.server);
    printSql(p.sql, p.server);
    p.agents.forEach((a, i) => printProfile(`agent ${i + 1}`, a));
  };
  const profiles: Record<string, unknown> = {};
  if (wanted('submit')) {
    const p = await profileRun((server) => submitRate({ concurrencies: [16], durationMs: SIZES.rateMs, rounds: 1, server }));
    profiles.submitRate = { submitPerSecondUnderProfiler: p.result.rows[0].submit.perSecond, server: p.server, sql: p.sql };
    report(`workload 6, SubmitJob 16 in flight (${p.result.rows[0].submit.perSecond.toFixed(0)} SubmitJob/s under the profiler)`, p);
  }
  if (wanted('throughput')) {
    const p = await profileRun((server) => throughput({ jobs: SIZES.tputJobs, cores: facts.cores, submitConcurrency: 16, skipLimits: true, server }));
    profiles.throughput = { jobsPerSecondUnderProfiler: p.result.jobsPerSecond, server: p.server, sql: p.sql, agents: p.agents };
    report(`workload 1 (${p.result.jobsPerSecond.toFixed(1)} jobs/s under the profiler)`, p);
  }
  if (wanted('array')) {
    const p = await profileRun((server) => arrayThroughput({ size: SIZES.arraySize, cores: facts.cores, skipLimits: true, server }));
    profiles.arrayThroughput = { childrenPerSecondUnderProfiler: p.result.childrenPerSecond, cpu: p.result.cpu, server: p.server, sql: p.sql, agents: p.agents };
    report(`workload 2, default CE (${p.result.childrenPerSecond.toFixed(1)} children/s under the profiler)`, p);
  }
  if (wanted('core')) {
    const p = await profileRun((server) => schedulerCore({ singles: SIZES.coreSingles, arraySize: SIZES.coreArray, slots: SIZES.coreSlots, server }));
    profiles.schedulerCore = { singlesPerSecondUnderProfiler: p.result.singles.jobsPerSecond, arrayPerSecondUnderProfiler: p.result.array.jobsPerSecond, server: p.server, sql: p.sql };
    report(`workload 8 (${p.result.singles.jobsPerSecond.toFixed(0)} singles/s, ${p.result.array.jobsPerSecond.toFixed(0)} array children/s under the profiler; the agent is in the bench process, not profiled)`, p);
  }
  results.profile = profiles;
}

results.loadAverageAtEnd = loadavg()[0];
save();
log(`\nload average at the end: ${loadavg()[0].toFixed(2)}`);
log(`results: ${outFile} (${((Date.now() - started.getTime()) / 1000).toFixed(0)} s)`);
