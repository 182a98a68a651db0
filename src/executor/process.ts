/**
 * The process executor: an attempt's command runs as a child process that leads its own
 * process group, with only the job's environment over a small base, its output split into
 * timestamped lines.
 *
 * Nothing outlives its job: termination signals the whole group, and when the leader exits
 * on its own, members it left behind (background children) are killed too — a batch job is
 * over when its main process is, as a container is over when its init process is.
 */
import { spawn } from 'node:child_process';
import type { AttemptExit, AttemptSpec, Executor, ExecutorCapabilities, LogLine, LogStream, RunningAttempt } from './types.js';

/** CloudWatch caps one event at 256 KiB; longer lines are split, as its agents do. */
export const MAX_LINE_BYTES = 256 * 1024;
const BASE_ENV_KEYS = ['PATH', 'HOME', 'LANG', 'TZ', 'USER'];
const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

export interface ProcessExecutorOptions {
  clock?: () => number;
  baseEnv?: Record<string, string>;
}

function defaultBaseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of BASE_ENV_KEYS) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return env;
}

/** Splits a byte stream into lines; a partial line waits for the rest or for the end. */
class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly stream: LogStream,
    private readonly clock: () => number,
  ) {}

  push(chunk: Buffer, out: LogLine[]): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      this.append(chunk.subarray(start, nl), out);
      this.emit(out);
      start = nl + 1;
    }
    if (start < chunk.length) this.append(chunk.subarray(start), out);
  }

  end(out: LogLine[]): void {
    if (this.pendingBytes > 0) this.emit(out);
  }

  private append(part: Buffer, out: LogLine[]): void {
    while (this.pendingBytes + part.length > MAX_LINE_BYTES) {
      const room = MAX_LINE_BYTES - this.pendingBytes;
      this.pending.push(part.subarray(0, room));
      this.pendingBytes += room;
      this.emit(out);
      part = part.subarray(room);
    }
    if (part.length) {
      this.pending.push(part);
      this.pendingBytes += part.length;
    }
  }

  private emit(out: LogLine[]): void {
    let text = Buffer.concat(this.pending).toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    out.push({ stream: this.stream, timestamp: this.clock(), message: text });
    this.pending = [];
    this.pendingBytes = 0;
  }
}

function startFailure(command: string, err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') {
    return `CannotStartContainerError: Error response from daemon: failed to create task: exec: "${command}": executable file not found in $PATH: unknown`;
  }
  if (err.code === 'EACCES') {
    return `CannotStartContainerError: Error response from daemon: failed to create task: exec: "${command}": permission denied: unknown`;
  }
  return `CannotStartContainerError: ${err.code ?? ''} ${err.message}`.trim();
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is already gone
  }
}

export class ProcessExecutor implements Executor {
  readonly name = 'process';
  readonly capabilities: ExecutorCapabilities = { processGroups: true, cgroups: false, sandbox: false, containers: false };
  private readonly clock: () => number;
  private readonly baseEnv: Record<string, string>;

  constructor(opts: ProcessExecutorOptions = {}) {
    this.clock = opts.clock ?? Date.now;
    this.baseEnv = opts.baseEnv ?? defaultBaseEnv();
  }

  start(spec: AttemptSpec, onLog: (lines: LogLine[]) => void): RunningAttempt {
    if (spec.command.length === 0 || spec.command[0] === '') {
      return {
        pid: undefined,
        exited: Promise.resolve({ exitCode: null, reason: 'CannotStartContainerError: the job has no command to run (containerProperties.command is empty)' }),
        terminate: () => undefined,
      };
    }
    const child = spawn(spec.command[0], spec.command.slice(1), {
      cwd: spec.workDir,
      env: { ...this.baseEnv, ...spec.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pgid = child.pid;
    let leaderExited = false;
    let killTimer: NodeJS.Timeout | undefined;
    const out = new LineSplitter('stdout', this.clock);
    const err = new LineSplitter('stderr', this.clock);
    const deliver = (s: LineSplitter, chunk: Buffer) => {
      const lines: LogLine[] = [];
      s.push(chunk, lines);
      if (lines.length) onLog(lines);
    };
    child.stdout!.on('data', (c: Buffer) => deliver(out, c));
    child.stderr!.on('data', (c: Buffer) => deliver(err, c));

    const exited = new Promise<AttemptExit>((resolve) => {
      let exitCode: number | null = null;
      child.once('error', (e: NodeJS.ErrnoException) => {
        // A spawn failure leaves no process: there is nothing to wait for.
        if (pgid === undefined) resolve({ exitCode: null, reason: startFailure(spec.command[0], e) });
      });
      child.once('exit', (code, signal) => {
        leaderExited = true;
        if (killTimer) clearTimeout(killTimer);
        exitCode = code ?? (signal ? 128 + (SIGNALS[signal] ?? 0) : null);
        // Members left behind would hold the output pipes open and outlive the job.
        if (pgid !== undefined && groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
      });
      // 'close' follows 'exit' once the output pipes have ended: all output is delivered.
      child.once('close', () => {
        if (pgid === undefined) return;
        const tail: LogLine[] = [];
        out.end(tail);
        err.end(tail);
        if (tail.length) onLog(tail);
        resolve({ exitCode });
      });
    });

    return {
      pid: pgid,
      exited,
      terminate(graceMs = 30_000) {
        if (pgid === undefined || leaderExited || killTimer) return;
        signalGroup(pgid, 'SIGTERM');
        killTimer = setTimeout(() => {
          if (!leaderExited || groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
        }, graceMs);
        killTimer.unref();
      },
    };
  }
}
