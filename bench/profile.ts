/**
 * Reading `node --cpu-prof` output: where a process spent its time, by self time, per function
 * and per area (a package, a directory of openbatch, a Node core module, GC).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tempDir } from '../test/helpers/server.js';
import { REPO_ROOT, type ServerStart } from './lib.js';

const PRELOAD = fileURLToPath(new URL('./profilePreload.js', import.meta.url));

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  ms: number;
  /** share of the busy (non-idle) time */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  topFunctions: ProfileEntry[];
  areas: ProfileEntry[];
}

/** `file:///…/node_modules/@scope/pkg/x.js` → `@scope/pkg/x.js`; repo files relative to the repo. */
function shortUrl(url: string): string {
  let u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + '/node_modules/'.length);
  if (u.startsWith(REPO_ROOT)) u = u.slice(REPO_ROOT.length);
  return u;
}

/** The preload's statement wrapper: its self time is the native SQLite call it wraps. */
const isPreload = (f: CallFrame) => f.url.includes('/bench/profilePreload.') && f.functionName === 'proto.<computed>';
const SQLITE_RUN = 'SQLite statement run/all/get (native, in better-sqlite3)';

function areaOf(f: CallFrame): string {
  if (isPreload(f)) return 'better-sqlite3';
  if (f.functionName.startsWith('(') && f.url === '') return f.functionName; // (idle) (program) (garbage collector)
  if (f.url === '') return '(native: V8 builtins, JSON, C++ bindings)';
  if (f.url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(f.url);
    return `node:${m?.[1] ?? f.url}`;
  }
  const u = shortUrl(f.url);
  if (f.url.includes('/node_modules/')) return u.startsWith('@') ? u.split('/').slice(0, 2).join('/') : u.split('/')[0];
  const m = /^dist\/src\/([^/]+)/.exec(u);
  return m ? `openbatch src/${m[1]}` : u;
}

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  // timeDeltas[i + 1] is how long the sample i lasted.
  for (let i = 0; i < p.samples.length; i++) {
    const us = p.timeDeltas[i + 1] ?? 0;
    const f = frames.get(p.samples[i])!;
    if (f.functionName === '(idle)') continue;
    const where = f.url ? ` ${shortUrl(f.url)}:${f.lineNumber + 1}` : '';
    add(byFunction, isPreload(f) ? SQLITE_RUN : `${f.functionName || '(anonymous)'}${where}`, us);
    add(byArea, areaOf(f), us);
  }
  const wallUs = p.endTime - p.startTime;
  const busyUs = [...byArea.values()].reduce((a, b) => a + b, 0);
  const entries = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, pct: (100 * us) / busyUs }));
  return { file, wallMs: wallUs / 1000, busyMs: busyUs / 1000, topFunctions: entries(byFunction, top), areas: entries(byArea, top) };
}

/** The pid in a profile's file name: CPU.<date>.<time>.<pid>.… (--cpu-prof) or CPU.agent.<pid>.… (the preload). */
export function pidOfProfile(file: string): number | undefined {
  const m = /CPU\.(?:\d+\.\d+|agent)\.(\d+)\./.exec(file);
  return m ? Number(m[1]) : undefined;
}

export interface SqlStat {
  sql: string;
  calls: number;
  runMs: number;
  prepareMs: number;
}

export interface ProfiledRun<T> {
  result: T;
  server: ProfileSummary;
  sql: SqlStat[];
  agents: ProfileSummary[];
}

/**
 * Runs a workload (untimed: the profiler slows it) with its server under `node --cpu-prof`,
 * the server's SQLite statements timed and its agents CPU-profiled (both through
 * profilePreload.ts). The workload starts its server with the `ServerStart` it is given and
 * returns the server's pid.
 */
export async function profileRun<T extends { serverPid?: number }>(run: (server: ServerStart) => Promise<T>): Promise<ProfiledRun<T>> {
  const dir = tempDir('openbatch-prof-');
  try {
    const result = await run({
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
      env: { NODE_OPTIONS: `--import=${pathToFileURL(PRELOAD).href}`, OPENBATCH_BENCH_PROFILE_DIR: dir },
    });
    const files = readdirSync(dir);
    const profiles = files.filter((f) => f.endsWith('.cpuprofile'));
    const serverFile = profiles.find((f) => pidOfProfile(f) === result.serverPid);
    if (!serverFile) throw new Error(`no profile of the server (pid ${result.serverPid}) in ${dir}: ${files.join(', ')}`);
    const sqlFile = files.find((f) => f === `sql.${result.serverPid}.json`);
    return {
      result,
      server: summarizeProfile(join(dir, serverFile)),
      sql: sqlFile ? (JSON.parse(readFileSync(join(dir, sqlFile), 'utf8')) as SqlStat[]) : [],
      agents: profiles.filter((f) => f !== serverFile).map((f) => summarizeProfile(join(dir, f))),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
