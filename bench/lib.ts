/**
 * What every benchmark shares: machine facts, timing loops, percentiles, a table printer, and
 * a server started as its own process on a fresh data directory.
 *
 * The machine is shared and noisy, so no figure stands alone: each workload measures a peer
 * or a physical limit in the same run and reports the ratio.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BatchClient } from '@aws-sdk/client-batch';
import { agentsUnder, batchClient, CLI, stopAgentsUnder, tempDir } from '../test/helpers/server.js';

export { tempDir };

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface MachineFacts {
  cores: number;
  cpuModel: string;
  memoryMiB: number;
  node: string;
  platform: string;
  commit: string;
  /** the work tree had changes to tracked files when the run started */
  dirty: boolean;
  /** 1-minute load average when the run started: how busy the shared machine was */
  loadAverage: number;
}

export function machineFacts(): MachineFacts {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    commit: git('rev-parse', 'HEAD') || 'unknown',
    dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
    loadAverage: loadavg()[0],
  };
}

// ── timing ────────────────────────────────────────────────────────────────────────────────

/**
 * The compute environment tags of the "tuned for short jobs" runs of workloads 1, 2 and 4:
 * each instance queues eight jobs per vCPU on its agent (`openbatch:prefetch`), and jobs run
 * outside the sandbox, as the raw limits (xargs, the spawn loop) run their processes.
 */
export function shortJobTags(cores: number): Record<string, string> {
  return { 'openbatch:prefetch': String(8 * cores), 'openbatch:sandbox': 'off' };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Percentiles {
  n: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of a sample (ms or any unit). */
export function percentiles(values: number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : NaN);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  return { n: s.length, mean, p50: at(50), p90: at(90), p99: at(99), max: s.length ? s[s.length - 1] : NaN };
}

export interface RateSample {
  ops: number;
  elapsedMs: number;
  /** per-operation latencies, ms */
  latencies: number[];
  /** CPU the measured process (the server) spent while these ran, ms, when asked for */
  cpuMs?: number;
}

/**
 * CPU time (user + system) a process has used so far, in ms, from /proc (Linux); NaN where
 * there is no /proc. Its resolution is the kernel's clock tick (10 ms).
 */
export function processCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): utime and stime are the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return NaN;
  }
}
/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_S = 100;

/** CPU openbatch's own processes used, ms: the server, its agents (Node) and their fork servers (without the jobs they start). */
export interface OwnCpu {
  server: number;
  agent: number;
  forkServer: number;
}

/** What openbatch's own processes of a bench server have used so far (from /proc). */
export function ownCpu(s: BenchServer): OwnCpu {
  const agents = agentsUnder(s.dataDir);
  let agent = 0;
  let forkServer = 0;
  for (const pid of agents) {
    agent += processCpuMs(pid);
    for (const child of childrenOf(pid)) if (commOf(child) === 'openbatch-forks') forkServer += processCpuMs(child);
  }
  return { server: processCpuMs(s.child.pid), agent, forkServer };
}

/** CPU per job between two readings of ownCpu, ms; the agent's figure includes its fork server's own. */
export function cpuPerJob(before: OwnCpu, after: OwnCpu, jobs: number): { serverMsPerJob: number; agentMsPerJob: number; forkServerMsPerJob: number } {
  return {
    serverMsPerJob: (after.server - before.server) / jobs,
    agentMsPerJob: (after.agent + after.forkServer - before.agent - before.forkServer) / jobs,
    forkServerMsPerJob: (after.forkServer - before.forkServer) / jobs,
  };
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * Runs `op` with `concurrency` operations in flight until `durationMs` has passed (operations
 * under way then are finished and counted). `op` gets a running index.
 */
export async function runFor(durationMs: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<RateSample> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const s = performance.now();
      await op(next++);
      latencies.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ops: latencies.length, elapsedMs: performance.now() - t0, latencies };
}

/** Runs `op` for i = 0…n-1 with `concurrency` in flight; resolves when all are done. */
export async function runAll(n: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await op(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

/**
 * Measures several operations the same way, interleaved in `rounds` so that a noisy neighbour
 * slows them alike instead of spoiling whichever ran at the wrong moment.
 */
export async function interleavedRates<K extends string>(
  ops: Record<K, (i: number) => Promise<unknown>>,
  o: { rounds: number; durationMs: number; concurrency: number; cpuMs?: () => number },
): Promise<Record<K, RateSample>> {
  const out = {} as Record<K, RateSample>;
  for (const k of Object.keys(ops) as K[]) out[k] = { ops: 0, elapsedMs: 0, latencies: [], ...(o.cpuMs ? { cpuMs: 0 } : {}) };
  for (let r = 0; r < o.rounds; r++) {
    for (const k of Object.keys(ops) as K[]) {
      const cpu0 = o.cpuMs?.();
      const s = await runFor(o.durationMs / o.rounds, o.concurrency, ops[k]);
      if (o.cpuMs) out[k].cpuMs! += o.cpuMs() - cpu0!;
      out[k].ops += s.ops;
      out[k].elapsedMs += s.elapsedMs;
      out[k].latencies.push(...s.latencies);
    }
  }
  return out;
}

export const perSecond = (s: { ops: number; elapsedMs: number }) => (s.ops * 1000) / s.elapsedMs;

// ── servers ───────────────────────────────────────────────────────────────────────────────

export interface BenchServer {
  child: ChildProcess;
  client: BatchClient;
  url: string;
  dataDir: string;
  /** SIGTERM (a clean exit, so --cpu-prof writes its profile), then removes the data dir; idempotent */
  close(): Promise<void>;
}

/** How to start a bench server: flags for node itself and extra environment. */
export interface ServerStart {
  nodeArgs?: string[];
  env?: Record<string, string>;
}

/**
 * `openbatch server` as a separate process on a fresh data directory, like the tests'
 * spawnServer, plus flags for node itself (`--cpu-prof …`, which NODE_OPTIONS may not carry)
 * and extra environment, which the agents the server launches inherit.
 */
export async function benchServer(o: ServerStart = {}): Promise<BenchServer> {
  const dataDir = tempDir('openbatch-bench-');
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), CLI, 'server', '--port', '0', '--data-dir', dataDir, '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...o.env },
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) resolve(m[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => reject(new Error(`server exited early with code ${code}: ${out}`)));
  });
  child.stdout!.removeAllListeners('data').resume();
  child.stderr!.removeAllListeners('data').resume();
  const client = batchClient(url);
  let closed = false;
  return {
    child,
    client,
    url,
    dataDir,
    async close() {
      if (closed) return;
      closed = true;
      client.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      // The server's local agents outlive it: stopped here, with their jobs.
      await stopAgentsUnder(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// ── output ────────────────────────────────────────────────────────────────────────────────

/** A figure for the table: 3 significant digits, thousands kept whole. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x).toLocaleString('en-US');
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

/** A plain-text table; also valid Markdown, so it can be pasted into docs/benchmarks.md. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
  const sep = '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|';
  return [line(cells[0]), sep, ...cells.slice(1).map(line)].join('\n');
}
