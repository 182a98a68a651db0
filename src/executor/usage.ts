/**
 * What an attempt uses, measured where the host keeps count:
 *
 *   cgroup   the attempt's own cgroup (cgroups.ts): CPU time from cpuacct.usage (v1, the
 *            cpuacct controller, a hierarchy of its own on many v1 hosts) or cpu.stat's
 *            usage_usec (v2, in every cgroup); memory now and at its peak from
 *            memory.usage_in_bytes / memory.max_usage_in_bytes (v1) or memory.current /
 *            memory.peak (v2) — the kernel's own charge, page cache included, the figure the
 *            memory limit holds the job to; bytes read and written from
 *            blkio.throttle.io_service_bytes_recursive (v1) or io.stat (v2), where the
 *            controller is there (the kernel counts what reaches block devices).
 *            Cgroups are reused (cgroups.ts): the counters are taken relative to where they
 *            stood when the attempt took its cgroup, and the peak is reset then (v1: a write
 *            of 0; v2: a write to a file descriptor kept open, kernel 6.12 and later; where it
 *            cannot be, the peak of a reused cgroup is the largest sample instead).
 *   proc     no cgroup (an agent without them): the attempt's processes — the leader's
 *            session and its descendants — summed from /proc, sampled every
 *            PROC_SAMPLE_MS with one scan for all attempts: CPU time (their own and that of
 *            the children they reaped), resident memory (shared pages count once per
 *            process), bytes read and written (/proc/<pid>/io, readable by the agent's user
 *            or root). A lower bound: what a process did between the last sample and its
 *            exit, and what processes reaped by nobody in the attempt used, is not seen; an
 *            attempt shorter than a sample has no figures.
 *   engine   containers: the engine's stats (container.ts samples them; `engineFigures`).
 *
 * Figures are cumulative since the attempt started; a figure the host does not give is absent.
 */
import { closeSync, openSync, readFileSync, readSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { UsageSource } from '../model/usage.js';
import type { UsageFigures } from './types.js';

export type { UsageFigures };

/** How often attempts without a cgroup are sampled from /proc. */
export const PROC_SAMPLE_MS = 1_000;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** One buffer for every counter file read (the agent reads them one at a time, synchronously). */
const COUNTER_BUF = Buffer.alloc(16 * 1024);

/**
 * A cgroup counter file kept open while its cgroup lives, read with pread at offset 0 (the
 * kernel renders it anew): 1.7 µs a read where an open, read and close took 7.9 µs (measured
 * on cgroup v1), which the agent pays for every file at every attempt's end. A file that
 * cannot be read reads as nothing, and is opened again at the next read.
 */
export class CounterFile {
  private fd: number | undefined;

  constructor(readonly path: string) {}

  read(): string | undefined {
    try {
      this.fd ??= openSync(this.path, 'r');
      const n = readSync(this.fd, COUNTER_BUF, 0, COUNTER_BUF.length, 0);
      // Longer than the buffer (io statistics of many devices): read whole.
      return n < COUNTER_BUF.length ? COUNTER_BUF.toString('utf8', 0, n) : readFileSync(this.path, 'utf8');
    } catch {
      this.close();
      return undefined;
    }
  }

  number(): number | undefined {
    const t = this.read();
    if (t === undefined) return undefined;
    const n = Number(t.trim());
    return Number.isFinite(n) && t.trim() !== '' ? n : undefined;
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = undefined;
  }
}

/** `usage_usec 123` from cpu.stat (v2) as seconds. */
export function cpuStatSeconds(text: string): number | undefined {
  const m = /^usage_usec (\d+)$/m.exec(text);
  return m ? Number(m[1]) / 1e6 : undefined;
}

/**
 * The CPU time, user and system, of the processes a shell waited for, from its `times`
 * builtin: the second line, `0m1.140000s 0m0.250000s` (dash) or `0m1.140s 0m0.250s` (bash).
 * Those processes' own waited-for children count in them (the kernel adds them on reaping).
 */
export function timesCpuSeconds(text: string): number | undefined {
  const line = text.split('\n')[1] ?? '';
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(line.trim());
  if (!m) return undefined;
  const s = Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
  return Number.isFinite(s) ? s : undefined;
}

/**
 * Bytes read and written, summed over devices: v1's blkio.throttle.io_service_bytes
 * (`8:0 Read 4096` lines) or v2's io.stat (`8:0 rbytes=4096 wbytes=0 …`).
 */
export function ioBytes(text: string, version: 1 | 2): { readBytes: number; writeBytes: number } {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of text.split('\n')) {
    if (version === 1) {
      const m = /^\S+ (Read|Write) (\d+)$/.exec(line.trim());
      if (m) m[1] === 'Read' ? (readBytes += Number(m[2])) : (writeBytes += Number(m[2]));
    } else {
      readBytes += Number(/\brbytes=(\d+)/.exec(line)?.[1] ?? 0);
      writeBytes += Number(/\bwbytes=(\d+)/.exec(line)?.[1] ?? 0);
    }
  }
  return { readBytes, writeBytes };
}

/** Where each counter of an attempt's cgroup lives. */
export interface CgroupUsageFiles {
  /** the memory controller's directory */
  memory?: { version: 1 | 2; dir: string };
  /** where CPU time is counted: cpuacct (v1) or any v2 directory of the attempt */
  cpu?: { version: 1 | 2; dir: string };
  /** blkio (v1) or io (v2) */
  io?: { version: 1 | 2; dir: string };
}

/**
 * An attempt's figures from its cgroup. `start` when an attempt takes the cgroup (new or
 * reused): counters count from then.
 */
export class CgroupMeter {
  private cpuBase = 0;
  private readBase = 0;
  private writeBase = 0;
  /** v2 on a reused cgroup: memory.peak opened and reset for this attempt (kernel 6.12+) */
  private peakFd: number | undefined;
  /** the peak cannot be read for this attempt alone: the largest sample instead */
  private peakSampled = false;
  private sampledPeak = 0;
  /**
   * CPU time as the attempt's end read it (`read(true)`), and as the last attempt ended: an
   * emptied cgroup's CPU time stands still, so the next attempt counts from there without
   * reading it again. Its bytes written do not (the kernel writes back the last attempt's
   * dirty pages later, charged to the cgroup): those are read again at each start, so that
   * no attempt is charged with writes of the one before.
   */
  private cpuAtFinalRead: number | undefined;
  private cpuAtEnd: number | undefined;

  /** the counter files, opened at their first read and kept until `close` */
  private readonly cpuFile: CounterFile | undefined;
  private readonly memoryNowFile: CounterFile | undefined;
  private readonly memoryPeakFile: CounterFile | undefined;
  private readonly ioFiles: CounterFile[];

  constructor(private readonly files: CgroupUsageFiles) {
    const c = files.cpu;
    this.cpuFile = c && new CounterFile(join(c.dir, c.version === 1 ? 'cpuacct.usage' : 'cpu.stat'));
    const m = files.memory;
    this.memoryNowFile = m && new CounterFile(join(m.dir, m.version === 1 ? 'memory.usage_in_bytes' : 'memory.current'));
    this.memoryPeakFile = m && new CounterFile(join(m.dir, m.version === 1 ? 'memory.max_usage_in_bytes' : 'memory.peak'));
    const d = files.io;
    this.ioFiles = !d
      ? []
      : d.version === 1
        ? [new CounterFile(join(d.dir, 'blkio.throttle.io_service_bytes_recursive')), new CounterFile(join(d.dir, 'blkio.throttle.io_service_bytes'))]
        : [new CounterFile(join(d.dir, 'io.stat'))];
  }

  /** The cgroup is removed: the files kept open are closed. */
  close(): void {
    this.stop();
    for (const f of [this.cpuFile, this.memoryNowFile, this.memoryPeakFile, ...this.ioFiles]) f?.close();
  }

  /** The attempt takes the cgroup: `fresh` when it was just made (nothing to reset). */
  start(fresh: boolean): void {
    this.cpuBase = this.cpuAtEnd ?? this.cpuSeconds() ?? 0;
    this.cpuAtEnd = undefined;
    this.cpuAtFinalRead = undefined;
    const io = this.io();
    this.readBase = io?.readBytes ?? 0;
    this.writeBase = io?.writeBytes ?? 0;
    this.closePeak();
    this.peakSampled = false;
    this.sampledPeak = 0;
    const m = this.files.memory;
    if (!m || fresh) return;
    if (m.version === 1) {
      try {
        // v1 resets the high-water mark to the current usage on a write of 0.
        writeFileSync(join(m.dir, 'memory.max_usage_in_bytes'), '0');
      } catch {
        this.peakSampled = true;
      }
      return;
    }
    try {
      const fd = openSync(join(m.dir, 'memory.peak'), 'r+');
      try {
        writeSync(fd, 'reset\n');
        this.peakFd = fd;
        if (this.readPeakFd() === undefined) throw new Error('memory.peak does not read back as a number');
      } catch (e) {
        this.closePeak();
        closeSync(fd);
        throw e;
      }
    } catch {
      this.peakSampled = true;
    }
  }

  /** The attempt is over (its figures read at its end): what it held open is closed. */
  stop(): void {
    this.closePeak();
    this.cpuAtEnd = this.cpuAtFinalRead;
  }

  private closePeak(): void {
    if (this.peakFd === undefined) return;
    try {
      closeSync(this.peakFd);
    } catch {
      // already closed
    }
    this.peakFd = undefined;
  }

  private readPeakFd(): number | undefined {
    if (this.peakFd === undefined) return undefined;
    const buf = Buffer.alloc(64);
    try {
      const n = readSync(this.peakFd, buf, 0, buf.length, 0);
      const v = Number(buf.subarray(0, n).toString('utf8').trim());
      return Number.isFinite(v) && n > 0 ? v : undefined;
    } catch {
      return undefined;
    }
  }

  private cpuSeconds(): number | undefined {
    const c = this.files.cpu;
    if (!c || !this.cpuFile) return undefined;
    if (c.version === 1) {
      const ns = this.cpuFile.number();
      return ns === undefined ? undefined : ns / 1e9;
    }
    const text = this.cpuFile.read();
    return text === undefined ? undefined : cpuStatSeconds(text);
  }

  private io(): { readBytes: number; writeBytes: number } | undefined {
    const d = this.files.io;
    if (!d) return undefined;
    let text: string | undefined;
    for (const f of this.ioFiles) if ((text = f.read()) !== undefined) break;
    return text === undefined ? undefined : ioBytes(text, d.version);
  }

  /** The figures now, since `start`; `final`: at the attempt's end, its processes gone. */
  read(final = false): UsageFigures {
    const out: UsageFigures = { source: 'cgroup' };
    const cpu = this.cpuSeconds();
    if (final) this.cpuAtFinalRead = cpu;
    if (cpu !== undefined) out.cpuSeconds = Math.max(0, cpu - this.cpuBase);
    const m = this.files.memory;
    if (m) {
      const now = this.memoryNowFile?.number();
      if (now !== undefined) {
        out.memoryBytes = now;
        this.sampledPeak = Math.max(this.sampledPeak, now);
      }
      let peak: number | undefined;
      if (this.peakSampled) peak = this.sampledPeak || undefined;
      else if (this.peakFd !== undefined) peak = this.readPeakFd();
      else peak = this.memoryPeakFile?.number();
      if (peak !== undefined) out.peakMemoryBytes = Math.max(peak, now ?? 0);
    }
    const io = this.io();
    if (io) {
      out.readBytes = Math.max(0, io.readBytes - this.readBase);
      out.writeBytes = Math.max(0, io.writeBytes - this.writeBase);
    }
    return out;
  }
}

/** One process as /proc/<pid>/stat shows it. */
export interface ProcEntry {
  pid: number;
  ppid: number;
  sid: number;
  /** user + system CPU of the process and of the children it reaped, in clock ticks */
  ticks: number;
  /** resident pages */
  rssPages: number;
}

/** Parses /proc/<pid>/stat (the command name may hold spaces and parentheses: fields count from the last ')'). */
export function parseProcStat(text: string): ProcEntry | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  // Fields from 3 (state) on; field n is at index n - 3.
  const f = text.slice(close + 2).trim().split(' ');
  const at = (n: number) => Number(f[n - 3]);
  const entry = { pid, ppid: at(4), sid: at(6), ticks: at(14) + at(15) + at(16) + at(17), rssPages: at(24) };
  return Object.values(entry).every(Number.isFinite) ? entry : undefined;
}

let hostUnits: { tick: number; page: number } | undefined;
/** Seconds per clock tick and bytes per page on this host (getconf; Linux's usual 100 Hz and 4 KiB without it). */
function units(): { tick: number; page: number } {
  if (!hostUnits) {
    const ask = (name: string, fallback: number) => {
      const r = spawnSync('getconf', [name], { encoding: 'utf8' });
      const n = Number(r.stdout?.trim());
      return r.status === 0 && n > 0 ? n : fallback;
    };
    hostUnits = { tick: 1 / ask('CLK_TCK', 100), page: ask('PAGESIZE', 4096) };
  }
  return hostUnits;
}

/**
 * Attempts without a cgroup, sampled from /proc together: one scan of every process per
 * PROC_SAMPLE_MS while any is watched, however many attempts run.
 */
export class ProcWatch {
  private readonly watched = new Set<ProcTracker>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly procRoot = '/proc',
    private readonly everyMs = PROC_SAMPLE_MS,
    private readonly hostUnits: { tick: number; page: number } = units(),
  ) {}

  /** Starts following the processes of the attempt led by `leader`; sampled at once. */
  watch(leader: number): ProcTracker {
    const t = new ProcTracker(leader, this.procRoot, this.hostUnits, () => this.watched.delete(t));
    this.watched.add(t);
    this.sampleAll([t]);
    if (!this.timer) {
      this.timer = setInterval(() => {
        if (this.watched.size === 0) {
          clearInterval(this.timer);
          this.timer = undefined;
          return;
        }
        this.sampleAll([...this.watched]);
      }, this.everyMs);
      this.timer.unref();
    }
    return t;
  }

  /** One scan of /proc for every tracker given. */
  sampleAll(trackers: ProcTracker[]): void {
    const table = scanProc(this.procRoot);
    for (const t of trackers) t.sample(table);
  }
}

/** Every process on the host, by pid. */
export function scanProc(procRoot = '/proc'): Map<number, ProcEntry> {
  const table = new Map<number, ProcEntry>();
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return table;
  }
  for (const name of names) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const text = readText(join(procRoot, name, 'stat'));
    const e = text === undefined ? undefined : parseProcStat(text);
    if (e) table.set(e.pid, e);
  }
  return table;
}

/** Each scan's processes by parent, built once per scan however many attempts it serves. */
const CHILDREN = new WeakMap<Map<number, ProcEntry>, Map<number, number[]>>();
function childrenOf(table: Map<number, ProcEntry>): Map<number, number[]> {
  let children = CHILDREN.get(table);
  if (!children) {
    children = new Map();
    for (const e of table.values()) (children.get(e.ppid) ?? children.set(e.ppid, []).get(e.ppid)!).push(e.pid);
    CHILDREN.set(table, children);
  }
  return children;
}

/** The processes of an attempt: the leader's session and every descendant of the leader. */
export function attemptProcesses(table: Map<number, ProcEntry>, leader: number): ProcEntry[] {
  const lead = table.get(leader);
  const children = childrenOf(table);
  const found = new Set<number>();
  const stack = [leader];
  while (stack.length) {
    const pid = stack.pop()!;
    if (found.has(pid) || !table.has(pid)) continue;
    found.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  if (lead) for (const e of table.values()) if (e.sid === lead.sid && lead.sid === leader) found.add(e.pid);
  return [...found].map((p) => table.get(p)!);
}

/**
 * One attempt's figures from /proc, as its samples found them. A process's CPU time and I/O
 * include those of the children it reaped, so the sum over the live processes holds what
 * ended inside the attempt; each figure is the largest sum seen, since a process reaped from
 * outside (the leader, by the agent) takes its figures with it.
 */
export class ProcTracker {
  private figures: UsageFigures = { source: 'proc' };
  private ended = false;

  constructor(
    private readonly leader: number,
    private readonly procRoot: string,
    private readonly u: { tick: number; page: number },
    private readonly onStop: () => void,
  ) {}

  sample(table: Map<number, ProcEntry>): void {
    if (this.ended) return;
    const members = attemptProcesses(table, this.leader);
    if (members.length === 0) return;
    let seconds = 0;
    let memory = 0;
    let read: number | undefined;
    let written: number | undefined;
    for (const p of members) {
      seconds += p.ticks * this.u.tick;
      memory += p.rssPages * this.u.page;
      const io = readText(join(this.procRoot, String(p.pid), 'io'));
      const r = io && /^read_bytes: (\d+)$/m.exec(io);
      const w = io && /^write_bytes: (\d+)$/m.exec(io);
      if (r) read = (read ?? 0) + Number(r[1]);
      if (w) written = (written ?? 0) + Number(w[1]);
    }
    this.figures = laterFigures(this.figures, {
      source: 'proc',
      cpuSeconds: seconds,
      memoryBytes: memory,
      peakMemoryBytes: memory,
      ...(read !== undefined ? { readBytes: read } : {}),
      ...(written !== undefined ? { writeBytes: written } : {}),
    });
  }

  /** The figures as the samples so far found them (only `source` before the first). */
  read(): UsageFigures {
    return { ...this.figures };
  }

  /** The attempt ended: no more samples. */
  stop(): void {
    this.ended = true;
    this.onStop();
  }
}

/** The Docker Engine API's container stats (the members openbatch reads; Podman answers the same). */
export interface EngineStats {
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; max_usage?: number; stats?: Record<string, number> };
  blkio_stats?: { io_service_bytes_recursive?: { op?: string; value?: number }[] | null };
}

/** A container's figures from one answer of its engine's stats (`GET /containers/<name>/stats?stream=false`). */
export function engineFigures(s: EngineStats): UsageFigures {
  const out: UsageFigures = { source: 'engine' satisfies UsageSource };
  const ns = s.cpu_stats?.cpu_usage?.total_usage;
  if (typeof ns === 'number' && ns > 0) out.cpuSeconds = ns / 1e9;
  const mem = s.memory_stats?.usage;
  if (typeof mem === 'number' && mem > 0) {
    out.memoryBytes = mem;
    const max = s.memory_stats?.max_usage;
    out.peakMemoryBytes = typeof max === 'number' && max > mem ? max : mem;
  }
  const io = s.blkio_stats?.io_service_bytes_recursive;
  if (Array.isArray(io)) {
    let read = 0;
    let written = 0;
    for (const e of io) {
      const op = (e.op ?? '').toLowerCase();
      if (op === 'read') read += e.value ?? 0;
      else if (op === 'write') written += e.value ?? 0;
    }
    out.readBytes = read;
    out.writeBytes = written;
  }
  return out;
}

/** Figures of a later sample over an earlier one: counters and peaks never go back. */
export function laterFigures(before: UsageFigures | undefined, now: UsageFigures): UsageFigures {
  if (!before) return now;
  const out: UsageFigures = { ...now };
  for (const k of ['cpuSeconds', 'peakMemoryBytes', 'readBytes', 'writeBytes'] as const) {
    const a = before[k];
    const b = now[k];
    if (a !== undefined || b !== undefined) out[k] = Math.max(a ?? 0, b ?? 0);
  }
  return out;
}

/**
 * A task's figures from its containers' (executor/containerPod.ts): CPU time and bytes summed;
 * memory now the sum of what the running ones hold; the peak the largest of `sampledPeak`
 * (the largest such sum a sample saw) and each container's own peak — a lower bound of the
 * task's true peak, since containers' peaks need not fall at the same moment. Undefined when
 * no container was measured.
 */
export function taskFigures(members: readonly (UsageFigures | undefined)[], sampledPeak: number, running: boolean): UsageFigures | undefined {
  const measured = members.filter((m): m is UsageFigures => m !== undefined);
  if (measured.length === 0) return undefined;
  const out: UsageFigures = { source: measured[0].source };
  const sum = (k: 'cpuSeconds' | 'readBytes' | 'writeBytes' | 'memoryBytes') => {
    const given = measured.filter((m) => m[k] !== undefined);
    if (given.length) out[k] = given.reduce((n, m) => n + m[k]!, 0);
  };
  sum('cpuSeconds');
  if (running) sum('memoryBytes');
  sum('readBytes');
  sum('writeBytes');
  const peaks = measured.flatMap((m) => (m.peakMemoryBytes !== undefined ? [m.peakMemoryBytes] : []));
  if (peaks.length || sampledPeak > 0) out.peakMemoryBytes = Math.max(sampledPeak, ...peaks);
  return out;
}
