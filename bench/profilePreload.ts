/**
 * A preload for the profiling run (`NODE_OPTIONS=--import=…/profilePreload.js`, with
 * OPENBATCH_BENCH_PROFILE_DIR set), reaching the server and, through its environment, the
 * agents it launches:
 *   agent   CPU-profiled as `--cpu-prof` would (Node refuses --cpu-prof in NODE_OPTIONS, and
 *           the server starts agents with its environment only): CPU.agent.<pid>.cpuprofile
 *   server  every SQLite statement timed (prepare and run, by SQL text): sql.<pid>.json —
 *           the CPU profile shows SQLite time as one Kysely function; this says which queries
 * A server starts its agents with a few host variables only (agentEnvironment), so this
 * preload, in the server, adds itself back to the environment of the agents it spawns.
 */
import type * as ChildProcesses from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';

const dir = process.env.OPENBATCH_BENCH_PROFILE_DIR;
const role = process.argv.includes('agent') ? 'agent' : process.argv.includes('server') ? 'server' : '';

if (dir && role === 'agent') {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.once('exit', () => {
    // The in-process inspector answers synchronously, so this completes inside 'exit'.
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, `CPU.agent.${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}

if (dir && role === 'server') {
  // An agent is `node <cli> agent …` spawned by the server with an environment of its own:
  // without NODE_OPTIONS and the profile directory it would run unprofiled.
  const cp = createRequire(import.meta.url)('node:child_process') as typeof ChildProcesses;
  const spawn = cp.spawn;
  const bench = { NODE_OPTIONS: process.env.NODE_OPTIONS ?? '', OPENBATCH_BENCH_PROFILE_DIR: dir };
  cp.spawn = function (this: unknown, ...a: unknown[]) {
    const [command, args, options] = a as [string, string[] | undefined, ChildProcesses.SpawnOptions | undefined];
    if (command === process.execPath && Array.isArray(args) && args.includes('agent') && options?.env) a[2] = { ...options, env: { ...options.env, ...bench } };
    return (spawn as (...x: unknown[]) => ChildProcesses.ChildProcess).apply(this, a);
  } as typeof spawn;
  // The server imports `spawn` by name (ESM): its binding follows the patched export only after this.
  syncBuiltinESMExports();
  type Fn = (this: unknown, ...a: unknown[]) => unknown;
  const stats = new Map<string, { calls: number; runMs: number; prepareMs: number }>();
  // `IN (?, ?, …)` lists of any length are one statement.
  const key = (sql: string) => sql.replace(/\?(, \?)+/g, '?, …').slice(0, 200);
  const stat = (sql: string) => stats.get(key(sql)) ?? stats.set(key(sql), { calls: 0, runMs: 0, prepareMs: 0 }).get(key(sql))!;
  const Database = createRequire(import.meta.url)('better-sqlite3') as { prototype: { prepare: Fn } };
  const prepare = Database.prototype.prepare;
  let patched = false;
  Database.prototype.prepare = function (this: unknown, ...args: unknown[]) {
    const t0 = performance.now();
    const stmt = prepare.apply(this, args) as Record<string, Fn>;
    stat(String(args[0])).prepareMs += performance.now() - t0;
    if (!patched) {
      patched = true;
      const proto = Object.getPrototypeOf(stmt) as Record<string, Fn>;
      for (const m of ['run', 'all', 'get']) {
        const orig = proto[m];
        proto[m] = function (this: unknown, ...a: unknown[]) {
          const s = performance.now();
          try {
            return orig.apply(this, a);
          } finally {
            const st = stat((this as { source: string }).source);
            st.calls++;
            st.runMs += performance.now() - s;
          }
        };
      }
    }
    return stmt;
  };
  process.once('exit', () => {
    const rows = [...stats.entries()].map(([sql, s]) => ({ sql, ...s })).sort((a, b) => b.runMs + b.prepareMs - (a.runMs + a.prepareMs));
    writeFileSync(join(dir, `sql.${process.pid}.json`), JSON.stringify(rows));
  });
}
