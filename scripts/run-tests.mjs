#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's own test runner.
// Node's `--test` takes globs only from Node 21 on, and pointing it at a directory would also run the
// helper modules under test/, so the list is made here. Extra arguments narrow the run:
//   node scripts/run-tests.mjs api/sigv4     → only files whose path contains "api/sigv4"
//
// The suite runs on SQLite, and then again on PostgreSQL when OPENBATCH_TEST_DATABASE_URL
// names a PostgreSQL server (scripts/ci/postgres.sh starts one): each test server gets a
// database of its own there (test/helpers/postgres.ts), all dropped after the run.
//   --store=sqlite | --store=postgres       → run on one store only
//
// Test files share files with the jobs they run (gates, inboxes, outputs) through their
// temporary directories. Jobs in the bubblewrap sandbox get a private /tmp, as containers
// do, so the suite's temporary directories live under /var/tmp instead (TMPDIR), which a
// sandboxed job sees, read-only, like any other host directory. Removed after a passing run,
// kept (and named) after a failing one. Agents still running from that directory after a run
// (local agents outlive their servers; a test must stop what it started) fail the run.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { agentsUnder } from '../dist/test/helpers/agents.js';

const root = new URL('../dist/test/', import.meta.url).pathname;
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const storeFlag = process.argv.slice(2).find((a) => a.startsWith('--store='));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('-') && a !== storeFlag);
const databaseUrl = process.env.OPENBATCH_TEST_DATABASE_URL ?? '';

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = collect(root, [])
  .filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// A test that hangs is cancelled (and fails the run) after three minutes instead of
// holding CI until its deadline.
const args = ['--test', '--test-reporter=spec', '--test-timeout=180000', ...passThrough, ...files];

const stores = storeFlag ? [storeFlag.slice('--store='.length)] : databaseUrl ? ['sqlite', 'postgres'] : ['sqlite'];
if (stores.some((s) => s !== 'sqlite' && s !== 'postgres')) {
  console.error(`${storeFlag}: the stores are sqlite and postgres`);
  process.exit(1);
}
if (stores.includes('postgres') && !databaseUrl) {
  console.error('--store=postgres needs OPENBATCH_TEST_DATABASE_URL (see scripts/ci/postgres.sh)');
  process.exit(1);
}

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
let status = 0;
for (const store of stores) {
  const env = { ...process.env, TMPDIR: tmpDir, OPENBATCH_TEST_DATABASE_PREFIX: databasePrefix };
  if (store === 'sqlite') delete env.OPENBATCH_TEST_DATABASE_URL;
  if (stores.length > 1) console.log(`\n== tests on ${store === 'sqlite' ? 'SQLite' : 'PostgreSQL'}\n`);
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', env });
  // Local agents outlive their servers by design; a test must stop those it started.
  const leftovers = agentsUnder(tmpDir);
  if (leftovers.length) {
    const cmdline = (pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      } catch {
        return `pid ${pid}`;
      }
    };
    console.log(`\n${leftovers.length} agent processes were left running by the tests (now killed):\n  ${leftovers.map((pid) => cmdline(pid)).join('\n  ')}`);
    for (const pid of leftovers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    status = 1;
  }
  if (store === 'postgres') await dropTestDatabases();
  if ((r.status ?? 1) !== 0) status = r.status ?? 1;
}
if (status === 0) rmSync(tmpDir, { recursive: true, force: true });
else console.log(`\nthe failed run's temporary files are kept in ${tmpDir}`);
process.exit(status);
