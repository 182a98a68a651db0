/**
 * The container executor: each attempt is a container made through the Docker Engine API on
 * a unix socket (Docker, or Podman's `podman system service`).
 *
 * One attempt, as ECS runs a task's container:
 *
 *   1. the image is there or is pulled (failure → "CannotPullContainerError: …");
 *   2. the container is created from the job definition (docs/executors.md lists the fields;
 *      failure → "CannotCreateContainerError: …") and started ("CannotStartContainerError: …").
 *      Until it has started the attempt is STARTING (`whenRunning`): its startedAt and its
 *      timeout begin then, not while the image is pulled. An attempt that never gets this far
 *      ends `neverStarted`, which AWS reports as "Task failed to start";
 *   3. its multiplexed log stream is followed into lines while it runs, and what the stream
 *      did not deliver (Podman's follow stream can end before the container does) is read
 *      after it exits, so no line is lost;
 *   4. its exit is waited for, whether the OOM killer ended it is read (→ exit code 137 and
 *      AWS's OutOfMemoryError reason), and it is removed.
 *
 * An engine that cannot be reached before the container starts fails the attempt with
 * "CannotCreateContainerError: cannot reach the Docker API at …" (the agent holds new work
 * while its health check finds the engine silent, so this is rare). One that stops answering
 * while the container runs does not stop it: the attempt stays running and the container is
 * waited for again once the engine is back (waitForExit); its removal likewise (remove).
 *
 *   command      replaces the image's CMD; the image's ENTRYPOINT stays. No command: the
 *                image's CMD runs.
 *   environment  the job's only; the image's own variables (PATH…) stay under it.
 *   terminate    SIGTERM to the container's main process (pid 1, which ignores it unless it
 *                handles it, or unless initProcessEnabled), SIGKILL after the grace.
 *   VCPU         a CPU quota of VCPU × period, or, with the server's `vcpuLimit: shares`,
 *                1,024 CPU shares per vCPU and no cap, as ECS gives.
 *
 * The container is named `openbatch-<attempt>-<random>`; the agent records that name so a
 * container whose agent died is removed by whoever finds the agent dead (agent/pidFiles.ts).
 *
 * Out-of-memory on cgroup v1: runtimes there do not always notice the kernel's OOM kill
 * (Podman with runc reports OOMKilled=false), and v1 counts it only in the container's own
 * cgroup, which the runtime deletes as the container ends. So on a v1 host each container
 * gets a memory cgroup of the agent's as its parent (ContainerMemoryParent), whose
 * hierarchical peak outlives the container: a SIGKILL death (137) that the agent did not
 * send, after the container's memory peaked within 1 MiB of its limit, is the OOM killer's —
 * read after the container is gone, so it does not depend on when the engine reports the
 * end. An engine that takes no such parent (Docker's systemd driver) leaves only sampling
 * the container's own cgroup while it runs (every OOM_SAMPLE_MS), which a kill in its last
 * moments can escape. docs/executors.md says so.
 *
 * What a container used comes from the engine's stats, read when the agent samples the
 * attempt (`usage`): CPU time, memory now, bytes read and written; its peak is the largest
 * sample, as Podman reports none. On a v1 host the parent cgroup's counters, read after the
 * container is gone, give the exact CPU time and peak at the end (with the engine's helper's
 * few MiB and milliseconds in them).
 */
import type { IncomingMessage } from 'node:http';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DockerApi, DockerError, FrameDecoder } from './dockerApi.js';
import { LineSplitter } from './lines.js';
import { DEFAULT_GRACE_MS, DEFAULT_PIDS_MAX, OOM_REASON } from './process.js';
import { CgroupHost, ContainerMemoryParent, CPU_PERIOD_US } from './cgroups.js';
import { isWithin, makeMissingHostPath, scratchVolume } from './sandbox.js';
import type { AttemptExit, AttemptSpec, Executor, ExecutorCapabilities, JobSettings, LogLine, PodMembership, RunningAttempt, UsageFigures } from './types.js';
import { ContainerPod } from './containerPod.js';
import { engineFigures, laterFigures, type EngineStats } from './usage.js';

const MiB = 1024 * 1024;
/** How often a container's memory cgroup is sampled for OOM kills on cgroup v1 hosts. */
const OOM_SAMPLE_MS = 100;
/** The engine's health is asked at most this often, and given this long to answer. */
const HEALTH_EVERY_MS = 2_000;
const HEALTH_TIMEOUT_MS = 3_000;

export interface ContainerExecutorOptions {
  /** the Docker API socket: "unix:///run/podman/podman.sock" or a path */
  dockerHost: string;
  /** this host's cgroups (probed by default; false: none), for OOM detection on cgroup v1 (see the file comment) */
  cgroups?: CgroupHost | false;
  clock?: () => number;
  /** pids limit per container (0: none) */
  pidsMax?: number;
  /** host paths no job may see, hidden again inside volumes that hold them (resolved, existing) */
  hidden?: string[];
}

/** The container's creation request, from the attempt. Exported for tests of the mapping. */
export function createBody(spec: AttemptSpec, pidsMax: number, hidden: readonly string[] = []): Record<string, unknown> {
  const s: JobSettings = spec.settings ?? {};
  const volumes = new Map((s.volumes ?? []).map((v) => [v.name, v]));
  const binds: string[] = [];
  const tmpfs: Record<string, string> = {};
  for (const m of s.mountPoints ?? []) {
    const v = volumes.get(m.sourceVolume);
    if (!v) throw new Error(`mountPoints: sourceVolume "${m.sourceVolume}" is not one of the job definition's volumes`);
    if (v.unsupported) throw new Error(`volumes: "${v.name}" uses ${v.unsupported}, which this host cannot provide`);
    // A volume without a host path is scratch space of the attempt, as Docker's anonymous volumes are.
    const src = v.sourcePath ?? scratchVolume(spec.workDir, v.name);
    binds.push(`${src}:${m.containerPath}${m.readOnly ? ':ro' : ''}`);
    // What no job may see (the data directory, the agent's work root) stays hidden inside a
    // granted directory that holds it: an empty tmpfs over a directory, /dev/null over a file.
    const real = v.sourcePath && existsSync(v.sourcePath) ? realpathSync(v.sourcePath) : undefined;
    for (const h of hidden) {
      if (!real || !isWithin(h, real)) continue;
      const at = join(m.containerPath, relative(real, h));
      if (statSync(h).isDirectory()) tmpfs[at] = 'ro,size=4k';
      else binds.push(`/dev/null:${at}:ro`);
    }
  }
  const memory = Math.round(spec.memoryMiB * MiB);
  for (const t of s.tmpfs ?? []) tmpfs[t.containerPath] = [t.sizeMiB > 0 ? `size=${t.sizeMiB}m` : '', ...(t.mountOptions ?? [])].filter(Boolean).join(',');
  const hostConfig: Record<string, unknown> = {
    Memory: memory,
    MemorySwap: memory + Math.round((s.maxSwapMiB ?? 0) * MiB),
    ...cpuLimit(spec.vcpus, s.vcpuLimit ?? 'quota'),
    Binds: binds,
    Privileged: Boolean(s.privileged),
    ReadonlyRootfs: Boolean(s.readonlyRootFilesystem),
    Init: Boolean(s.initProcessEnabled),
    Tmpfs: tmpfs,
    Devices: (s.devices ?? []).map((d) => ({
      PathOnHost: d.hostPath,
      PathInContainer: d.containerPath ?? d.hostPath,
      CgroupPermissions: d.permissions?.length ? d.permissions.map((p) => ({ READ: 'r', WRITE: 'w', MKNOD: 'm' })[p] ?? '').join('') : 'rwm',
    })),
    Ulimits: ulimits(s, pidsMax),
  };
  if (pidsMax > 0) hostConfig.PidsLimit = pidsMax;
  if (s.sharedMemorySizeMiB) hostConfig.ShmSize = Math.round(s.sharedMemorySizeMiB * MiB);
  const body: Record<string, unknown> = {
    Image: s.image,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: { 'openbatch.attempt': spec.attemptId },
    HostConfig: hostConfig,
  };
  if (spec.command.length) body.Cmd = spec.command;
  if (s.user) body.User = s.user;
  return body;
}

/** VCPU for the daemon: a quota of VCPU × period, or ECS's 1,024 shares per vCPU and no cap. */
function cpuLimit(vcpus: number, how: 'quota' | 'shares'): Record<string, number> {
  if (how === 'shares') return { CpuShares: Math.max(2, Math.round(vcpus * 1024)) };
  return { CpuPeriod: CPU_PERIOD_US, CpuQuota: Math.max(1000, Math.round(vcpus * CPU_PERIOD_US)) };
}

/**
 * The job's ulimits for the daemon. Podman, given any ulimit, adds nproc at its own maximum,
 * which hosts that forbid raising rlimits refuse. Unless the job names nproc, it is passed as
 * the smaller of the agent's own nproc limit and the container's pids limit: lowering is
 * always permitted, and the pids limit bounds the container's processes anyway.
 */
function ulimits(s: JobSettings, pidsMax: number): { Name: string; Soft: number; Hard: number }[] {
  const out = (s.ulimits ?? []).map((u) => ({ Name: u.name, Soft: u.softLimit, Hard: u.hardLimit }));
  if (out.length && !out.some((u) => u.Name === 'nproc')) {
    let own = Infinity;
    try {
      const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max processes'));
      const hard = (line ?? '').slice('Max processes'.length).trim().split(/\s+/)[1];
      if (hard && hard !== 'unlimited') own = Number(hard);
    } catch {
      // not Linux: leave it to the daemon
    }
    const n = Math.min(own, pidsMax > 0 ? pidsMax : Infinity);
    if (Number.isFinite(n)) out.push({ Name: 'nproc', Soft: n, Hard: n });
  }
  return out;
}

/** Runs each attempt as a container through the Docker Engine API. */
export class ContainerExecutor implements Executor {
  readonly name = 'container' as const;
  readonly capabilities: ExecutorCapabilities = { processGroups: true, cgroups: true, sandbox: true, containers: true };
  readonly unavailable: string[] = [];
  readonly api: DockerApi;
  private readonly clock: () => number;
  private readonly pidsMax: number;
  private readonly cgroups: CgroupHost | undefined;
  private readonly hidden: string[];

  constructor(opts: ContainerExecutorOptions) {
    this.api = new DockerApi(opts.dockerHost);
    this.hidden = (opts.hidden ?? []).flatMap((p) => {
      try {
        return [realpathSync(p)];
      } catch {
        return [];
      }
    });
    this.clock = opts.clock ?? Date.now;
    this.pidsMax = opts.pidsMax ?? DEFAULT_PIDS_MAX;
    const cg = opts.cgroups === false ? undefined : (opts.cgroups ?? CgroupHost.probe());
    if (cg?.memoryVersion() === 1) this.cgroups = cg;
  }

  /** Whether the daemon answers; the error text when it does not. */
  async check(): Promise<string | undefined> {
    try {
      await this.api.call('GET', '/version');
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  }

  private healthAt = -Infinity;
  private lastHealth: Promise<string | undefined> = Promise.resolve(undefined);

  /** The engine's answer to a ping, asked at most every HEALTH_EVERY_MS and given HEALTH_TIMEOUT_MS. */
  health(): Promise<string | undefined> {
    if (performance.now() - this.healthAt < HEALTH_EVERY_MS) return this.lastHealth;
    this.healthAt = performance.now();
    let timer: NodeJS.Timeout | undefined;
    this.lastHealth = Promise.race([
      this.check(),
      new Promise<string>((r) => {
        timer = setTimeout(() => r(`no answer within ${HEALTH_TIMEOUT_MS / 1000} s`), HEALTH_TIMEOUT_MS);
      }),
    ])
      .then((trouble) => (trouble ? `the container engine at ${this.api.socket} does not answer (${trouble})` : undefined))
      .finally(() => clearTimeout(timer));
    return this.lastHealth;
  }

  start(spec: AttemptSpec, onLog: (lines: LogLine[]) => void): RunningAttempt {
    const name = `openbatch-${spec.attemptId.replace(/[^A-Za-z0-9_.-]/g, '_')}-${randomBytes(3).toString('hex')}`;
    // A task of several containers: a pod of them, sharing one network (containerPod.ts).
    if (spec.containers) {
      return new ContainerPod(this.api, spec, name, onLog, (member, memberLog, membership) =>
        new ContainerAttempt(this.api, member, `${name}-${member.name}`, memberLog, this.clock, this.pidsMax, this.cgroups !== undefined, this.hidden, () => this.gateway(), membership),
      );
    }
    return new ContainerAttempt(this.api, spec, name, onLog, this.clock, this.pidsMax, this.cgroups !== undefined, this.hidden, () => this.gateway());
  }

  private gatewayAddress: Promise<string | undefined> | undefined;

  /**
   * The gateway of the engine's default bridge network: an address of this host that its
   * containers route to, where the agent serves their task metadata endpoint. Asked once.
   */
  gateway(): Promise<string | undefined> {
    this.gatewayAddress ??= this.api
      .call<{ IPAM?: { Config?: { Gateway?: string }[] } }>('GET', '/networks/bridge')
      .then((n) => n.IPAM?.Config?.find((c) => c.Gateway)?.Gateway)
      .catch(() => undefined);
    return this.gatewayAddress;
  }
}

/** An answer, or its absence, that means the engine could not be reached at all. */
function unreachable(e: unknown): boolean {
  return e instanceof DockerError && e.status === 0;
}

export class ContainerAttempt implements RunningAttempt {
  readonly pid = undefined;
  readonly dockerSocket: string;
  readonly exited: Promise<AttemptExit>;
  readonly whenRunning: Promise<number | undefined>;
  private markRunning!: (at: number | undefined) => void;
  private created = false;
  /** the container's followed log stream, while open */
  private logStream: IncomingMessage | undefined;
  /** the job's output, split into lines as it arrives, by the follow and by the catch-up after the exit */
  private readonly splitters = { stdout: new LineSplitter('stdout'), stderr: new LineSplitter('stderr') };
  /** bytes of each stream delivered so far: the catch-up after the exit starts after them */
  private readonly delivered = { stdout: 0, stderr: 0 };
  private done = false;
  private stopRequested = false;
  private killSent = false;
  private killTimer: NodeJS.Timeout | undefined;
  private killDeadline = Infinity;
  /** settles once the container has been created (or will never be) */
  private readonly ready: Promise<void>;
  /** what the engine's stats said so far (see `usage`) */
  private figures: UsageFigures | undefined;
  private started = false;
  private markReady!: () => void;

  constructor(
    private readonly api: DockerApi,
    spec: AttemptSpec,
    readonly containerName: string,
    private readonly onLog: (lines: LogLine[]) => void,
    private readonly clock: () => number,
    pidsMax: number,
    private readonly v1: boolean,
    private readonly hidden: readonly string[],
    private readonly gateway: () => Promise<string | undefined>,
    private readonly membership?: PodMembership,
  ) {
    this.dockerSocket = api.socket;
    this.ready = new Promise((r) => (this.markReady = r));
    this.whenRunning = new Promise((r) => (this.markRunning = r));
    this.exited = this.run(spec, pidsMax).finally(() => {
      this.done = true;
      if (this.killTimer !== undefined) clearTimeout(this.killTimer);
      this.markReady();
      this.markRunning(undefined);
    });
  }

  private async run(spec: AttemptSpec, pidsMax: number): Promise<AttemptExit> {
    const notStarted = (reason?: string): AttemptExit => ({ exitCode: null, ...(reason ? { reason } : {}), neverStarted: true });
    const image = spec.settings?.image;
    if (!image) return notStarted('CannotStartContainerError: the job definition names no image');
    let body: Record<string, unknown>;
    try {
      // Docker makes a missing bind source; Podman refuses it ("no such file or directory").
      const volumes = new Map((spec.settings?.volumes ?? []).map((v) => [v.name, v]));
      for (const m of spec.settings?.mountPoints ?? []) {
        const v = volumes.get(m.sourceVolume);
        if (v?.sourcePath) makeMissingHostPath(v.name, v.sourcePath, this.hidden);
      }
      body = createBody(spec, pidsMax, this.hidden);
    } catch (e) {
      return notStarted(`CannotCreateContainerError: ${(e as Error).message}`);
    }
    if (this.membership) {
      body.Labels = { ...(body.Labels as Record<string, string>), 'openbatch.pod': this.membership.pod, 'openbatch.container': spec.name ?? '' };
      if (this.membership.network) body.HostConfig = { ...(body.HostConfig as Record<string, unknown>), NetworkMode: `container:${this.membership.network}` };
    }
    try {
      await this.api.call('GET', `/images/${encodeURIComponent(image)}/json`);
    } catch (e) {
      if (unreachable(e)) return notStarted(`CannotCreateContainerError: ${(e as Error).message}`);
      if (!(e instanceof DockerError) || e.status !== 404) return notStarted(`CannotPullContainerError: ${(e as Error).message}`);
      try {
        await this.api.pull(image);
      } catch (e2) {
        if (unreachable(e2)) return notStarted(`CannotCreateContainerError: ${(e2 as Error).message}`);
        return notStarted(`CannotPullContainerError: Error response from daemon: ${(e2 as Error).message}`);
      }
    }
    if (this.stopRequested) return notStarted();
    // The task metadata endpoint, on the bridge gateway the container routes to (agent/taskMetadata.ts).
    if (spec.metadata && spec.env.ECS_CONTAINER_METADATA_URI_V4 === undefined) {
      const gateway = await this.gateway();
      const uri = gateway ? await spec.metadata.at(gateway) : undefined;
      if (uri) (body.Env as string[]).push(`ECS_CONTAINER_METADATA_URI_V4=${uri}`);
    }
    let parent = this.v1 ? ContainerMemoryParent.create(this.containerName) : undefined;
    try {
      try {
        await this.create(body, parent);
      } catch (e) {
        if (!parent || unreachable(e)) throw e;
        // An engine that takes no cgroup path as a parent (Docker's systemd driver wants a
        // slice): without one, OOM kills are known only from sampling (see the file comment).
        parent.remove();
        parent = undefined;
        await this.create(body, undefined);
      }
    } catch (e) {
      parent?.remove();
      return notStarted(`CannotCreateContainerError: ${unreachable(e) ? '' : 'Error response from daemon: '}${(e as Error).message}`);
    }
    try {
      this.created = true;
      return await this.runCreated(spec, parent);
    } finally {
      parent?.remove();
    }
  }

  private containerId: string | undefined;

  private async create(body: Record<string, unknown>, parent: ContainerMemoryParent | undefined): Promise<void> {
    const hostConfig = { ...(body.HostConfig as Record<string, unknown>), ...(parent ? { CgroupParent: parent.cgroupParent } : {}) };
    const made = await this.api.call<{ Id?: string }>('POST', `/containers/create?name=${encodeURIComponent(this.containerName)}`, { ...body, HostConfig: hostConfig });
    this.containerId = made?.Id;
  }

  /** Starts the created container, follows it to its end and removes it. */
  private async runCreated(spec: AttemptSpec, parent: ContainerMemoryParent | undefined): Promise<AttemptExit> {
    let ended = false;
    try {
      if (this.stopRequested) return { exitCode: null, neverStarted: true };
      try {
        await this.api.call('POST', `/containers/${this.containerName}/start`);
      } catch (e) {
        return { exitCode: null, reason: `CannotStartContainerError: ${unreachable(e) ? '' : 'Error response from daemon: '}${(e as Error).message}`, neverStarted: true };
      }
      const startedAt = this.clock();
      spec.metadata?.started(startedAt, this.containerId ? { [spec.name ?? 'default']: this.containerId } : {});
      this.started = true;
      this.markRunning(startedAt);
      this.markReady();
      let followEnded = false;
      const logsDone = this.follow().then(() => (followEnded = true));
      // Without a parent cgroup of the agent's (an engine that takes none), OOM kills on v1 are
      // known only by sampling the container's own cgroup while it runs.
      const oom = this.v1 && !parent ? await this.watchOom(spec.memoryMiB) : undefined;
      let waited: { StatusCode: number };
      try {
        waited = await this.waitForExit();
      } catch (e) {
        return { exitCode: null, reason: `CannotInspectContainerError: ${(e as Error).message}` };
      } finally {
        oom?.stop();
      }
      ended = true;
      // Ended before the exit was known: it may have ended before the container did.
      const endedEarly = followEnded;
      // The log stream ends when the container stops; a daemon that keeps it open (Podman, now
      // and then) is not waited on for long, and its stream is closed: left open, it would hold
      // a socket, and keep the agent's process alive, for ever.
      await Promise.race([logsDone, new Promise((r) => setTimeout(r, 5_000).unref())]);
      this.logStream?.destroy();
      // A stream that ended before the container did, or had to be closed, may have left lines
      // unread: the engine still has them all.
      if (endedEarly || !followEnded) await this.catchUp();
      this.flushLines();
      const info = await this.api.call<{ State?: { OOMKilled?: boolean; ExitCode?: number } }>('GET', `/containers/${this.containerName}/json`);
      const exitCode = waited.StatusCode ?? info.State?.ExitCode ?? null;
      const sigkilled = exitCode === 137 && !this.killSent;
      // v1 (see the file comment): a kill counted, or a SIGKILL nobody here sent right at the limit.
      const limit = (spec.memoryMiB - 1) * MiB;
      const oomOnV1 = parent !== undefined ? sigkilled && parent.peakBytes() >= limit : oom !== undefined && (oom.kills > 0 || (sigkilled && oom.peakAtLimit));
      const usage = this.finalUsage(parent);
      const measured = usage ? { usage } : {};
      if (info.State?.OOMKilled || oomOnV1) return { exitCode, reason: OOM_REASON, ...measured };
      return { exitCode, ...measured };
    } catch (e) {
      return { exitCode: null, reason: `CannotInspectContainerError: ${(e as Error).message}` };
    } finally {
      this.logStream?.destroy();
      if (!ended) this.flushLines();
      await this.remove();
    }
  }

  /** The engine's figures for the running container (the latest sample once it has ended). */
  async usage(): Promise<UsageFigures | undefined> {
    if (!this.started || this.done) return this.figures;
    try {
      const stats = await this.api.call<EngineStats>('GET', `/containers/${this.containerName}/stats?stream=false&one-shot=true`);
      // An ended container's stats are empty: they say nothing of what it used.
      if (!this.done) this.figures = laterFigures(this.figures, engineFigures(stats));
    } catch {
      // ended meanwhile, or the engine is away: the last figures stand
    }
    return this.figures;
  }

  /** What the container used, at its end: the samples, and on v1 its parent cgroup's exact counters. */
  private finalUsage(parent: ContainerMemoryParent | undefined): UsageFigures | undefined {
    const cpu = parent?.cpuSeconds();
    const peak = parent?.peakBytes();
    if (cpu === undefined && !peak) return this.figures;
    const f = laterFigures(this.figures, { source: 'engine', ...(cpu !== undefined ? { cpuSeconds: cpu } : {}), ...(peak ? { peakMemoryBytes: peak } : {}) });
    // The parent's counts are the exact ones: taken over the samples, which only fall short of them.
    if (cpu !== undefined) f.cpuSeconds = cpu;
    if (peak) f.peakMemoryBytes = peak;
    return f;
  }

  /**
   * The container's exit, however long the engine is away meanwhile. An engine that stops
   * answering (its API service stopped, restarted) does not stop its containers: this one
   * runs on, and its exit is unknown. Failing the attempt then would let its retry run beside
   * it; instead the attempt stays running and is waited for again once the engine answers —
   * the container re-adopted, its exit (and its output, by the catch-up) read as if nothing
   * happened. Meanwhile the agent's health check says the engine does not answer, and its
   * instance takes no work (agent.ts).
   */
  private async waitForExit(): Promise<{ StatusCode: number }> {
    let backoff = 250;
    for (;;) {
      try {
        return await this.api.call<{ StatusCode: number }>('POST', `/containers/${this.containerName}/wait`);
      } catch (e) {
        if (!unreachable(e)) throw e;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 2_000);
      }
    }
  }

  /**
   * Removes the ended container; an engine that does not answer now is asked again later
   * (in the background, until it answers), so that no container is left behind.
   */
  private async remove(): Promise<void> {
    const del = () => this.api.call('DELETE', `/containers/${this.containerName}?force=1&v=1`);
    try {
      await del();
    } catch (e) {
      if (!unreachable(e)) return; // gone already, or refused for good
      let backoff = 1_000;
      const again = () => {
        const timer = setTimeout(() => {
          del().catch((e2: unknown) => {
            if (unreachable(e2)) {
              backoff = Math.min(backoff * 2, 30_000);
              again();
            }
          });
        }, backoff);
        timer.unref();
      };
      again();
    }
  }

  /** Samples the running container's v1 memory cgroup (see the file comment). */
  private async watchOom(memoryMiB: number): Promise<{ kills: number; peakAtLimit: boolean; stop(): void }> {
    const state = { kills: 0, peakAtLimit: false, stop: () => clearInterval(timer) };
    let dir: string | undefined;
    try {
      const info = await this.api.call<{ State?: { Pid?: number } }>('GET', `/containers/${this.containerName}/json`);
      if (info.State?.Pid) dir = CgroupHost.memoryDirOf(info.State.Pid);
    } catch {
      // ended already
    }
    const limit = (memoryMiB - 1) * MiB;
    const sample = () => {
      if (!dir) return;
      try {
        const ctl = readFileSync(join(dir, 'memory.oom_control'), 'utf8');
        const line = ctl.split('\n').find((l) => l.startsWith('oom_kill '));
        if (line) state.kills = Math.max(state.kills, Number(line.slice(9)));
        if (Number(readFileSync(join(dir, 'memory.max_usage_in_bytes'), 'utf8')) >= limit) state.peakAtLimit = true;
      } catch {
        // the cgroup is gone: the container ended
      }
    };
    sample();
    const timer = setInterval(sample, OOM_SAMPLE_MS);
    timer.unref();
    return state;
  }

  /** Frames of the container's log into lines, counting what each stream delivered. */
  private deliver(frames: FrameDecoder, chunk: Buffer, skip?: { stdout: number; stderr: number }): void {
    const lines: LogLine[] = [];
    const now = this.clock();
    frames.push(chunk, (stream, payload) => {
      if (skip && skip[stream] > 0) {
        const n = Math.min(skip[stream], payload.length);
        skip[stream] -= n;
        payload = payload.subarray(n);
        if (payload.length === 0) return;
      }
      this.delivered[stream] += payload.length;
      this.splitters[stream].push(payload, now, lines);
    });
    if (lines.length) this.onLog(lines);
  }

  /** Streams the container's output into lines until it stops (or the stream ends). */
  private async follow(): Promise<void> {
    const frames = new FrameDecoder();
    try {
      const res = await this.api.open('GET', `/containers/${this.containerName}/logs?follow=1&stdout=1&stderr=1`);
      this.logStream = res;
      for await (const chunk of res) this.deliver(frames, chunk as Buffer);
    } catch {
      // the stream broke, or was closed after the container stopped: what was read is delivered
    } finally {
      this.logStream = undefined;
    }
  }

  /** After the exit: the whole log once more, delivering only what the follow did not. */
  private async catchUp(): Promise<void> {
    const frames = new FrameDecoder();
    const skip = { ...this.delivered };
    try {
      const res = await this.api.open('GET', `/containers/${this.containerName}/logs?stdout=1&stderr=1`);
      for await (const chunk of res) this.deliver(frames, chunk as Buffer, skip);
    } catch {
      // the engine is gone: what was read is all there is
    }
  }

  /** Delivers the last lines, unterminated ones included. */
  private flushLines(): void {
    const tail: LogLine[] = [];
    const now = this.clock();
    this.splitters.stdout.end(now, tail);
    this.splitters.stderr.end(now, tail);
    if (tail.length) this.onLog(tail);
  }

  terminate(graceMs = DEFAULT_GRACE_MS): void {
    if (this.done) return;
    this.stopRequested = true;
    const deadline = Date.now() + Math.max(0, graceMs);
    if (this.killTimer === undefined) {
      void this.ready.then(() => this.signal('SIGTERM'));
    } else {
      if (deadline >= this.killDeadline) return;
      clearTimeout(this.killTimer);
    }
    this.killDeadline = deadline;
    this.killTimer = setTimeout(() => void this.ready.then(() => this.signal('SIGKILL')), Math.max(0, graceMs));
  }

  private async signal(sig: string): Promise<void> {
    if (this.done || !this.created) return;
    if (sig === 'SIGKILL') this.killSent = true;
    // An engine away for a while gets the signal when it is back: the container runs on meanwhile.
    for (let backoff = 250; !this.done; backoff = Math.min(backoff * 2, 2_000)) {
      try {
        await this.api.call('POST', `/containers/${this.containerName}/kill?signal=${sig}`);
        return;
      } catch (e) {
        if (!unreachable(e)) return; // ended already
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }
}

/**
 * Removes a container by name (a dead agent's: force, so a running one is killed first), and
 * the memory cgroup it was given. Answers 'removed', 'gone' (there was none), or 'unreachable'
 * when the engine does not answer: the container may then still run, and must not be taken
 * for gone.
 */
export async function removeContainer(dockerHost: string, name: string): Promise<'removed' | 'gone' | 'unreachable'> {
  const api = new DockerApi(dockerHost);
  // A pod's containers (containerPod.ts) carry its name as a label: they go first, then it.
  try {
    const filters = encodeURIComponent(JSON.stringify({ label: [`openbatch.pod=${name}`] }));
    const members = await api.call<{ Id: string; Names?: string[] }[]>('GET', `/containers/json?all=1&filters=${filters}`);
    for (const m of members ?? []) {
      if (m.Names?.some((n) => n.replace(/^\//, '') === name)) continue;
      await api.call('DELETE', `/containers/${m.Id}?force=1&v=1`).catch(() => undefined);
      for (const n of m.Names ?? []) ContainerMemoryParent.of(n.replace(/^\//, ''))?.remove();
    }
  } catch (e) {
    if (unreachable(e)) return 'unreachable';
  }
  try {
    await api.call('DELETE', `/containers/${encodeURIComponent(name)}?force=1&v=1`);
    ContainerMemoryParent.of(name)?.remove();
    return 'removed';
  } catch (e) {
    if (unreachable(e)) return 'unreachable';
    ContainerMemoryParent.of(name)?.remove();
    return 'gone';
  }
}
