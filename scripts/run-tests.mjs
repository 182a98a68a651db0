#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's own test runner, several
// files at once. Extra arguments narrow the run:
//   node scripts/run-tests.mjs api/sigv4     → only files whose path contains "api/sigv4"
//   --store=sqlite | --store=postgres        → run on one store only
//   --jobs=N                                 → N files at once (default: twice the cores, at least 2;
//                                              OPENBATCH_TEST_JOBS sets it too; --jobs=1 runs one at a time)
//
// Stores: every file runs on SQLite. Files about the store run again on PostgreSQL when
// OPENBATCH_TEST_DATABASE_URL names a PostgreSQL server (scripts/ci/postgres.sh starts one):
// each test server gets a database of its own there (test/helpers/postgres.ts), all dropped
// after the run. The others (SQLITE_ONLY below) run once; --store=postgres runs them too.
//
// Concurrency: a file is one `node --test` process; up to --jobs of them run at once, the
// slowest first (by the durations of the last run here, kept in dist/test/.durations.json;
// files not timed yet count as slow), and two files that need the same exclusive resource
// (RESOURCES below: Slurm's one node, …) never run at the same time. Each file's output is
// printed when it ends, whole, then a table of the slowest files.
//
// Test files share files with the jobs they run (gates, inboxes, outputs) through their
// temporary directories. Jobs in the bubblewrap sandbox get a private /tmp, as containers
// do, so the suite's temporary directories live under /var/tmp instead (TMPDIR), which a
// sandboxed job sees, read-only, like any other host directory; each file gets a directory of its own
// in it. Removed after a passing run, kept (and named) after a failing one. Agents still
// running from a file's directory after it ends (local agents outlive their servers; a test
// must stop what it started) fail that file.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { agentsUnder } from '../dist/test/helpers/agents.js';

const root = new URL('../dist/test/', import.meta.url).pathname;
const argv = process.argv.slice(2);
const filters = argv.filter((a) => !a.startsWith('-'));
const storeFlag = argv.find((a) => a.startsWith('--store='));
const jobsFlag = argv.find((a) => a.startsWith('--jobs='));
const passThrough = argv.filter((a) => a.startsWith('-') && a !== storeFlag && a !== jobsFlag);
const databaseUrl = process.env.OPENBATCH_TEST_DATABASE_URL ?? '';

/**
 * Files that run on SQLite only, by path prefix (relative to dist/test/): they never open a
 * store (pure functions, executors, the CLI's parsing, SigV4, validation), or what they test
 * is not the store — the AWS wire format as clients see it, the executors and sandbox, the
 * compute providers' processes and Slurm, the dashboard in a browser, the examples, the
 * benchmarks' plumbing — and the SQL they reach is what the files that do run on both
 * stores (store/, the job and resource e2e files, restart, failover, crash) reach too.
 * A file not listed runs on both.
 */
const SQLITE_ONLY = [
  'agent/', 'api/sigv4', 'api/validate', 'cli/', 'compute/', 'events/', 'executor/', 'model/',
  'scheduler/schedule', 'triggers/', 'architecture', 'security/', 'bench/', 'examples/',
  'e2e/agents.netns', 'e2e/api.auth', 'e2e/api.errors', 'e2e/api.limits', 'e2e/api.shapes', 'e2e/cli', 'e2e/clients',
  'e2e/compute.', 'e2e/dashboard', 'e2e/executors', 'e2e/fuzz', 'e2e/install', 'e2e/prefetch', 'e2e/timeDilation',
  // their store reads are tested on both stores at the store's level (test/store/, test/logs/)
  'e2e/logs.', 'rules/fairShare', 'rules/timeouts',
];

/**
 * How many of the --jobs slots a file takes while it runs: files that keep both cores busy
 * (many processes, benchmarks) or whose guarantees rest on agent leases (a control plane
 * starved of CPU for longer than a lease is what they test against) leave room for fewer
 * others. Also the order for a file not yet timed here: heavier first.
 */
const WEIGHTS = [
  { prefix: 'crash/', weight: 3 },
  { prefix: 'bench/bench', weight: 2 },
  { prefix: 'e2e/restart', weight: 2 },
  { prefix: 'e2e/failover', weight: 2 },
  { prefix: 'e2e/install', weight: 2 },
];

/**
 * Exclusive resources: two files that name the same one never run at once.
 *   slurm    the test cluster has one node, which every Slurm test fills and drains
 */
const RESOURCES = [
  { prefix: 'e2e/compute.slurm', needs: ['slurm'] },
  { prefix: 'bench/slurmPeer', needs: ['slurm'] },
];

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const sources = new URL('../test/', import.meta.url).pathname;
const files = collect(root, [])
  .map((f) => relative(root, f))
  // A compiled file whose source is gone (a test deleted or moved since the last build) is stale: tsc leaves it in dist/.
  .filter((f) => existsSync(join(sources, f.replace(/\.js$/, '.ts'))))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

const stores = storeFlag ? [storeFlag.slice('--store='.length)] : databaseUrl ? ['sqlite', 'postgres'] : ['sqlite'];
if (stores.some((s) => s !== 'sqlite' && s !== 'postgres')) {
  console.error(`${storeFlag}: the stores are sqlite and postgres`);
  process.exit(1);
}
if (stores.includes('postgres') && !databaseUrl) {
  console.error('--store=postgres needs OPENBATCH_TEST_DATABASE_URL (see scripts/ci/postgres.sh)');
  process.exit(1);
}
const jobs = Math.max(1, Number(jobsFlag?.slice('--jobs='.length) ?? process.env.OPENBATCH_TEST_JOBS ?? Math.max(2, availableParallelism() * 2)) || 1);

const durationsFile = join(root, '.durations.json');
const durations = existsSync(durationsFile) ? JSON.parse(readFileSync(durationsFile, 'utf8')) : {};
const key = (r) => `${r.store} ${r.file}`;

/** Every (file, store) to run, the slowest first. */
const runs = [];
for (const store of stores) {
  for (const file of files) {
    if (store === 'postgres' && SQLITE_ONLY.some((p) => file.startsWith(p)) && storeFlag === undefined) continue;
    const weight = Math.min(jobs, WEIGHTS.find((w) => file.startsWith(w.prefix))?.weight ?? 1);
    runs.push({ file, store, weight, needs: RESOURCES.filter((r) => file.startsWith(r.prefix)).flatMap((r) => r.needs) });
  }
}
/** A file's expected duration: its last one here, else a guess by its weight and kind (e2e files take longer). */
const expected = (r) => durations[key(r)] ?? r.weight * (r.file.startsWith('e2e/') || r.file.startsWith('crash/') ? 30_000 : 5_000);
runs.sort((a, b) => expected(b) - expected(a) || a.file.localeCompare(b.file));

/**
 * This run's test databases are named with a prefix of its own, so that runs sharing one
 * PostgreSQL server (several checkouts on one machine) drop only their own.
 */
const databasePrefix = `obrun_${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}_`;

/** Drops the databases test servers made (those of servers a test killed or kept included). */
async function dropTestDatabases() {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const { rows } = await c.query('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [databasePrefix]);
    for (const r of rows) await c.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

const tmpDir = mkdtempSync('/var/tmp/openbatch-tests-');
// Passable, not listable: jobs of a root agent run as nobody, and reach the directories the
// tests share with them (test/helpers/server.ts, sharedDir) through this one.
chmodSync(tmpDir, 0o711);
const held = new Set();
const results = [];
const started = Date.now();

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return `pid ${pid}`;
  }
}

/** Runs one file on one store; resolves with its exit status, its output and how long it took. */
function runOne(r) {
  return new Promise((resolve) => {
    const dir = join(tmpDir, `${r.store}-${r.file.replace(/[^A-Za-z0-9.]/g, '_')}`);
    mkdirSync(dir);
    chmodSync(dir, 0o711);
    const env = { ...process.env, TMPDIR: dir, OPENBATCH_TEST_DATABASE_PREFIX: databasePrefix };
    if (r.store === 'sqlite') delete env.OPENBATCH_TEST_DATABASE_URL;
    // A test that hangs is cancelled (and fails the run) after three minutes instead of
    // holding CI until its deadline.
    const args = ['--test', '--test-reporter=spec', '--test-timeout=180000', ...passThrough, join(root, r.file)];
    const t0 = Date.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('close', (code, signal) => {
      let status = code ?? (signal ? 1 : 0);
      // Local agents outlive their servers by design; a test must stop those it started.
      const leftovers = agentsUnder(dir);
      if (leftovers.length) {
        output += `\n${leftovers.length} agent processes were left running by this file (now killed):\n  ${leftovers.map(cmdline).join('\n  ')}\n`;
        for (const pid of leftovers) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }
        status ||= 1;
      }
      writeFileSync(join(dir, 'output.txt'), output);
      resolve({ ...r, status, output, ms: Date.now() - t0 });
    });
  });
}

await new Promise((done) => {
  let running = 0;
  let used = 0;
  const pending = [...runs];
  const next = () => {
    if (pending.length === 0 && running === 0) return done();
    while (used < jobs) {
      const i = pending.findIndex((r) => r.needs.every((n) => !held.has(n)) && used + r.weight <= jobs);
      if (i < 0) break;
      const r = pending.splice(i, 1)[0];
      running++;
      used += r.weight;
      for (const n of r.needs) held.add(n);
      void runOne(r).then((res) => {
        running--;
        used -= r.weight;
        for (const n of r.needs) held.delete(n);
        results.push(res);
        const label = `${res.store === 'sqlite' ? 'SQLite' : 'PostgreSQL'} ${res.file}`;
        process.stdout.write(`\n== ${label} (${(res.ms / 1000).toFixed(1)} s${res.status ? ', FAILED' : ''})\n${res.output}`);
        next();
      });
    }
  };
  next();
});

for (const r of results) durations[key(r)] = r.ms;
writeFileSync(durationsFile, JSON.stringify(durations, null, 1));
if (stores.includes('postgres')) await dropTestDatabases();

const failed = results.filter((r) => r.status !== 0);
const count = (re) => results.reduce((n, r) => n + Number(re.exec(r.output)?.[1] ?? 0), 0);
console.log(`\n== ${results.length} files (${files.length} × stores) in ${((Date.now() - started) / 1000).toFixed(0)} s with ${jobs} at once; tests: ${count(/^ℹ tests (\d+)/m)}, passed: ${count(/^ℹ pass (\d+)/m)}, failed: ${count(/^ℹ fail (\d+)/m)}`);
console.log('   slowest:');
for (const r of [...results].sort((a, b) => b.ms - a.ms).slice(0, 12)) console.log(`   ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${r.store.padEnd(8)} ${r.file}`);
if (failed.length) {
  console.log(`\nFAILED: ${failed.map((r) => `${r.file} (${r.store})`).join(', ')}`);
  console.log(`the failed run's temporary files are kept in ${tmpDir}`);
  process.exit(1);
}
rmSync(tmpDir, { recursive: true, force: true });
