/**
 * The agent's side of the fork server (forkserver.c): one small native process per agent
 * that forks and execs job processes, so that the agent's large Node process never forks.
 * Node's child_process.spawn forks the whole agent for every job, ~9 ms per job on a 2-core
 * VM, which capped trivial jobs near 110/s where `xargs -P 2` manages ~230 (see
 * docs/benchmarks.md). Through the fork server a start costs the agent one line written to a
 * pipe.
 *
 * The binary is compiled by `npm run build` (scripts/build-native.mjs) with the C compiler
 * that installing better-sqlite3 needs anyway. Where it is missing, `ForkServer.open`
 * answers undefined and the process executor spawns with Node, as before.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';

/** Where `npm run build` puts the binary: dist/native/, beside dist/src/. */
export const FORK_SERVER_PATH = fileURLToPath(new URL('../../native/openbatch-forkserver', import.meta.url));

export interface ForkRequest {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** after the leader exited, how long to wait for escaped processes to release the pipes */
  drainMs: number;
  /** cgroup.procs files the child joins before it execs */
  cgroupProcs?: string[];
  /** resource limits the child sets, as prlimit's option names: "name soft hard" */
  limits?: string[];
  /** bubblewrap's arguments (without `--`): the child makes that sandbox itself (sandbox.c) and the job runs in it */
  sandbox?: string[];
  /** the user the job switches to before its exec, as setpriv's --reuid/--regid and --init-groups (name) or --clear-groups */
  user?: { uid: number; gid: number; name?: string };
  /** with `sandbox`: "<ipv4:port> <socket name>", the task metadata relay the sandbox's pid 1 runs (metadata-relay.c's arguments) */
  relay?: string;
}

export interface ForkHandlers {
  /** the child was forked; its pid leads its own process group */
  started(pid: number): void;
  /** the child could not be started: the step (chdir, exec, cgroup, fork, pipe, rlimit, sandbox, user), errno code and what it was doing; nothing follows */
  failed(step: string, code: string, what?: string): void;
  output(stream: 1 | 2, chunk: Buffer): void;
  /** the leader exited and all output was delivered; nothing follows */
  exited(code: number | null, signal: NodeJS.Signals | null): void;
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));
const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(osConstants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

export class ForkServer {
  private readonly child: ChildProcess;
  private readonly jobs = new Map<string, ForkHandlers>();
  private nextId = 1;
  private pending: Buffer = Buffer.alloc(0);
  /** the job whose output bytes are being read, and how many are still to come */
  private reading: { handlers: ForkHandlers | undefined; stream: 1 | 2; left: number } | undefined;
  private dead = false;

  /** Starts a fork server, or answers undefined when its binary is not there. */
  static open(path = FORK_SERVER_PATH): ForkServer | undefined {
    try {
      accessSync(path, fsConstants.X_OK);
    } catch {
      return undefined;
    }
    return new ForkServer(path);
  }

  private constructor(path: string) {
    this.child = spawn(path, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout!.on('data', (chunk: Buffer) => this.onData(chunk));
    this.child.stdin!.on('error', () => undefined);
    this.child.on('error', () => this.onDeath('the fork server could not run'));
    this.child.on('exit', (code, signal) => this.onDeath(`the fork server exited (${signal ?? code})`));
    this.setRef(false);
  }

  /** The server's own process id (for diagnostics: the agent never signals it). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The server keeps Node running only while it has jobs, as a child process of its own would. */
  private setRef(on: boolean): void {
    for (const h of [this.child, this.child.stdin, this.child.stdout] as { ref?(): void; unref?(): void }[]) {
      if (on) h.ref?.();
      else h.unref?.();
    }
  }

  private track(id: string, handlers: ForkHandlers): void {
    this.jobs.set(id, handlers);
    if (this.jobs.size === 1) this.setRef(true);
  }

  private untrack(id: string): void {
    if (this.jobs.delete(id) && this.jobs.size === 0) this.setRef(false);
  }

  spawn(req: ForkRequest, handlers: ForkHandlers): string {
    const id = String(this.nextId++);
    if (this.dead) {
      queueMicrotask(() => handlers.failed('fork', 'ECHILD'));
      return id;
    }
    this.track(id, handlers);
    let line = `S ${id} ${esc(req.cwd)} ${Math.max(0, Math.round(req.drainMs))}`;
    for (const a of req.argv) line += ` a:${esc(a)}`;
    for (const [k, v] of Object.entries(req.env)) line += ` e:${esc(`${k}=${v}`)}`;
    for (const c of req.cgroupProcs ?? []) line += ` c:${esc(c)}`;
    for (const l of req.limits ?? []) line += ` r:${esc(l)}`;
    for (const b of req.sandbox ?? []) line += ` b:${esc(b)}`;
    if (req.relay) line += ` m:${esc(req.relay)}`;
    if (req.user) line += ` u:${esc(`${req.user.uid} ${req.user.gid}${req.user.name ? ` ${req.user.name}` : ''}`)}`;
    this.child.stdin!.write(line + '\n');
    return id;
  }

  /** Signals the job's process group while its leader is unreaped; a no-op after. */
  kill(id: string, signal: NodeJS.Signals): void {
    if (this.dead || !this.jobs.has(id)) return;
    this.child.stdin!.write(`K ${id} ${osConstants.signals[signal]}\n`);
  }

  /** Closing its input makes the server SIGKILL every job still running and exit. */
  close(): void {
    this.child.stdin!.end();
  }

  private onDeath(why: string): void {
    if (this.dead) return;
    this.dead = true;
    // Jobs it was watching can no longer be followed: report them as ended, unknown exit.
    for (const [id, h] of this.jobs) {
      this.untrack(id);
      h.output(2, Buffer.from(`openbatch: ${why}; the job's end could not be observed\n`));
      h.exited(null, null);
    }
  }

  private onData(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (at < buf.length) {
      if (this.reading) {
        const n = Math.min(this.reading.left, buf.length - at);
        this.reading.handlers?.output(this.reading.stream, buf.subarray(at, at + n));
        this.reading.left -= n;
        at += n;
        if (this.reading.left === 0) this.reading = undefined;
        continue;
      }
      const nl = buf.indexOf(10, at);
      if (nl < 0) break;
      this.onLine(buf.toString('latin1', at, nl));
      at = nl + 1;
    }
    buf = buf.subarray(at);
    // Output is handed on as it comes, so only a partial header line is ever kept.
    this.pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  }

  private onLine(line: string): void {
    const f = line.split(' ');
    const h = this.jobs.get(f[1]);
    switch (f[0]) {
      case 'P':
        h?.started(Number(f[2]));
        break;
      case 'F':
        this.untrack(f[1]);
        h?.failed(f[2], ERRNO_NAMES.get(Number(f[3])) ?? `errno ${f[3]}`, f[4] ? Buffer.from(f[4], 'hex').toString('utf8') : undefined);
        break;
      case 'O':
        this.reading = { handlers: h, stream: f[2] === '1' ? 1 : 2, left: Number(f[3]) };
        break;
      case 'X': {
        this.untrack(f[1]);
        const code = Number(f[2]);
        h?.exited(code >= 0 ? code : null, code >= 0 ? null : (SIGNAL_NAMES.get(Number(f[3])) ?? null));
        break;
      }
    }
  }
}

/**
 * A string as the fork server reads it: printable ASCII as is, every other byte (and space
 * and %) as %XX. Paths, arguments and variables are mostly plain, so a line is about as long
 * as what it carries (hex made it twice as long, and a sandboxed job's line ~10 KB).
 */
function esc(s: string): string {
  return PLAIN.test(s) ? s : s.replace(NOT_PLAIN, (m) => Buffer.from(m, 'utf8').toString('hex').replace(/../g, '%$&'));
}
const PLAIN = /^[\x21-\x24\x26-\x7e]*$/;
const NOT_PLAIN = /[^\x21-\x24\x26-\x7e]+/g;
