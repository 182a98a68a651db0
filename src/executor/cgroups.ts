/**
 * Control groups for the process executor: one cgroup per attempt holding its memory limit,
 * CPU quota and pids limit, on cgroup v2 (unified) or v1 (one hierarchy per controller) —
 * whichever holds each controller on this host. Hybrid hosts (v1 controllers plus an empty
 * v2 tree) are common: a controller is taken from v2 only when v2 actually has it.
 *
 * Layout: `<own cgroup>/openbatch/<attempt>` in every hierarchy used, where `<own cgroup>` is
 * the agent's cgroup (or the `parent` given). On v2 the parent must have the controllers in
 * its `cgroup.subtree_control`; a cgroup that holds processes cannot enable them (the
 * no-internal-processes rule), so when enabling fails the agent moves itself into a leaf
 * `<parent>/openbatch/agent-<pid>` and tries again. When that fails too, the controller is
 * reported unavailable rather than half-used.
 *
 * Limits (docs/executors.md): memory.max / memory.limit_in_bytes = the job's MEMORY, with swap
 * held to the same total (no swap) unless the job asks for maxSwap; CPU quota = VCPU × period,
 * or (vcpuLimit `shares`) 1,024 CPU shares per vCPU and no quota, as ECS gives; pids.max from
 * the agent's setting. OOM kills are read back from memory.events (v2) or
 * memory.oom_control (v1) before the cgroup is released.
 *
 * Cgroups are reused: an attempt's cgroup, once empty, goes back to its host and the next
 * attempt takes it with its own limits written (`pool-<agent pid>-<n>`). On a busy host a
 * fresh cgroup per attempt made a sandboxed start twice as slow (37–54 ms against 16–22 ms
 * at load average 5–8; 10–20% on a quiet host; docs/benchmarks.md). A cgroup
 * still charged with memory its last attempt left behind (a file on a host tmpfs) is not
 * reused, so no attempt inherits another's memory; its OOM kills count from when it was taken.
 *
 * What an attempt used is read from its cgroup too (usage.ts): beside the controllers that
 * limit it, the agent places each attempt in the controllers that only count — cpuacct and
 * blkio on v1 (cpuacct is a hierarchy of its own on many v1 hosts, beside cpu), io on v2
 * (CPU time is in every v2 cgroup's cpu.stat). They are taken where the host has them and
 * lets the agent use them, and left out otherwise: a host without them runs jobs as before,
 * without those figures.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processExists } from '../processes.js';
import { CgroupMeter, type UsageFigures } from './usage.js';

export type Controller = 'memory' | 'cpu' | 'pids';
export const CONTROLLERS: readonly Controller[] = ['memory', 'cpu', 'pids'];
/** Controllers that only count what an attempt uses (CPU time, I/O), never limit it. */
export type AccountingController = 'cpuacct' | 'blkio' | 'io';
/** The controllers an attempt's cgroup may be placed in. */
export type CgroupController = Controller | AccountingController;

/** What one attempt may use. */
export interface CgroupLimits {
  memoryMiB: number;
  vcpus: number;
  /** extra swap allowed beyond memoryMiB (linuxParameters.maxSwap); 0 = none */
  swapMiB: number;
  /** most processes and threads at once; 0 = no limit */
  pidsMax: number;
  /** VCPU as CPU shares (1,024 per vCPU, no cap), as ECS gives, instead of a quota */
  cpuShares?: boolean;
}

/** The CFS period used for CPU quotas (the kernel's and Docker's default). */
export const CPU_PERIOD_US = 100_000;

/** An emptied cgroup still charged with more memory than this is removed, not reused. */
const REUSE_MAX_CHARGED_BYTES = 4 * 1024 * 1024;
/** Emptied cgroups a host keeps for reuse; more are removed. */
const POOL_MAX = 64;
/** cgroups made by this process, for unique names across every host it probes */
let madeHere = 0;

interface Placement {
  version: 1 | 2;
  /** directory under which attempt cgroups are created (`…/openbatch`) */
  base: string;
  /** where the hierarchy is mounted */
  mountPoint: string;
}

/** One attempt's cgroup(s). */
export class JobCgroup {
  /** OOM kills counted before the current attempt took this cgroup */
  private oomBefore = 0;
  /** the count read when the last attempt ended (the next one counts from there, without reading it again) */
  private oomAtEnd: number | undefined;
  /** the limits last written, as text (a reused cgroup given the same ones is not written again) */
  written: string | undefined;
  private readonly procs: string[];
  /** v2's cgroup.kill, where the kernel has it */
  private readonly killFile: string | undefined;
  private readonly meter: CgroupMeter;

  constructor(
    /** directory of the attempt's cgroup per controller (the same directory for all, on v2) */
    readonly dirs: ReadonlyMap<CgroupController, { version: 1 | 2; dir: string }>,
    /** where an emptied cgroup goes back for reuse (none: it is removed) */
    private readonly pool?: JobCgroup[],
  ) {
    this.procs = [...new Set([...dirs.values()].map((d) => join(d.dir, 'cgroup.procs')))];
    const v2 = [...dirs.values()].find((d) => d.version === 2);
    this.killFile = v2 && existsSync(join(v2.dir, 'cgroup.kill')) ? join(v2.dir, 'cgroup.kill') : undefined;
    this.meter = new CgroupMeter({
      memory: dirs.get('memory'),
      cpu: dirs.get('cpuacct') ?? v2,
      io: dirs.get('blkio') ?? dirs.get('io'),
    });
  }

  /** A new attempt takes the cgroup (`fresh`: just made): its OOM kills and what it uses count from now. */
  taken(fresh: boolean): void {
    this.oomBefore = this.oomAtEnd ?? this.oomCount();
    this.oomAtEnd = undefined;
    this.meter.start(fresh);
  }

  /** What the current attempt has used so far (usage.ts); `final` at its end, before `release`. */
  usage(final = false): UsageFigures {
    return this.meter.read(final);
  }

  /** `cgroup.procs` files a process must be written to, one per distinct hierarchy. */
  procsFiles(): string[] {
    return this.procs;
  }

  /** Puts a process (and so everything it starts afterwards) into the cgroup. */
  join(pid: number): void {
    for (const f of this.procsFiles()) writeFileSync(f, String(pid));
  }

  /** Processes in the cgroup now. */
  members(): number[] {
    const pids = new Set<number>();
    for (const f of this.procsFiles()) {
      try {
        for (const l of readFileSync(f, 'utf8').split('\n')) if (l) pids.add(Number(l));
      } catch {
        // removed meanwhile
      }
    }
    return [...pids];
  }

  /** How many of the current attempt's processes the kernel killed for exceeding the memory limit (read once it has ended). */
  oomKills(): number {
    this.oomAtEnd = this.oomCount();
    return this.oomAtEnd - this.oomBefore;
  }

  private oomCount(): number {
    const m = this.dirs.get('memory');
    if (!m) return 0;
    try {
      const text = readFileSync(join(m.dir, m.version === 2 ? 'memory.events' : 'memory.oom_control'), 'utf8');
      const line = text.split('\n').find((l) => l.startsWith('oom_kill '));
      return line ? Number(line.slice(9)) : 0;
    } catch {
      return 0;
    }
  }

  /** SIGKILLs every member, including processes that left the job's process group; answers how many there were. */
  killAll(): number {
    const left = this.members();
    if (left.length === 0) return 0;
    if (this.killFile) {
      try {
        writeFileSync(this.killFile, '1');
      } catch {
        // fall back to signalling each member
      }
    }
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    return left.length;
  }

  /** Memory still charged to the cgroup (v1 memory.usage_in_bytes, v2 memory.current); 0 without the memory controller. */
  private chargedBytes(): number {
    const m = this.dirs.get('memory');
    if (!m) return 0;
    try {
      return Number(readFileSync(join(m.dir, m.version === 2 ? 'memory.current' : 'memory.usage_in_bytes'), 'utf8'));
    } catch {
      return Infinity;
    }
  }

  /**
   * The attempt is over: kills what is left and, once the cgroup is empty, gives it back for
   * the next attempt (or removes it: no pool, the pool full, memory still charged to it).
   */
  async release(empty = false): Promise<void> {
    this.meter.stop();
    if (this.pool) {
      for (let i = 0; i < 9; i++) {
        // (Found empty by the caller a moment ago: nothing is left in it that could start anything.)
        if ((i === 0 && empty) || this.killAll() === 0) {
          if (this.pool.length < POOL_MAX && this.chargedBytes() <= REUSE_MAX_CHARGED_BYTES) {
            this.pool.push(this);
            return;
          }
          break;
        }
        // Members SIGKILLed a moment ago (a sandbox's pid namespace, an OOM kill) are gone
        // within milliseconds; 255 ms in all before the cgroup is removed instead.
        if (i < 8) await new Promise((r) => setTimeout(r, 2 ** i));
      }
    }
    await this.remove();
  }

  /** Kills what is left and removes the cgroup; retries while dying members still hold it. */
  async remove(): Promise<void> {
    // Before rmdir: a counter file held open would outlive its cgroup's directory.
    this.meter.close();
    for (let i = 0; i < 50; i++) {
      this.killAll();
      let busy = false;
      for (const { dir } of this.dirs.values()) {
        try {
          rmdirTree(dir);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') busy = true;
        }
      }
      if (!busy) return;
      await new Promise((r) => setTimeout(r, 20 * (i + 1)));
    }
  }
}

/** The cgroup controllers this host lets the agent use, and why the others are not. */
export class CgroupHost {
  /** emptied cgroups ready for the next attempt */
  private readonly pool: JobCgroup[] = [];

  private constructor(
    private readonly placements: ReadonlyMap<CgroupController, Placement>,
    /** controller → why it cannot be used */
    readonly unavailable: ReadonlyMap<Controller, string>,
  ) {}

  /** Removes the cgroups kept for reuse (the agent is stopping). */
  async close(): Promise<void> {
    await Promise.all(this.pool.splice(0).map((cg) => cg.remove()));
  }

  get controllers(): CgroupController[] {
    return [...this.placements.keys()];
  }

  /** e.g. "cgroup v1: memory, cpu, pids" */
  describe(): string {
    const byVersion = new Map<number, CgroupController[]>();
    for (const [c, p] of this.placements) (byVersion.get(p.version) ?? byVersion.set(p.version, []).get(p.version)!).push(c);
    return [...byVersion].map(([v, cs]) => `cgroup v${v}: ${cs.join(', ')}`).join('; ') || 'no cgroup controllers';
  }

  /** The cgroup version holding the memory controller, if the agent may use it. */
  memoryVersion(): 1 | 2 | undefined {
    return this.placements.get('memory')?.version;
  }

  /** The v1 memory cgroup directory of another process (a container's), or undefined. */
  static memoryDirOf(pid: number, procRoot = '/proc'): string | undefined {
    try {
      const mounts = readMounts(readFileSync(join(procRoot, 'self/mountinfo'), 'utf8'));
      const v1 = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.split(',').includes('memory'));
      const path = [...ownCgroups(readFileSync(join(procRoot, String(pid), 'cgroup'), 'utf8'))].find(([k]) => k.split(',').includes('memory'))?.[1];
      return v1 && path !== undefined ? join(v1.mountPoint, relative(path, v1.root)) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * A cgroup for an attempt, with its limits set: one an earlier attempt emptied, else a new
   * one. Throws (with the path in the message) if the kernel refuses.
   */
  create(limits: CgroupLimits): JobCgroup {
    const reused = this.pool.pop();
    const text = `${limits.memoryMiB} ${limits.vcpus} ${limits.swapMiB} ${limits.pidsMax} ${limits.cpuShares === true}`;
    if (reused) {
      try {
        // Most attempts of an instance ask the same: then the files already say it. (Only a job
        // that may write its cgroup's files — root, outside the sandbox — could have changed
        // them, and such a job can change anything on the host.)
        if (reused.written !== text) {
          reused.written = undefined;
          for (const [c, { version, dir }] of reused.dirs) writeLimits(c, version, dir, limits);
          reused.written = text;
        }
        reused.taken(false);
        return reused;
      } catch {
        // e.g. a memory limit below what is still charged: a new cgroup instead
        void reused.remove();
      }
    }
    const name = `pool-${process.pid}-${++madeHere}`;
    const dirs = new Map<CgroupController, { version: 1 | 2; dir: string }>();
    for (const [c, p] of this.placements) dirs.set(c, { version: p.version, dir: join(p.base, name) });
    for (const { dir } of new Set(dirs.values())) mkdirSync(dir, { recursive: true });
    const cg = new JobCgroup(dirs, this.pool);
    try {
      for (const [c, { version, dir }] of dirs) writeLimits(c, version, dir, limits);
      cg.written = text;
    } catch (e) {
      void cg.remove();
      throw e;
    }
    cg.taken(true);
    return cg;
  }

  /** Finds where each controller lives and whether the agent may create cgroups there. */
  static probe(opts: { parent?: string; procRoot?: string } = {}): CgroupHost {
    const proc = opts.procRoot ?? '/proc';
    const placements = new Map<CgroupController, Placement>();
    const unavailable = new Map<Controller, string>();
    let mounts: Mount[];
    let own: Map<string, string>;
    try {
      mounts = readMounts(readFileSync(join(proc, 'self/mountinfo'), 'utf8'));
      own = ownCgroups(readFileSync(join(proc, 'self/cgroup'), 'utf8'));
    } catch (e) {
      for (const c of CONTROLLERS) unavailable.set(c, `cannot read this process's cgroups (${(e as Error).message})`);
      return new CgroupHost(placements, unavailable);
    }
    const v2 = mounts.find((m) => m.fstype === 'cgroup2');
    let v2Controllers = new Set<string>();
    let v2Dir: string | undefined;
    if (v2 && own.has('')) {
      v2Dir = join(v2.mountPoint, opts.parent ?? relative(own.get('')!, v2.root));
      try {
        v2Controllers = new Set(readFileSync(join(v2Dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/));
      } catch {
        v2Controllers = new Set();
      }
    }
    const wantedV2: Controller[] = [];
    for (const c of CONTROLLERS) {
      if (v2Controllers.has(c)) {
        wantedV2.push(c);
        continue;
      }
      const v1 = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.split(',').includes(c));
      const ownPath = [...own].find(([k]) => k.split(',').includes(c))?.[1];
      if (!v1 || ownPath === undefined) {
        unavailable.set(c, `no ${c} controller is mounted (neither cgroup v2 nor v1)`);
        continue;
      }
      const base = join(v1.mountPoint, opts.parent ?? relative(ownPath, v1.root), 'openbatch');
      const problem = probeWritable(base);
      if (problem) unavailable.set(c, `cgroup v1 ${c}: ${problem}`);
      else placements.set(c, { version: 1, base, mountPoint: v1.mountPoint });
    }
    if (wantedV2.length && v2Dir) {
      const problem = enableV2(v2Dir, wantedV2);
      for (const c of wantedV2) {
        if (problem) unavailable.set(c, `cgroup v2 ${c}: ${problem}`);
        else placements.set(c, { version: 2, base: join(v2Dir, 'openbatch'), mountPoint: v2!.mountPoint });
      }
    }
    placeAccounting(placements, mounts, own, opts.parent, v2Dir, v2Controllers);
    for (const p of new Set([...placements.values()].map((x) => x.base))) removeDeadAgentsPools(p);
    return new CgroupHost(placements, unavailable);
  }
}

/**
 * The counting controllers (see the file comment), where the host lets the agent use them:
 * on a host whose limits are on v2, io (CPU time needs no controller there); else v1's
 * cpuacct and blkio. Nothing is said of those missing: they limit nothing.
 */
function placeAccounting(
  placements: Map<CgroupController, Placement>,
  mounts: Mount[],
  own: Map<string, string>,
  parent: string | undefined,
  v2Dir: string | undefined,
  v2Controllers: Set<string>,
): void {
  const v2 = [...placements.values()].find((p) => p.version === 2);
  if (v2 && v2Dir) {
    if (!v2Controllers.has('io')) return;
    try {
      for (const at of [v2Dir, v2.base]) writeFileSync(join(at, 'cgroup.subtree_control'), '+io');
      placements.set('io', v2);
    } catch {
      // not delegated to the agent: no I/O figures
    }
    return;
  }
  for (const c of ['cpuacct', 'blkio'] as const) {
    const v1 = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.split(',').includes(c));
    const ownPath = [...own].find(([k]) => k.split(',').includes(c))?.[1];
    if (!v1 || ownPath === undefined) continue;
    const base = join(v1.mountPoint, parent ?? relative(ownPath, v1.root), 'openbatch');
    if (!probeWritable(base)) placements.set(c, { version: 1, base, mountPoint: v1.mountPoint });
  }
}

/** Empty cgroups kept for reuse by agents that died without removing them (SIGKILL). */
function removeDeadAgentsPools(base: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^pool-(\d+)-\d+$/.exec(name);
    if (!m || Number(m[1]) === process.pid || processExists(Number(m[1]))) continue;
    try {
      rmdirTree(join(base, name));
    } catch {
      // still in use (a job that outlived its agent) or gone meanwhile: left alone
    }
  }
}

/** Removes a cgroup and the cgroups below it (a cgroup directory holds only control files and child cgroups). */
function rmdirTree(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmdirTree(join(dir, e.name));
  rmdirSync(dir);
}

function writeLimits(c: CgroupController, version: 1 | 2, dir: string, l: CgroupLimits): void {
  const w = (file: string, value: string) => writeFileSync(join(dir, file), value);
  const mem = Math.round(l.memoryMiB * 1024 * 1024);
  const swap = Math.round(Math.max(0, l.swapMiB) * 1024 * 1024);
  const quota = Math.max(1000, Math.round(l.vcpus * CPU_PERIOD_US));
  if (c === 'memory') {
    if (version === 2) {
      w('memory.max', String(mem));
      if (existsSync(join(dir, 'memory.swap.max'))) w('memory.swap.max', String(swap));
    } else {
      // memsw is memory + swap; it must never be below the memory limit, so a reused cgroup
      // whose memory limit grows has its memsw limit lifted first.
      const memsw = existsSync(join(dir, 'memory.memsw.limit_in_bytes'));
      if (memsw) w('memory.memsw.limit_in_bytes', '-1');
      w('memory.limit_in_bytes', String(mem));
      if (memsw) w('memory.memsw.limit_in_bytes', String(mem + swap));
    }
  } else if (c === 'cpu') {
    // Both are written either way: a reused cgroup may carry the other kind from its last attempt.
    const shares = l.cpuShares ? Math.max(2, Math.round(l.vcpus * 1024)) : 1024;
    if (version === 2) {
      w('cpu.max', l.cpuShares ? `max ${CPU_PERIOD_US}` : `${quota} ${CPU_PERIOD_US}`);
      // v2 weights run 1-10000 around 100 where v1 shares run 2-262144 around 1024 (the kernel's and runc's mapping).
      w('cpu.weight', String(1 + Math.floor(((shares - 2) * 9999) / 262142)));
    } else {
      w('cpu.cfs_period_us', String(CPU_PERIOD_US));
      w('cpu.cfs_quota_us', l.cpuShares ? '-1' : String(quota));
      w('cpu.shares', String(shares));
    }
  } else if (c === 'pids' && l.pidsMax > 0) {
    w('pids.max', String(l.pidsMax));
  }
}

/** Enables controllers for children of `dir` (v2), moving this process into a leaf if `dir` must be emptied first. */
function enableV2(dir: string, controllers: Controller[]): string | undefined {
  const base = join(dir, 'openbatch');
  const enable = (at: string) => writeFileSync(join(at, 'cgroup.subtree_control'), controllers.map((c) => '+' + c).join(' '));
  try {
    mkdirSync(base, { recursive: true });
  } catch (e) {
    return `cannot create ${base} (${(e as NodeJS.ErrnoException).code})`;
  }
  try {
    enable(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EBUSY') return `cannot enable ${controllers.join(', ')} in ${dir}/cgroup.subtree_control (${(e as NodeJS.ErrnoException).code})`;
    // The no-internal-processes rule: `dir` holds processes (this agent at least). Move this
    // agent into a leaf beside the jobs; other processes there are not ours to move.
    try {
      const leaf = join(base, `agent-${process.pid}`);
      mkdirSync(leaf, { recursive: true });
      writeFileSync(join(leaf, 'cgroup.procs'), String(process.pid));
      enable(dir);
    } catch (e2) {
      return `cannot enable ${controllers.join(', ')} for children of ${dir}: it holds other processes (${(e2 as NodeJS.ErrnoException).code}); give the agent a delegated cgroup of its own`;
    }
  }
  try {
    enable(base);
  } catch (e) {
    return `cannot enable ${controllers.join(', ')} in ${base}/cgroup.subtree_control (${(e as NodeJS.ErrnoException).code})`;
  }
  return undefined;
}

function probeWritable(base: string): string | undefined {
  try {
    mkdirSync(base, { recursive: true });
    const probe = join(base, `probe-${process.pid}`);
    mkdirSync(probe);
    rmdirSync(probe);
    return undefined;
  } catch (e) {
    return `cannot create cgroups under ${base} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
}

/**
 * A v1 memory cgroup the agent makes for one container, given to the engine as the
 * container's CgroupParent, so that the kernel's record of the container's memory outlives
 * the container. On cgroup v1 neither Podman with runc nor the container's own cgroup tell
 * reliably whether the OOM killer ended a container: the runtime reports OOMKilled=false,
 * and the container's cgroup (with its oom_kill counter and memory peak) is deleted as the
 * container ends, so reading it races with the end. A parent's usage is hierarchical: its
 * peak (memory.max_usage_in_bytes) includes the container's, and it stays readable until the
 * agent removes it, after the container is gone.
 *
 * The engine may keep its own helpers in a child of the parent (Podman's conmon, in
 * `<parent>/conmon`), which count in the parent's peak too. The engine makes the same path
 * in every hierarchy (the unified one of a hybrid host too); `remove()` takes them away.
 */
export class ContainerMemoryParent {
  private constructor(
    /** the path below each v1 hierarchy's root, as the engine's CgroupParent */
    readonly cgroupParent: string,
    private readonly memoryDir: string,
    private readonly mounts: Mount[],
  ) {}

  /**
   * Makes `<the agent's own v1 memory cgroup>/openbatch-containers/<name>`; undefined where
   * the memory controller is not on v1 or the agent may not create cgroups there.
   */
  static create(name: string, procRoot = '/proc'): ContainerMemoryParent | undefined {
    const parent = ContainerMemoryParent.of(name, procRoot);
    if (!parent) return undefined;
    try {
      mkdirSync(parent.memoryDir, { recursive: true });
      return parent;
    } catch {
      return undefined;
    }
  }

  /** The parent a container of this name was given, made by this process or another in the same cgroup (a dead agent's). */
  static of(name: string, procRoot = '/proc'): ContainerMemoryParent | undefined {
    try {
      // The engine makes the parent in every hierarchy, the unified one of a hybrid host too.
      const mounts = readMounts(readFileSync(join(procRoot, 'self/mountinfo'), 'utf8')).filter((m) => m.fstype === 'cgroup' || m.fstype === 'cgroup2');
      const memory = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.split(',').includes('memory'));
      const own = [...ownCgroups(readFileSync(join(procRoot, 'self/cgroup'), 'utf8'))].find(([k]) => k.split(',').includes('memory'))?.[1];
      if (!memory || own === undefined) return undefined;
      const rel = join(relative(own, memory.root), 'openbatch-containers', name);
      return new ContainerMemoryParent(rel, join(memory.mountPoint, rel), mounts);
    } catch {
      return undefined;
    }
  }

  /**
   * The most memory charged under the parent at once, in bytes: the container's at its peak,
   * plus what the engine's helper held then (conmon, with the page cache of the log it writes:
   * a few MiB). A container that reached its limit left a peak of at least the limit.
   */
  peakBytes(): number {
    try {
      return Number(readFileSync(join(this.memoryDir, 'memory.max_usage_in_bytes'), 'utf8'));
    } catch {
      return 0;
    }
  }

  /** CPU seconds used under the parent (its cpuacct.usage, where cpuacct is a v1 hierarchy), or undefined. */
  cpuSeconds(): number | undefined {
    const m = this.mounts.find((x) => x.fstype === 'cgroup' && x.superOptions.split(',').includes('cpuacct'));
    if (!m) return undefined;
    try {
      const ns = Number(readFileSync(join(m.mountPoint, this.cgroupParent, 'cpuacct.usage'), 'utf8'));
      return Number.isFinite(ns) ? ns / 1e9 : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Removes the parent (and the engine's empty children of it) from every hierarchy. The
   * engine's helper may outlive the container's removal by a moment (conmon exiting), which
   * keeps its cgroup busy: what is left is tried again a few times, in the background.
   */
  remove(tries = REMOVE_TRIES): void {
    let left = false;
    for (const m of this.mounts) {
      const dir = join(m.mountPoint, this.cgroupParent);
      for (const child of subdirectories(dir)) left = !tryRmdir(join(dir, child)) || left;
      left = (existsSync(dir) && !tryRmdir(dir)) || left;
    }
    if (left && tries > 1) setTimeout(() => this.remove(tries - 1), REMOVE_RETRY_MS).unref();
  }
}

/** How often, and how far apart, a parent still busy is tried again (two seconds in all). */
const REMOVE_TRIES = 20;
const REMOVE_RETRY_MS = 100;

function subdirectories(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/** Whether the directory is gone: removed now, or not there. */
function tryRmdir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    // still busy (its processes have not all exited yet, or its container could not be removed)
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

interface Mount {
  root: string;
  mountPoint: string;
  fstype: string;
  superOptions: string;
}

function readMounts(mountinfo: string): Mount[] {
  const out: Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    out.push({ root: unescape(pre[3]), mountPoint: unescape(pre[4]), fstype: post[0], superOptions: post[2] ?? '' });
  }
  return out;
}

/** `/proc/self/cgroup`: controller list ('' for v2) → path. */
function ownCgroups(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

/** The own cgroup's path below a mount whose root is `root` (a cgroup mounted from a subtree, as in containers). */
function relative(path: string, root: string): string {
  if (root !== '/' && (path === root || path.startsWith(root + '/'))) return path.slice(root.length) || '/';
  return path;
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}
