/**
 * The process executor: an attempt's command runs as a child process that leads its own
 * process group (and session), with only the job's environment over a small base, and its
 * output split into timestamped lines.
 *
 * Nothing outlives its job. Termination signals the whole group; and when the leader exits
 * on its own, members it left behind (background children) are SIGKILLed at once. That is
 * what a container does — when its init process exits the kernel kills everything else in
 * it — and it is what users of AWS Batch expect: the job is over when its main process is,
 * its slot is free, and no stray process holds the output pipes or competes with the next
 * job on the instance. The same applies after a SIGTERM: members get no grace beyond the
 * leader's own exit, as in a container.
 *
 * What a process group cannot catch: a member that calls setsid()/setpgid() leaves the
 * group and escapes both signals. If it still holds the output pipes, `exited` waits at most
 * `outputDrainMs` after the leader's exit, then stops reading so the attempt still ends.
 * Catching those needs cgroups (a later executor capability).
 *
 * Pids are never signalled once they may have been recycled. While the leader is unreaped
 * its pid, and so the group id, cannot be reused; Node reaps it and emits 'exit' in the same
 * callback, and the cleanup SIGKILL is sent from that handler, while any surviving member
 * still pins the group id. After that no signal is ever sent to the group again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { ForkServer } from './forkServer.js';
import type { AttemptExit, AttemptSpec, Executor, ExecutorCapabilities, LogLine, LogStream, RunningAttempt } from './types.js';

/** CloudWatch caps one event at 256 KiB; longer lines are split into pieces of at most this many bytes. */
export const MAX_LINE_BYTES = 256 * 1024;
/** How long `terminate` waits between SIGTERM and SIGKILL unless told otherwise (ECS's stopTimeout default). */
export const DEFAULT_GRACE_MS = 30_000;
/** How long output from escaped processes is awaited after the leader exited. */
export const DEFAULT_OUTPUT_DRAIN_MS = 2_000;

const BASE_ENV_KEYS = ['PATH', 'HOME', 'LANG', 'TZ', 'USER'] as const;
/** A host without PATH would leave jobs unable to find anything; Docker's default then. */
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The prefix Docker/runc put before a start failure; AWS Batch users search for these strings. */
const RUNC_START_FAILED =
  'CannotStartContainerError: Error response from daemon: failed to create task for container: failed to create shim task: ' +
  'OCI runtime create failed: runc create failed: unable to start container process: ';

/** Options of {@link ProcessExecutor}. */
export interface ProcessExecutorOptions {
  /** source of log line timestamps (epoch ms); Date.now by default */
  clock?: () => number;
  /** environment under every job's own; by default PATH, HOME, LANG, TZ and USER of the host, where set */
  baseEnv?: Record<string, string>;
  /** after the leader exited, how long to wait for processes that escaped the group to release the output pipes */
  outputDrainMs?: number;
  /**
   * Start processes through the fork server (forkServer.ts) rather than Node's spawn: the
   * default wherever its binary was built, because it costs the caller ~20× less per job.
   */
  useForkServer?: boolean;
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

/** Runs each attempt as a child process group on this host; no resource limits, no sandbox. */
export class ProcessExecutor implements Executor {
  readonly name = 'process';
  readonly capabilities: ExecutorCapabilities = { processGroups: true, cgroups: false, sandbox: false, containers: false };
  private readonly clock: () => number;
  private readonly baseEnv: Record<string, string>;
  private readonly drainMs: number;
  /** undefined: spawn with Node (no fork server binary, or not wanted) */
  readonly forkServer: ForkServer | undefined;

  constructor(opts: ProcessExecutorOptions = {}) {
    this.clock = opts.clock ?? Date.now;
    this.baseEnv = opts.baseEnv ?? defaultBaseEnv();
    this.drainMs = opts.outputDrainMs ?? DEFAULT_OUTPUT_DRAIN_MS;
    this.forkServer = opts.useForkServer === false ? undefined : ForkServer.open();
  }

  /** Stops the fork server (SIGKILLing any job still running through it). */
  close(): void {
    this.forkServer?.close();
  }

  start(spec: AttemptSpec, onLog: (lines: LogLine[]) => void): RunningAttempt {
    const file = spec.command[0];
    if (file === undefined || file === '') {
      return notStarted(Promise.resolve('CannotStartContainerError: the job has no command to run (command is empty)'));
    }
    const env = { ...this.baseEnv, ...spec.env };
    if (this.forkServer) {
      // Node's spawn refuses NUL bytes; so does this path, with the same kind of message.
      const nul = spec.command.find((a) => a.includes('\0')) ?? Object.entries(env).find(([k, v]) => k.includes('\0') || v.includes('\0'))?.[0];
      if (nul !== undefined) return notStarted(Promise.resolve(`CannotStartContainerError: the job's command or environment contains null bytes (${JSON.stringify(nul).slice(0, 80)})`));
      return new ForkedAttempt(this.forkServer, spec, env, onLog, this.clock, this.drainMs);
    }
    let child: ChildProcess;
    try {
      child = spawn(file, spec.command.slice(1), {
        cwd: spec.workDir,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      // Node throws, rather than emitting 'error', for arguments it rejects (a NUL byte in
      // argv or env) and for spawn errors it does not expect at run time.
      return notStarted(Promise.resolve(`CannotStartContainerError: ${(e as Error).message}`));
    }
    if (child.pid === undefined) {
      // ENOENT, EACCES, EMFILE…: Node reports these with an 'error' event on the next tick.
      const reason = new Promise<string>((resolve) => {
        child.once('error', (e: NodeJS.ErrnoException) => resolve(nodeStartFailure(spec, e)));
      });
      child.stdout?.on('error', ignore);
      child.stderr?.on('error', ignore);
      return notStarted(reason);
    }
    return new ProcessAttempt(child, child.pid, onLog, this.clock, this.drainMs);
  }
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
  ) {
    const stdout = child.stdout!;
    const stderr = child.stderr!;
    const out = new LineSplitter('stdout');
    const err = new LineSplitter('stderr');
    // One clock read and one callback per chunk: a pipe chunk is up to 64 KiB of lines.
    const deliver = (splitter: LineSplitter, chunk: Buffer) => {
      const lines: LogLine[] = [];
      splitter.push(chunk, clock(), lines);
      if (lines.length > 0) onLog(lines);
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
        // See the module comment: the job is over, so is every process of its group.
        signalGroup(this.pid, 'SIGKILL');
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
        resolve({ exitCode });
      });
    });
  }

  terminate(graceMs = DEFAULT_GRACE_MS): void {
    if (this.leaderExited) return;
    const deadline = Date.now() + Math.max(0, graceMs);
    if (this.killTimer === undefined) {
      signalGroup(this.pid, 'SIGTERM');
    } else {
      // A repeated call may only shorten the grace (an agent shutting down calls with 0).
      if (deadline >= this.killDeadline) return;
      clearTimeout(this.killTimer);
    }
    this.killDeadline = deadline;
    this.killTimer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), Math.max(0, graceMs));
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
  readonly whenStarted: Promise<number | undefined>;

  constructor(
    private readonly server: ForkServer,
    spec: AttemptSpec,
    env: Record<string, string>,
    onLog: (lines: LogLine[]) => void,
    clock: () => number,
    drainMs: number,
  ) {
    const splitters = { 1: new LineSplitter('stdout'), 2: new LineSplitter('stderr') };
    let resolveExit!: (e: AttemptExit) => void;
    let resolveStarted!: (pid: number | undefined) => void;
    this.exited = new Promise<AttemptExit>((r) => (resolveExit = r));
    this.whenStarted = new Promise((r) => (resolveStarted = r));
    this.id = server.spawn(
      { argv: spec.command, env, cwd: spec.workDir, drainMs },
      {
        started: (pid) => {
          this.pidValue = pid;
          resolveStarted(pid);
        },
        failed: (step, code) => {
          this.leaderExited = true;
          this.pidValue = undefined;
          resolveStarted(undefined);
          resolveExit({ exitCode: null, reason: startFailure(spec, step, code) });
        },
        output: (stream, chunk) => {
          const lines: LogLine[] = [];
          splitters[stream].push(chunk, clock(), lines);
          if (lines.length > 0) onLog(lines);
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
          resolveExit({ exitCode: code ?? (signal !== null ? 128 + (constants.signals[signal] ?? 0) : null) });
        },
      },
    );
  }

  get pid(): number | undefined {
    return this.pidValue;
  }

  terminate(graceMs = DEFAULT_GRACE_MS): void {
    if (this.leaderExited) return;
    const deadline = Date.now() + Math.max(0, graceMs);
    if (this.killTimer === undefined) {
      this.server.kill(this.id, 'SIGTERM');
    } else {
      if (deadline >= this.killDeadline) return;
      clearTimeout(this.killTimer);
    }
    this.killDeadline = deadline;
    this.killTimer = setTimeout(() => this.server.kill(this.id, 'SIGKILL'), Math.max(0, graceMs));
  }
}

/** Splits one output stream into lines; a partial line waits for the rest or for the end. */
class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** the pending bytes continue a line already cut at MAX_LINE_BYTES */
  private continued = false;

  constructor(private readonly stream: LogStream) {}

  push(chunk: Buffer, now: number, out: LogLine[]): void {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      this.add(chunk.subarray(start, nl), now, out);
      this.emit(now, out);
      start = nl + 1;
    }
    if (start < chunk.length) this.add(chunk.subarray(start), now, out);
  }

  /** Flushes the last line if the process did not end it with a newline. */
  end(now: number, out: LogLine[]): void {
    if (this.pendingBytes > 0) this.emit(now, out);
  }

  private add(part: Buffer, now: number, out: LogLine[]): void {
    if (this.pendingBytes + part.length > MAX_LINE_BYTES) {
      let rest = this.pendingBytes > 0 ? Buffer.concat([...this.pending, part]) : part;
      while (rest.length > MAX_LINE_BYTES) {
        const cut = utf8Boundary(rest, MAX_LINE_BYTES);
        out.push({ stream: this.stream, timestamp: now, message: rest.toString('utf8', 0, cut) });
        rest = rest.subarray(cut);
      }
      this.pending = [];
      this.pendingBytes = 0;
      this.continued = true;
      part = rest;
    }
    if (part.length > 0) {
      this.pending.push(part);
      this.pendingBytes += part.length;
    }
  }

  private emit(now: number, out: LogLine[]): void {
    let line = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
    // A CRLF straddling a cut would otherwise show up as an empty line after the pieces.
    if (!(this.continued && line.length === 0)) {
      out.push({ stream: this.stream, timestamp: now, message: line.toString('utf8') });
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.continued = false;
  }
}

/** The largest cut ≤ max that does not split a UTF-8 sequence (or max, if the bytes are not UTF-8). */
function utf8Boundary(buf: Buffer, max: number): number {
  let cut = max;
  while (cut > max - 3 && (buf[cut] & 0xc0) === 0x80) cut--;
  return (buf[cut] & 0xc0) === 0x80 ? max : cut;
}

function notStarted(reason: Promise<string>): RunningAttempt {
  return { pid: undefined, exited: reason.then((r) => ({ exitCode: null, reason: r })), terminate: () => undefined };
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
