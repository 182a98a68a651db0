/**
 * The process executor: an attempt's command runs as a child process that leads its own
 * process group (and session), with only the job's environment over a small base, and its
 * output split into timestamped lines. Where the host allows, it is also held to its
 * resources and isolated (docs/executors.md):
 *
 *   cgroups   memory limit (over it: killed, exit 137, AWS's OutOfMemoryError reason), CPU
 *             quota from VCPU, pids limit — cgroup v2 or v1, see cgroups.ts
 *   ulimits   applied with prlimit(1) before the job starts
 *   user      the job definition's `user`, switched to with setpriv(1) (agent must be root)
 *   sandbox   bubblewrap: own mount/pid/ipc/network namespaces, private /tmp, volumes,
 *             read-only root, devices, tmpfs — see sandbox.ts
 *
 * What is unavailable is said once at agent start (`unavailable`), and, for an attempt whose
 * job asks for it, as the first line of the attempt's log (NOTICE_PREFIX).
 *
 * How an attempt starts: a chain of exec()s in one process, so the pid the agent sees is the
 * job's (or the sandbox monitor's): the process joins the attempt's cgroup before it execs
 * anything — so nothing the job forks can start outside it — then execs prlimit → bwrap →
 * setpriv → the command, each only when needed. Processes are made by the fork server
 * (forkServer.ts, which joins the cgroup itself) or, where its binary is missing, by Node's
 * spawn in `spawnJob`, with a `sh` in front that joins the cgroup.
 *
 * Nothing outlives its job. Termination signals the whole group; and when the leader exits
 * on its own, members it left behind (background children) are SIGKILLed at once, and with
 * cgroups so is every other process of the attempt's cgroup, even one that left the group.
 * That is what a container does — when its init process exits the kernel kills everything
 * else in it — and it is what users of AWS Batch expect: the job is over when its main
 * process is, its slot is free, and no stray process holds the output pipes or competes
 * with the next job on the instance. The same applies after a SIGTERM: members get no grace
 * beyond the leader's own exit, as in a container.
 *
 * Without cgroups a member that calls setsid()/setpgid() leaves the group and escapes both
 * signals. If it still holds the output pipes, `exited` waits at most `outputDrainMs` after
 * the leader's exit, then stops reading so the attempt still ends.
 *
 * Pids are never signalled once they may have been recycled. While the leader is unreaped
 * its pid, and so the group id, cannot be reused; Node reaps it and emits 'exit' in the same
 * callback, and the cleanup SIGKILL is sent from that handler, while any surviving member
 * still pins the group id. After that no signal is ever sent to the group again.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, chownSync, constants as fsConstants, lstatSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { constants, hostname } from 'node:os';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { CgroupHost, type JobCgroup } from './cgroups.js';
import { ForkServer } from './forkServer.js';
import { LineSplitter } from './lines.js';
import { startPodProcess } from './podProcess.js';
import { METADATA_RELAY_PATH, RELAY_ADDRESS, RELAY_SOCKET, haveRelay } from './metadataRelay.js';
export { MAX_LINE_BYTES } from './lines.js';
import { Sandbox, sandboxRefusal, which, type SandboxNetwork } from './sandbox.js';
import { ProcWatch, type ProcTracker } from './usage.js';
import { defaultJobUser, resolveUser, type HostUser } from './users.js';
import {
  NOTICE_PREFIX,
  type AttemptExit,
  type AttemptSpec,
  type Executor,
  type ExecutorCapabilities,
  type LogLine,
  type RunningAttempt,
  type UsageFigures,
} from './types.js';

/** How long `terminate` waits between SIGTERM and SIGKILL unless told otherwise (ECS's stopTimeout default). */
export const DEFAULT_GRACE_MS = 30_000;
/** How long output from escaped processes is awaited after the leader exited. */
export const DEFAULT_OUTPUT_DRAIN_MS = 2_000;
/** Whom jobs run as when the agent is root and their definition names no user (server setting jobUser). */
export const DEFAULT_JOB_USER = 'nobody';
/** Most processes and threads an attempt may have at once: a guard against fork bombs that real jobs do not reach. */
export const DEFAULT_PIDS_MAX = 32_768;
/** AWS's reason for a container the kernel killed for exceeding its memory limit. */
export const OOM_REASON = 'OutOfMemoryError: Container killed due to memory usage';

const BASE_ENV_KEYS = ['PATH', 'HOME', 'LANG', 'TZ', 'USER'] as const;
/** A host without PATH would leave jobs unable to find anything; Docker's default then. */
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The prefix Docker/runc put before a start failure; AWS Batch users search for these strings. */
const RUNC_START_FAILED =
  'CannotStartContainerError: Error response from daemon: failed to create task for container: failed to create shim task: ' +
  'OCI runtime create failed: runc create failed: unable to start container process: ';
/**
 * For Node's spawn: joins the cgroups named before `--`, then becomes the job. The shell
 * exports PWD, which the job did not ask for: it is dropped (unless the job set it).
 */
const JOIN_SCRIPT = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"';
const JOIN_SCRIPT_NO_PWD = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; unset PWD; exec "$@"';
/** Docker's ulimit names, which prlimit(1) also takes as options. */
const ULIMIT_NAMES = new Set(['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack']);

/** Options of {@link ProcessExecutor}. */
export interface ProcessExecutorOptions {
  /** source of log line timestamps (epoch ms); Date.now by default */
  clock?: () => number;
  /** environment under every job's own; by default PATH, HOME, LANG, TZ and USER of the host, where set */
  baseEnv?: Record<string, string>;
  /** after the leader exited, how long to wait for processes that escaped the group to release the output pipes */
  outputDrainMs?: number;
  /** cgroups to use: probed on this host by default; false: none */
  cgroups?: CgroupHost | false;
  /** cgroup under which attempt cgroups are made (default: the agent's own) */
  cgroupParent?: string;
  /**
   * bubblewrap sandbox: 'on' (the default; 'auto' is its former name) requires it: where it
   * cannot be used no job starts (see `refusal`); 'off' never uses it (the operator's opt-out)
   */
  sandbox?: 'on' | 'auto' | 'off';
  /** network of sandboxed jobs: 'none' (loopback only, the default) or the host's */
  sandboxNetwork?: SandboxNetwork;
  /** host paths no sandboxed job sees: the data directory, the agent's work root, credentials files, sockets */
  hidden?: string[];
  /**
   * The user jobs run as when the agent is root and the job definition names no `user` and
   * is not `privileged` ("name" or "uid", as `user`); default `nobody` (65534 where the host
   * has no such user).
   */
  jobUser?: string;
  /** pids limit per attempt (0: none) */
  pidsMax?: number;
  /**
   * Start processes through the fork server (forkServer.ts) rather than Node's spawn: the
   * default wherever its binary was built, because it costs the caller ~20× less per job.
   */
  useForkServer?: boolean;
  /**
   * As root with the fork server, the fork server makes the sandbox itself (sandbox.c) from
   * the same bubblewrap arguments, rather than run bwrap for each job (default true).
   */
  nativeSandbox?: boolean;
}

/** The host variables a job may rely on without naming them; nothing else of the host leaks in. */
export function defaultBaseEnv(host: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of BASE_ENV_KEYS) {
    const v = host[k];
    if (v !== undefined) env[k] = v;
  }
  env.PATH ??= FALLBACK_PATH;
  return env;
}

/**
 * Node's way to create a job's process (when there is no fork server): `argv` in its own
 * process group, stdin /dev/null, output on pipes; it first joins the `cgroupProcs` files.
 */
export function spawnJob(argv: string[], o: { cwd: string; env: Record<string, string>; cgroupProcs?: string[] }): ChildProcess {
  if (o.cgroupProcs?.length) argv = ['/bin/sh', '-c', o.env.PWD === undefined ? JOIN_SCRIPT_NO_PWD : JOIN_SCRIPT, 'sh', ...o.cgroupProcs, '--', ...argv];
  return spawn(argv[0], argv.slice(1), { cwd: o.cwd, env: o.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** How one attempt is to be started: the argv chain and what it needs from the agent. */
interface LaunchPlan {
  argv: string[];
  env: Record<string, string>;
  cgroup?: JobCgroup;
  /** without a cgroup: where the attempt's processes are sampled from /proc (usage.ts) */
  procWatch?: ProcWatch;
  sandboxed: boolean;
  notices: string[];
  /**
   * Done by the fork server itself instead of by programs in `argv` (sandbox.c): bubblewrap's
   * arguments for the sandbox (without the final `--`), the user to switch to (setpriv's),
   * the resource limits (prlimit's, as "name soft hard"), the task metadata relay
   * (metadata-relay.c's address and socket name).
   */
  native?: { sandbox?: string[]; user?: { uid: number; gid: number; name?: string }; limits?: string[]; relay?: string };
}

/**
 * What an attempt's isolation adds to its life, whichever way it was started: SIGTERM to
 * the job's processes rather than bwrap's monitor, the cgroup emptied on exit, its OOM kills
 * and what it used read and the cgroup removed, a sandbox that could not be set up reported
 * as such.
 */
class Isolation {
  /** sandboxed attempts: processes already sent SIGTERM, and the timer that looks for new ones */
  private readonly termSent = new Set<number>();
  private termScan: NodeJS.Timeout | undefined;
  private firstStderr: string | undefined;
  /** without a cgroup: the attempt's processes, sampled from /proc once its pid is known */
  private tracker: ProcTracker | undefined;

  constructor(private readonly plan: LaunchPlan) {}

  /** The job's process started (its pid known): without a cgroup, its processes are sampled from now. */
  started(pid: number): void {
    if (!this.plan.cgroup && this.plan.procWatch && !this.tracker) this.tracker = this.plan.procWatch.watch(pid);
  }

  /** What the attempt has used so far (`final`: at its end); undefined before anything was measured. */
  usage(final = false): UsageFigures | undefined {
    const f = this.plan.cgroup ? this.plan.cgroup.usage(final) : this.tracker?.read();
    return f && Object.keys(f).length > 1 ? f : undefined;
  }

  get sandboxed(): boolean {
    return this.plan.sandboxed;
  }

  /** bwrap's complaints come first on stderr, before the job has run. */
  watch(lines: LogLine[]): void {
    if (this.firstStderr === undefined && this.plan.sandboxed) this.firstStderr = lines.find((l) => l.stream === 'stderr')?.message;
  }

  /**
   * SIGTERM to the job's processes. In a sandbox the leader is bwrap's monitor, which would
   * die of it without passing it on: every other process of the attempt is signalled
   * instead, and the monitor exits with the job. A process that appears during the grace
   * (the sandbox was still being set up, or the job was forking) is signalled when seen.
   */
  terminateMembers(leader: number): void {
    const scan = () => {
      const pids = this.plan.cgroup ? this.plan.cgroup.members() : groupMembers(leader);
      for (const pid of pids) {
        if (pid === leader || this.termSent.has(pid)) continue;
        this.termSent.add(pid);
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // gone
        }
      }
    };
    scan();
    this.termScan = setInterval(scan, 100);
    this.termScan.unref();
  }

  /** The leader is gone (or the grace is over): nothing of the attempt may live on. Answers how many were left. */
  killAll(): number {
    if (this.termScan !== undefined) clearInterval(this.termScan);
    return this.plan.cgroup?.killAll() ?? 0;
  }

  /** The attempt's result once its leader exited and its output was read. */
  async finish(exitCode: number | null): Promise<AttemptExit> {
    const left = this.killAll();
    const oom = this.plan.cgroup ? this.plan.cgroup.oomKills() > 0 : false;
    // Read before the cgroup goes back to the pool, where the next attempt resets its counters.
    const usage = this.usage(true);
    this.tracker?.stop();
    await this.plan.cgroup?.release(left === 0);
    if (this.plan.sandboxed && exitCode === 1 && this.firstStderr?.startsWith('bwrap: ')) {
      return { exitCode: null, reason: `CannotStartContainerError: ${this.firstStderr}`, neverStarted: true };
    }
    const measured = usage ? { usage } : {};
    if (oom) return { exitCode, reason: OOM_REASON, ...measured };
    return { exitCode, ...measured };
  }
}

/** Runs each attempt as a child process group on this host, limited and sandboxed where the host allows. */
export class ProcessExecutor implements Executor {
  readonly name = 'process' as const;
  readonly capabilities: ExecutorCapabilities;
  readonly unavailable: string[] = [];
  private readonly clock: () => number;
  private readonly baseEnv: Record<string, string>;
  private readonly drainMs: number;
  private readonly cgroups: CgroupHost | undefined;
  private readonly cgroupMissing = new Map<string, string>();
  private readonly sandbox: Sandbox | undefined;
  private readonly sandboxMissing: string | undefined;
  /** why no job can start here: the sandbox is required and cannot be used (undefined: jobs start) */
  readonly refusal: string | undefined;
  private readonly pidsMax: number;
  private readonly prlimit = which('prlimit');
  private readonly setpriv = which('setpriv');
  /** setpriv's option to keep the parent-death signal across the user change (util-linux 2.33) */
  private readonly keepDeathSignal = this.setpriv && spawnSync(this.setpriv, ['--help'], { encoding: 'utf8' }).stdout?.includes('--pdeathsig') ? ['--pdeathsig', 'keep'] : [];
  private readonly uid = process.getuid?.() ?? -1;
  /** as root: whom jobs that name no user run as */
  private readonly jobUser: HostUser | undefined;
  /** undefined: spawn with Node (no fork server binary, or not wanted) */
  readonly forkServer: ForkServer | undefined;
  private readonly nativeSandbox: boolean;
  /** without cgroups: what attempts use, sampled from /proc (made with the first attempt) */
  private procWatch: ProcWatch | undefined;

  constructor(opts: ProcessExecutorOptions = {}) {
    this.forkServer = opts.useForkServer === false ? undefined : ForkServer.open();
    this.nativeSandbox = opts.nativeSandbox !== false;
    this.clock = opts.clock ?? Date.now;
    this.baseEnv = opts.baseEnv ?? defaultBaseEnv();
    this.drainMs = opts.outputDrainMs ?? DEFAULT_OUTPUT_DRAIN_MS;
    this.pidsMax = opts.pidsMax ?? DEFAULT_PIDS_MAX;
    if (opts.cgroups === false) {
      for (const c of ['memory', 'cpu', 'pids']) this.cgroupMissing.set(c, 'cgroups are turned off for this agent');
    } else {
      this.cgroups = opts.cgroups ?? CgroupHost.probe({ parent: opts.cgroupParent });
      for (const [c, why] of this.cgroups.unavailable) this.cgroupMissing.set(c, why);
      if (this.cgroups.controllers.length === 0) this.cgroups = undefined;
    }
    for (const why of new Set(this.cgroupMissing.values())) this.unavailable.push(why);
    if (opts.sandbox === 'off') this.sandboxMissing = 'sandbox: turned off for this agent';
    else {
      const probed = Sandbox.probe({ network: opts.sandboxNetwork ?? 'none', hidden: opts.hidden });
      if (typeof probed === 'string') this.sandboxMissing = probed;
      else this.sandbox = probed;
    }
    if (this.sandboxMissing) this.unavailable.push(this.sandboxMissing);
    if (opts.sandbox !== 'off' && this.sandboxMissing) this.refusal = sandboxRefusal(this.sandboxMissing);
    if (!this.prlimit) this.unavailable.push('ulimits: prlimit (util-linux) is not installed');
    if (this.uid !== 0) this.unavailable.push(`user: the agent runs as uid ${this.uid}, not root, so jobs run as that user only`);
    else this.jobUser = defaultJobUser(opts.jobUser ?? DEFAULT_JOB_USER);
    this.capabilities = { processGroups: true, cgroups: this.cgroups !== undefined, sandbox: this.sandbox !== undefined, containers: false };
  }

  /** Stops the fork server (SIGKILLing any job still running through it). */
  close(): void {
    this.forkServer?.close();
    void this.cgroups?.close();
  }

  /** close(), and waits until the cgroups kept for reuse are removed (the agent is exiting). */
  async dispose(): Promise<void> {
    this.forkServer?.close();
    await this.cgroups?.close();
  }

  /** What this executor enforces here, for the agent's start message. */
  describe(): string {
    const parts = [this.cgroups ? this.cgroups.describe() : 'no cgroups', this.sandbox ? `sandbox: ${this.sandbox.bwrap}` : 'no sandbox'];
    if (this.jobUser) parts.push(`jobs run as uid ${this.jobUser.uid}${this.jobUser.name ? ` (${this.jobUser.name})` : ''} unless their definition names a user or is privileged`);
    return parts.join('; ');
  }

  start(spec: AttemptSpec, onLog: (lines: LogLine[]) => void): RunningAttempt {
    if (this.refusal) return notStarted(Promise.resolve(`CannotStartContainerError: ${this.refusal}`));
    // A task of several containers: a supervisor in one sandbox runs them (podProcess.ts).
    if (spec.containers) return startPodProcess((s, l) => this.start(s, l), spec, onLog, spec.graceMs ?? DEFAULT_GRACE_MS);
    const file = spec.command[0];
    if (file === undefined || file === '') {
      return notStarted(Promise.resolve('CannotStartContainerError: the job has no command to run (command is empty)'));
    }
    let plan: LaunchPlan;
    try {
      plan = this.plan(spec);
    } catch (e) {
      return notStarted(Promise.resolve((e as Error).message));
    }
    if (plan.notices.length) onLog([{ stream: 'stderr', timestamp: this.clock(), message: NOTICE_PREFIX + plan.notices.join('; ') }]);
    if (!plan.cgroup) plan.procWatch = this.procWatch ??= new ProcWatch();
    const cgroupProcs = plan.cgroup?.procsFiles();
    if (this.forkServer) {
      // Node's spawn refuses NUL bytes; so does this path, with the same kind of message.
      const nul = plan.argv.find((a) => a.includes('\0')) ?? Object.entries(plan.env).find(([k, v]) => k.includes('\0') || v.includes('\0'))?.[0];
      if (nul !== undefined) {
        void plan.cgroup?.release();
        return notStarted(Promise.resolve(`CannotStartContainerError: the job's command or environment contains null bytes (${JSON.stringify(nul).slice(0, 80)})`));
      }
      return new ForkedAttempt(this.forkServer, spec, plan, cgroupProcs, onLog, this.clock, this.drainMs);
    }
    let child: ChildProcess;
    try {
      child = spawnJob(plan.argv, { cwd: spec.workDir, env: plan.env, cgroupProcs });
    } catch (e) {
      // Node throws, rather than emitting 'error', for arguments it rejects (a NUL byte in
      // argv or env) and for spawn errors it does not expect at run time.
      void plan.cgroup?.release();
      return notStarted(Promise.resolve(`CannotStartContainerError: ${(e as Error).message}`));
    }
    if (child.pid === undefined) {
      // ENOENT, EACCES, EMFILE…: Node reports these with an 'error' event on the next tick.
      const reason = new Promise<string>((resolve) => {
        child.once('error', (e: NodeJS.ErrnoException) => resolve(nodeStartFailure(spec, e)));
      });
      child.stdout?.on('error', ignore);
      child.stderr?.on('error', ignore);
      void plan.cgroup?.release();
      return notStarted(reason);
    }
    return new ProcessAttempt(child, child.pid, onLog, this.clock, this.drainMs, new Isolation(plan));
  }

  /** Decides how to start the attempt; throws an Error whose message is the AWS-style reason when it cannot start. */
  private plan(spec: AttemptSpec): LaunchPlan {
    const s = spec.settings ?? {};
    const notices: string[] = [];
    // Through the fork server, limits and the user switch are its system calls, not programs;
    // as root, so is the sandbox (sandbox.c): one process per job instead of four.
    const native: NonNullable<LaunchPlan['native']> | undefined = this.forkServer ? {} : undefined;
    const nativeSandbox = native !== undefined && this.uid === 0 && this.nativeSandbox;
    const env = { ...this.baseEnv, ...spec.env };
    let argv = [...spec.command];
    // As root the job runs as its definition's user, as root only if privileged, else as the
    // agent's job user: a job is a guest, not the host's administrator.
    let u: HostUser | undefined;
    if (s.user) {
      try {
        u = resolveUser(s.user);
      } catch (e) {
        throw new Error(`${RUNC_START_FAILED}unable to find user ${s.user}: ${(e as Error).message}: unknown`);
      }
    } else if (!s.privileged) u = this.jobUser;
    const owner = u && u.uid !== this.uid ? { uid: u.uid, gid: u.gid } : undefined;
    const wrapped = Boolean(this.cgroups || this.sandbox || s.ulimits?.length || owner);
    // Through the fork server too: its execvpe searches the fork server's own PATH, not the
    // job's (glibc reads PATH from the caller's environment), so a job's own PATH would be
    // ignored there.
    if (wrapped || native) argv[0] = resolveExecutable(spec, env);

    // What ECS gives every container: its host's name, and the task metadata endpoint. A
    // sandbox with a network of its own reaches the endpoint through the relay, which runs
    // the job (metadataRelay.ts), as the job's user.
    if (spec.env.HOSTNAME === undefined) env.HOSTNAME = hostname();
    if (spec.metadata && spec.env.ECS_CONTAINER_METADATA_URI_V4 === undefined) {
      if (!this.sandbox || this.sandbox.network === 'host') {
        const uri = spec.metadata.loopback();
        if (uri) env.ECS_CONTAINER_METADATA_URI_V4 = uri;
      } else if (nativeSandbox || haveRelay()) {
        try {
          env.ECS_CONTAINER_METADATA_URI_V4 = `http://${RELAY_ADDRESS}${spec.metadata.unix(join(spec.workDir, RELAY_SOCKET))}`;
          // The relay runs in the working directory and connects by the socket's name (its whole
          // path can be too long for a socket). In the fork server's own sandbox its pid 1 relays.
          if (nativeSandbox) native!.relay = `${RELAY_ADDRESS} ${RELAY_SOCKET}`;
          else argv = [METADATA_RELAY_PATH, RELAY_ADDRESS, RELAY_SOCKET, '--', ...argv];
        } catch (e) {
          notices.push(`ECS_CONTAINER_METADATA_URI_V4 (its socket could not be made: ${(e as Error).message})`);
        }
      } else {
        notices.push('ECS_CONTAINER_METADATA_URI_V4 (this build has no metadata relay: it needs a C compiler at build time)');
      }
    }

    // Innermost first: user, sandbox, ulimits, then the cgroup hold.
    if (u && owner) {
      if (this.uid !== 0 || !this.setpriv) {
        const who = s.user ? `user "${s.user}"` : `the job user (uid ${u.uid})`;
        throw new Error(`CannotStartContainerError: cannot run as ${who}: ${this.setpriv ? `the agent runs as uid ${this.uid}, not root` : 'setpriv (util-linux) is not installed'}`);
      }
      const groups = u.name ? ['--init-groups'] : ['--clear-groups'];
      // The kernel forgets a process's parent-death signal when its user changes; the fork
      // server's (PR_SET_PDEATHSIG) is what stops an unsandboxed job whose server was killed.
      // (Inside bubblewrap when it runs: the switch is then the last program before the job's.)
      if (native && (nativeSandbox || !this.sandbox)) native.user = { uid: u.uid, gid: u.gid, ...(u.name ? { name: u.name } : {}) };
      else argv = [this.setpriv, `--reuid=${u.uid}`, `--regid=${u.gid}`, ...groups, ...this.keepDeathSignal, '--', ...argv];
      try {
        chownSync(spec.workDir, owner.uid, owner.gid);
        for (const p of spec.ownPaths ?? []) chownTree(p, owner.uid, owner.gid);
      } catch (e) {
        // A missing directory fails the start as Docker words it (resolveExecutable, the chdir).
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new Error(`CannotStartContainerError: cannot give the working directory ${spec.workDir} to uid ${owner.uid}: ${(e as Error).message}`);
        }
      }
    }
    if (u) {
      if (spec.env.HOME === undefined) env.HOME = u.home !== undefined && isDirectory(u.home) ? u.home : spec.workDir;
      if (u.name && spec.env.USER === undefined) env.USER = u.name;
    }
    let sandboxed = false;
    if (this.sandbox) {
      try {
        const args = this.sandbox.args(spec.workDir, s, { mounts: spec.mounts, owner });
        if (nativeSandbox) native!.sandbox = args.slice(0, -1);
        else argv = [this.sandbox.bwrap, ...args, ...argv];
      } catch (e) {
        throw new Error(`CannotStartContainerError: ${(e as Error).message}`);
      }
      sandboxed = true;
    } else {
      const why = this.sandboxMissing!;
      const asked = [
        s.mountPoints?.length && 'mountPoints',
        s.readonlyRootFilesystem && 'readonlyRootFilesystem',
        s.devices?.length && 'linuxParameters.devices',
        s.tmpfs?.length && 'linuxParameters.tmpfs',
        s.sharedMemorySizeMiB && 'linuxParameters.sharedMemorySize',
      ].filter(Boolean);
      if (asked.length) notices.push(`${asked.join(', ')} (${why})`);
    }
    if (s.ulimits?.length) {
      const opts: string[] = [];
      for (const l of s.ulimits) {
        if (!ULIMIT_NAMES.has(l.name)) throw new Error(`CannotStartContainerError: ulimits: unknown limit name "${l.name}" (one of ${[...ULIMIT_NAMES].join(', ')})`);
        opts.push(`--${l.name}=${l.softLimit}:${l.hardLimit}`);
      }
      if (native) native.limits = s.ulimits.map((l) => `${l.name} ${l.softLimit} ${l.hardLimit}`);
      else if (this.prlimit) argv = [this.prlimit, ...opts, '--', ...argv];
      else notices.push('ulimits (prlimit (util-linux) is not installed)');
    }
    let cgroup: JobCgroup | undefined;
    if (this.cgroups) {
      try {
        cgroup = this.cgroups.create({ memoryMiB: spec.memoryMiB, vcpus: spec.vcpus, swapMiB: s.maxSwapMiB ?? 0, pidsMax: this.pidsMax, cpuShares: s.vcpuLimit === 'shares' });
      } catch (e) {
        throw new Error(`CannotStartContainerError: cannot create the job's cgroup: ${(e as Error).message}`);
      }
    }
    const missing = (c: string, what: string) => {
      const why = this.cgroupMissing.get(c);
      if (why) notices.push(`${what} (${why})`);
    };
    missing('memory', `memory limit of ${spec.memoryMiB} MiB`);
    missing('cpu', `CPU quota of ${spec.vcpus} vCPU`);
    return { argv, env, cgroup, sandboxed, notices, native };
  }
}

/** `path` and, for a directory, everything in it, given to uid:gid. */
function chownTree(path: string, uid: number, gid: number): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  chownSync(path, uid, gid);
  if (!st.isDirectory()) return;
  for (const name of readdirSync(path)) chownTree(join(path, name), uid, gid);
}

/** Whether `path` is a directory. A missing one is answered without an exception: the job user's home is looked at for every job, and is often missing (nobody's /nonexistent), where a thrown ENOENT cost 6 us more of CPU. */
function isDirectory(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

/**
 * The command's executable as the job's PATH finds it. A wrapper (sh, bwrap…) would report a
 * missing command as its own exit 127; resolving it here keeps the reasons Docker gives.
 */
function resolveExecutable(spec: AttemptSpec, env: Record<string, string>): string {
  const file = spec.command[0];
  // The same few programs start job after job: found on the same PATH a moment ago, found
  // again. (One that went away meanwhile fails at its exec with the same words.)
  const key = file.includes('/') && !isAbsolute(file) ? undefined : `${file}\0${env.PATH ?? ''}`;
  const known = key === undefined ? undefined : RESOLVED.get(key);
  if (known && Date.now() - known.at < RESOLVED_MS) return known.path;
  const path = lookUp(spec, env, file);
  if (key !== undefined) {
    if (RESOLVED.size >= 256) RESOLVED.clear();
    RESOLVED.set(key, { path, at: Date.now() });
  }
  return path;
}

/** Programs found lately by name and PATH (resolveExecutable), and for how long that holds. */
const RESOLVED = new Map<string, { path: string; at: number }>();
const RESOLVED_MS = 5_000;

function lookUp(spec: AttemptSpec, env: Record<string, string>, file: string): string {
  const fail = (err: NodeJS.ErrnoException): never => {
    let dirExists = false;
    try {
      dirExists = statSync(spec.workDir).isDirectory();
    } catch {
      // missing
    }
    throw new Error(startFailure(spec, dirExists || err.code !== 'ENOENT' ? 'exec' : 'chdir', err.code ?? 'EIO'));
  };
  const check = (path: string): boolean => {
    try {
      if (statSync(path).isDirectory()) return false;
    } catch {
      return false;
    }
    try {
      accessSync(path, fsConstants.X_OK);
    } catch {
      fail(Object.assign(new Error('EACCES'), { code: 'EACCES' }));
    }
    return true;
  };
  if (file.includes('/')) {
    const path = isAbsolute(file) ? file : resolvePath(spec.workDir, file);
    if (!check(path)) fail(Object.assign(new Error('ENOENT'), { code: 'ENOENT' }));
    return path;
  }
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const path = join(dir, file);
    if (check(path)) return path;
  }
  return fail(Object.assign(new Error('ENOENT'), { code: 'ENOENT' }));
}

class ProcessAttempt implements RunningAttempt {
  readonly exited: Promise<AttemptExit>;
  private leaderExited = false;
  private killTimer: NodeJS.Timeout | undefined;
  private killDeadline = Infinity;

  constructor(
    child: ChildProcess,
    readonly pid: number,
    onLog: (lines: LogLine[]) => void,
    clock: () => number,
    drainMs: number,
    private readonly iso: Isolation,
  ) {
    iso.started(pid);
    const stdout = child.stdout!;
    const stderr = child.stderr!;
    const out = new LineSplitter('stdout');
    const err = new LineSplitter('stderr');
    // One clock read and one callback per chunk: a pipe chunk is up to 64 KiB of lines.
    const deliver = (splitter: LineSplitter, chunk: Buffer) => {
      const lines: LogLine[] = [];
      splitter.push(chunk, clock(), lines);
      if (lines.length > 0) {
        iso.watch(lines);
        onLog(lines);
      }
    };
    stdout.on('data', (c: Buffer) => deliver(out, c));
    stderr.on('data', (c: Buffer) => deliver(err, c));
    // A read error ends a stream as EOF would; unhandled, it would crash the agent.
    stdout.on('error', ignore);
    stderr.on('error', ignore);
    // After spawn, 'error' only comes from child.kill()/send(), which are not used; kept
    // as a listener so that nothing can turn into an uncaught exception.
    child.on('error', ignore);

    this.exited = new Promise<AttemptExit>((resolve) => {
      let exitCode: number | null = null;
      let drainTimer: NodeJS.Timeout | undefined;
      child.once('exit', (code, signal) => {
        this.leaderExited = true;
        if (this.killTimer !== undefined) clearTimeout(this.killTimer);
        exitCode = code ?? (signal !== null ? 128 + (constants.signals[signal] ?? 0) : null);
        // See the module comment: the job is over, so is every process of its group and cgroup.
        signalGroup(this.pid, 'SIGKILL');
        iso.killAll();
        drainTimer = setTimeout(() => {
          stdout.destroy();
          stderr.destroy();
        }, drainMs);
        drainTimer.unref();
      });
      // 'close' follows 'exit' once both pipes have ended, so all output has been read.
      child.once('close', () => {
        if (drainTimer !== undefined) clearTimeout(drainTimer);
        const tail: LogLine[] = [];
        const now = clock();
        out.end(now, tail);
        err.end(now, tail);
        if (tail.length > 0) onLog(tail);
        void iso.finish(exitCode).then(resolve);
      });
    });
  }

  async usage(): Promise<UsageFigures | undefined> {
    return this.iso.usage();
  }

  terminate(graceMs = DEFAULT_GRACE_MS): void {
    if (this.leaderExited) return;
    const deadline = Date.now() + Math.max(0, graceMs);
    if (this.killTimer === undefined) {
      if (this.iso.sandboxed) this.iso.terminateMembers(this.pid);
      else signalGroup(this.pid, 'SIGTERM');
    } else {
      // A repeated call may only shorten the grace (an agent shutting down calls with 0).
      if (deadline >= this.killDeadline) return;
      clearTimeout(this.killTimer);
    }
    this.killDeadline = deadline;
    this.killTimer = setTimeout(() => {
      signalGroup(this.pid, 'SIGKILL');
      this.iso.killAll();
    }, Math.max(0, graceMs));
  }
}

/** An attempt started through the fork server, which also does the group cleanup and the output drain. */
class ForkedAttempt implements RunningAttempt {
  readonly exited: Promise<AttemptExit>;
  private pidValue: number | undefined;
  private leaderExited = false;
  private killTimer: NodeJS.Timeout | undefined;
  private killDeadline = Infinity;
  private readonly id: string;
  private readonly iso: Isolation;
  readonly whenStarted: Promise<number | undefined>;
  readonly whenRunning: Promise<number | undefined>;

  constructor(
    private readonly server: ForkServer,
    spec: AttemptSpec,
    plan: LaunchPlan,
    cgroupProcs: string[] | undefined,
    onLog: (lines: LogLine[]) => void,
    clock: () => number,
    drainMs: number,
  ) {
    const iso = (this.iso = new Isolation(plan));
    const splitters = { 1: new LineSplitter('stdout'), 2: new LineSplitter('stderr') };
    let resolveExit!: (e: AttemptExit) => void;
    let resolveStarted!: (pid: number | undefined) => void;
    this.exited = new Promise<AttemptExit>((r) => (resolveExit = r));
    this.whenStarted = new Promise((r) => (resolveStarted = r));
    // Running once the fork server has started the job's process (a start failure never runs).
    this.whenRunning = this.whenStarted.then((pid) => (pid === undefined ? undefined : clock()));
    this.id = server.spawn(
      { argv: plan.argv, env: plan.env, cwd: spec.workDir, drainMs, cgroupProcs, ...plan.native },
      {
        started: (pid) => {
          this.pidValue = pid;
          iso.started(pid);
          resolveStarted(pid);
        },
        failed: (step, code, what) => {
          this.leaderExited = true;
          this.pidValue = undefined;
          resolveStarted(undefined);
          void plan.cgroup?.release();
          resolveExit({ exitCode: null, reason: startFailure(spec, step, code, what ? `${step}: ${what}: ${code}` : undefined), neverStarted: true });
        },
        output: (stream, chunk) => {
          const lines: LogLine[] = [];
          splitters[stream].push(chunk, clock(), lines);
          if (lines.length > 0) {
            iso.watch(lines);
            onLog(lines);
          }
        },
        exited: (code, signal) => {
          this.leaderExited = true;
          resolveStarted(this.pidValue);
          if (this.killTimer !== undefined) clearTimeout(this.killTimer);
          const tail: LogLine[] = [];
          const now = clock();
          splitters[1].end(now, tail);
          splitters[2].end(now, tail);
          if (tail.length > 0) onLog(tail);
          void iso.finish(code ?? (signal !== null ? 128 + (constants.signals[signal] ?? 0) : null)).then(resolveExit);
        },
      },
    );
  }

  get pid(): number | undefined {
    return this.pidValue;
  }

  async usage(): Promise<UsageFigures | undefined> {
    return this.iso.usage();
  }

  terminate(graceMs = DEFAULT_GRACE_MS): void {
    if (this.leaderExited) return;
    const deadline = Date.now() + Math.max(0, graceMs);
    if (this.killTimer === undefined) {
      if (this.iso.sandboxed && this.pidValue !== undefined) this.iso.terminateMembers(this.pidValue);
      else this.server.kill(this.id, 'SIGTERM');
    } else {
      if (deadline >= this.killDeadline) return;
      clearTimeout(this.killTimer);
    }
    this.killDeadline = deadline;
    this.killTimer = setTimeout(() => {
      this.server.kill(this.id, 'SIGKILL');
      this.iso.killAll();
    }, Math.max(0, graceMs));
  }
}

/** Processes whose process group is `pgid` (a scan of /proc; only used to terminate sandboxed attempts without cgroups). */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) out.push(Number(name));
    } catch {
      // exited
    }
  }
  return out;
}

/** An attempt that cannot start: it ends at once, never started, with the reason. */
export function notStarted(reason: Promise<string>): RunningAttempt {
  return { pid: undefined, exited: reason.then((r) => ({ exitCode: null, reason: r, neverStarted: true })), whenRunning: Promise.resolve(undefined), terminate: () => undefined };
}

/** Node's spawn error as a start failure; libuv reports a missing cwd as ENOENT too, so a stat tells them apart. */
async function nodeStartFailure(spec: AttemptSpec, err: NodeJS.ErrnoException): Promise<string> {
  if (err.code === 'ENOENT') {
    const dirExists = await stat(spec.workDir).then((s) => s.isDirectory(), () => false);
    return startFailure(spec, dirExists ? 'exec' : 'chdir', 'ENOENT', err.message);
  }
  return startFailure(spec, 'exec', err.code ?? 'EIO', err.message);
}

/** The reason Docker would give for the same failure, so the messages users search for match. */
function startFailure(spec: AttemptSpec, step: string, code: string, message = `${step}: ${code}`): string {
  const file = spec.command[0];
  if (step === 'chdir') return `${RUNC_START_FAILED}error during container init: chdir to cwd ("${spec.workDir}") set in config.json failed: ${code === 'ENOENT' ? 'no such file or directory' : code}: unknown`;
  if (step === 'exec' && code === 'ENOENT') {
    if (file.includes('/')) return `${RUNC_START_FAILED}exec: "${file}": stat ${file}: no such file or directory: unknown`;
    return `${RUNC_START_FAILED}exec: "${file}": executable file not found in $PATH: unknown`;
  }
  if (step === 'exec' && code === 'EACCES') return `${RUNC_START_FAILED}exec: "${file}": permission denied: unknown`;
  return `CannotStartContainerError: ${message}`;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing of the group is left.
  }
}

function ignore(): void {}
