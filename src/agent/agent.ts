/**
 * The agent: runs on an instance, takes attempts from the control plane, runs them through
 * an executor, and reports what happened (see protocol.ts).
 *
 * Two loops share one state:
 *   poll loop    long-polls for work; starts and stops attempts as the answer says.
 *   report loop  sends queued reports in batches, one request at a time; a failed send is
 *                retried with backoff and nothing is dropped, so a control plane that
 *                restarts still learns every exit.
 * Timeouts are enforced here, where the process is: the attempt is terminated and reported
 * as timed out.
 *
 * The lease (compute/agentLease.ts): every answer of the control plane renews it, counted from
 * when the request was sent. Requests time out, so a paused or cut-off control plane cannot
 * hold one for ever. When no answer came for the whole lease, the agent stops every attempt
 * it has (SIGKILL, as a lost host) and reports each as lost once it gets through again: by
 * then the control plane may be running them elsewhere. It keeps polling meanwhile, and its
 * reports wait (log lines up to MAX_QUEUED_LOG_CHARS, the rest counted and said in a line).
 *
 * An attempt's working directory is made off the event loop before it starts; until then it
 * holds its room as if running.
 *
 * The poll's answer names the instance's size. When the instance's compute environment
 * queues work on its agent (`openbatch:prefetch`, on by default for short jobs), it may hold
 * more than fits: the rest waits here, in placement order, and starts the moment an exit
 * leaves room for it, without waiting for the control plane to hear of the exit and answer.
 * The control plane may take back what waits (`withdraw`: a job that should run first was
 * placed here): what has not started is given up and reported `withdrawn`.
 *
 * What attempts use (executor/usage.ts): when the control plane asks for it (the poll answer's
 * `usage`), every `sampleMs` each attempt that has run at least that long is sampled and its
 * figures queued as a `usage` report, in the same batches as the rest; a shorter job costs no
 * report of its own. Every exit report carries the attempt's final figures.
 */
import { mkdir, mkdirSync, rm, rmdir, symlinkSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { DEFAULT_GRACE_MS, notStarted } from '../executor/process.js';
import type { AttemptSpec, Executor, ExecutorName, LogLine, RunningAttempt, UsageFigures } from '../executor/types.js';
import type { ContainerOutcome } from '../executor/pod.js';
import { taskOf } from './task.js';
import type { Assignment, AttemptRef, PollResponse, Report, ReportResponse } from './protocol.js';
import { postJson } from './http.js';
import { TaskMetadataServer } from './taskMetadata.js';
import { removePidFile, writeContainerFile, writePidFile } from './pidFiles.js';
import { readServerUrl } from './serverAddress.js';

export interface AgentOptions {
  /** the control plane's URL, or several (comma-separated) that share one database: any of them serves */
  server: string;
  /**
   * A file naming where the control plane listens now (serverAddress.ts), read again whenever a
   * request fails: a local agent's server, restarted on another port, is found there.
   */
  serverFile?: string;
  instanceId: string;
  token: string;
  /** the executors this agent has; each assignment names its own (its compute environment's) */
  executors: Partial<Record<ExecutorName, Executor>>;
  workRoot: string;
  logger: Logger;
  /** grace between SIGTERM and SIGKILL for timeouts, where the assignment names none (an older control plane) */
  terminateGraceMs?: number;
  /**
   * A launched instance's agent: once its lease runs out (its server gone; before any answer,
   * after NO_LEASE_ORPHAN_MS) it stops and exits, rather than poll for ever. Its server, back,
   * closes the instance; a joined agent instead keeps trying, as its owner runs it.
   */
  exitWhenOrphaned?: boolean;
}

type Size = NonNullable<PollResponse['capacity']>;

interface Running {
  assignment: Assignment;
  handle: RunningAttempt;
  timer?: NodeJS.Timeout;
  timedOut: boolean;
  workDir: string;
  /** performance.now() when the job's process started (undefined: not yet) */
  runningSince?: number;
}

const POLL_WAIT_MS = 15_000;
/** how long a request may go unanswered beyond what it asked the server to wait */
const ANSWER_MS = 10_000;
/** how often the lease is checked */
const LEASE_CHECK_MS = 250;
/** log text the report queue holds while the control plane does not take it; more is dropped and counted */
const MAX_QUEUED_LOG_CHARS = 64 * 1024 * 1024;
/** the longest wait between retries of a poll or report the control plane did not answer */
const MAX_BACKOFF_MS = 1_000;
/** repeated warnings (the control plane unreachable) are logged at most this often */
const WARN_EVERY_MS = 30_000;
/** how often the agent checks that it can run jobs (checkHealth) */
const HEALTH_CHECK_MS = 2_000;
/** less free space than this in the work directory, and attempts wait (their directories, pid files and job output need room) */
const MIN_FREE_BYTES = 4 * 1024 * 1024;
/** an agent that exits when orphaned and never had an answer gives up after this long */
const NO_LEASE_ORPHAN_MS = 60_000;
/** how long a start or log report may wait for company before it is sent */
const REPORT_DELAY_MS = 10;
/**
 * How long reports may wait for company while work waits here. The control plane queues
 * about 500 ms of work on a busy agent (scheduler/queueDepth.ts), so exits reported every
 * 200 ms, and the pass and poll they cause, still come back before the queue runs dry; and
 * one pass places the room of many exits.
 */
const QUEUED_REPORT_DELAY_MS = 200;
/** a report request carries about this much JSON at most (the server takes AGENT_BODY_LIMIT) */
const MAX_BATCH_BYTES = 512 * 1024;

export class Agent {
  private readonly running = new Map<string, Running>();
  /**
   * Attempts that have exited but whose exit report the control plane has not acknowledged.
   * Until it has, a poll may still find them assigned: they are reported as running (so they
   * are neither restarted nor stopped) and never started again.
   */
  private readonly exitUnacked = new Set<string>();
  private readonly queue: Report[] = [];
  /** assignments received but not started: they wait for room (see `capacity`), in placement order */
  private readonly waiting = new Map<string, Assignment>();
  /**
   * assignments whose working directory is being made (off the event loop: on a busy disk a
   * directory costs a millisecond, and a poll's answer may start hundreds); they hold their
   * room as if running. `cancelled`: stopped meanwhile, so they end without starting.
   */
  private readonly preparing = new Map<string, { assignment: Assignment; cancelled: boolean }>();
  /** why this agent cannot run jobs now (checkHealth), undefined when it can: nothing new starts meanwhile */
  private impaired: string | undefined;
  /** the executor of the instance's jobs, as the control plane names it: its health counts */
  private instanceExecutor: ExecutorName | undefined;
  /** the instance's size, as the control plane names it with work (an older one does not: then every assignment starts at once) */
  private capacity: Size | undefined;
  private sending = false;
  private stopped = false;
  /** settles when stop() has done its work */
  private stopping: Promise<void> | undefined;
  private pollAbort = new AbortController();
  /** why run() returned: told to shut down, refused by the control plane, or stopped by its owner */
  private ending: 'shutdown' | 'refused' | 'orphaned' | 'stopped' = 'stopped';
  /** the lease, as the control plane last stated it; undefined: an older server, no lease */
  private lease: PollResponse['lease'];
  /** performance.now() when the latest request the control plane answered was sent */
  private lastContact = performance.now();
  private leaseTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  /** the lease ran out and the attempts were stopped; cleared by the next answer */
  private fenced = false;
  /** attempts this agent stopped itself (its lease ran out, it was stopped): their exits are reported as a lost host's, with why */
  private readonly lost = new Map<string, string>();
  /** characters of log text in `queue` */
  private queuedLogChars = 0;
  /** per attempt, log lines dropped because the queue was full */
  private readonly droppedLines = new Map<string, { lines: number; chars: number }>();
  /** per attempt with a log cap: the bytes of output kept, and what was dropped beyond the cap */
  private readonly logBytes = new Map<string, { bytes: number; droppedLines: number; droppedBytes: number }>();
  private readonly lastWarned = new Map<string, { at: number; suppressed: number }>();
  private flushWaiters: (() => void)[] = [];
  /** how often running attempts are sampled, as the control plane asks (undefined: not asked) */
  private usageSampleMs: number | undefined;
  private usageTimer: NodeJS.Timeout | undefined;
  private sampling = false;
  private flushTimer: NodeJS.Timeout | undefined;

  /** the control planes this agent may talk to; requests go to `servers[current]` */
  private servers: string[];
  private current = 0;

  /** the ECS task metadata endpoint of the attempts it runs (ECS_CONTAINER_METADATA_URI_V4) */
  private readonly metadata: TaskMetadataServer;

  constructor(private readonly o: AgentOptions) {
    this.servers = serverList(o.server);
    this.metadata = new TaskMetadataServer(o.logger);
  }

  private key(r: AttemptRef): string {
    return `${r.jobId}#${r.attempt}`;
  }

  private async post<T>(path: string, body: unknown, signal?: AbortSignal, waitMs = 0): Promise<T> {
    const server = this.current;
    const sent = performance.now();
    // Unanswered for a quarter of the lease, a request is given up (and the next server tried).
    const answerMs = this.lease ? Math.min(ANSWER_MS, this.lease.ms / 4) : ANSWER_MS;
    try {
      const res = await postJson<T>(this.servers[server] + path, this.o.token, body, signal, waitMs + answerMs);
      this.renewed(sent);
      return res;
    } catch (e) {
      // That control plane is unreachable or failing (dead, restarting): the next request goes to the next one.
      // Its server moved (restarted on another port): the request goes there at once. Whatever
      // answered at the old address (refused, or another service's error) is not the server.
      if (!signal?.aborted && this.serverMoved(server)) return this.post(path, body, signal, waitMs);
      const status = (e as { status?: number }).status;
      if (!signal?.aborted && (status === undefined || status >= 500)) this.failOver(server);
      throw e;
    }
  }

  /** An answer to a request sent at `sent`: the lease holds until `sent` + its length. */
  private renewed(sent: number): void {
    if (sent > this.lastContact) this.lastContact = sent;
    if (this.fenced) {
      this.fenced = false;
      this.o.logger.warn('the control plane answers again');
    }
  }

  /** A warning said at most every WARN_EVERY_MS per `key`, with how many were held back. */
  private warnRarely(key: string, fields: Record<string, unknown>, msg: string): void {
    const now = performance.now();
    const w = this.lastWarned.get(key);
    if (w && now - w.at < WARN_EVERY_MS) {
      w.suppressed++;
      return;
    }
    this.o.logger.warn({ ...fields, ...(w?.suppressed ? { since: `${w.suppressed} more like it` } : {}) }, msg);
    this.lastWarned.set(key, { at: now, suppressed: 0 });
  }

  /**
   * The lease ran out (see the file comment): every attempt stops now. The control plane
   * declares this agent lost a margin later and runs them again elsewhere; so that no attempt
   * runs twice at once, none may still run here by then.
   */
  private checkLease(): void {
    if (this.stopped) return;
    const silentMs = performance.now() - this.lastContact;
    if (this.o.exitWhenOrphaned && silentMs >= (this.lease?.ms ?? NO_LEASE_ORPHAN_MS)) {
      this.o.logger.warn({ silentMs: Math.round(silentMs) }, 'no answer from the control plane for the whole lease: stopping every attempt and exiting');
      this.fence();
      this.ending = 'orphaned';
      void this.stop(0, 'no answer from the control plane');
      return;
    }
    if (!this.lease || this.fenced || silentMs < this.lease.ms) return;
    this.fence(silentMs);
  }

  private fence(silentMs?: number): void {
    this.fenced = true;
    const n = this.running.size + this.preparing.size + this.waiting.size;
    if (silentMs !== undefined) {
      this.o.logger.warn({ silentMs: Math.round(silentMs), leaseMs: this.lease?.ms, attempts: n }, n ? 'no answer from the control plane for the whole lease: stopping every attempt (it will run them again)' : 'no answer from the control plane for the whole lease');
    }
    const why = `no answer from the control plane for ${Math.round((this.lease?.ms ?? silentMs ?? 0) / 1000)} s`;
    for (const [k, a] of this.waiting) {
      this.waiting.delete(k);
      this.lost.set(k, why);
      this.endUnstarted(a, null);
    }
    for (const [k, p] of this.preparing) {
      this.lost.set(k, why);
      p.cancelled = true;
    }
    for (const [k, r] of this.running) {
      this.lost.set(k, why);
      r.handle.terminate(0);
    }
  }

  /**
   * Whether the server file names another address than `servers[from]`, the one that just
   * failed; if so, it is the one talked to from now on.
   */
  private serverMoved(from: number): boolean {
    if (!this.o.serverFile || this.current !== from) return false;
    const now = readServerUrl(this.o.serverFile);
    if (!now || now === this.servers[from]) return false;
    this.o.logger.warn({ from: this.servers[from], to: now }, 'the control plane moved; following it');
    const known = this.servers.indexOf(now);
    if (known >= 0) this.current = known;
    else this.servers[from] = now;
    return true;
  }

  /** The control planes' URLs as the agent knows them now (a moved server at its new address). */
  controlPlanes(): string[] {
    return [...this.servers];
  }

  private failOver(from: number): void {
    if (this.servers.length < 2 || this.current !== from) return;
    this.current = (from + 1) % this.servers.length;
    this.o.logger.warn({ from: this.servers[from], to: this.servers[this.current] }, 'control plane unreachable; switching to another');
  }

  /**
   * Runs until stop() or until the control plane tells the agent to shut down (or refuses
   * it); resolves once everything has stopped, with why.
   */
  async run(): Promise<'shutdown' | 'refused' | 'orphaned' | 'stopped'> {
    let backoff = 100;
    await this.metadata.start();
    this.leaseTimer = setInterval(() => this.checkLease(), LEASE_CHECK_MS);
    this.leaseTimer.unref();
    const health = async () => {
      if (this.stopped) return;
      await this.checkHealth().catch(() => undefined);
      this.healthTimer = setTimeout(() => void health(), HEALTH_CHECK_MS);
      this.healthTimer.unref();
    };
    void health();
    while (!this.stopped) {
      try {
        // Waiting assignments are reported as running: the control plane must neither resend them nor expect them gone.
        const running = [...this.running.values(), ...this.preparing.values(), ...[...this.waiting.values()].map((assignment) => ({ assignment }))].map((r) => ({
          jobId: r.assignment.jobId,
          attempt: r.assignment.attempt,
        }));
        for (const k of this.exitUnacked) {
          const at = k.lastIndexOf('#');
          running.push({ jobId: k.slice(0, at), attempt: Number(k.slice(at + 1)) });
        }
        const waitMs = this.lease?.pollWaitMs ?? POLL_WAIT_MS;
        // As the health checks last found it: a check never delays a poll (the lease depends on them).
        const impaired = this.impaired;
        const res = await this.post<PollResponse>('/agent/v1/poll', { instanceId: this.o.instanceId, running, waitMs, features: ['tasks'], ...(impaired ? { impaired } : {}) }, this.pollAbort.signal, waitMs);
        backoff = 100;
        if (res.lease) this.lease = res.lease;
        if (res.executor) this.instanceExecutor = res.executor;
        this.sampleEvery(res.usage?.sampleMs);
        for (const s of res.stop) this.stopAttempt(s, s.graceMs);
        // Before the new work: what it gives back must not start ahead of it.
        for (const w of res.withdraw ?? []) this.giveBack(w);
        // An instance's size does not change: once known it holds, even if the CE stops queueing work here.
        if (res.capacity) this.capacity = res.capacity;
        for (const a of res.start) {
          const k = this.key(a);
          if (!this.running.has(k) && !this.preparing.has(k) && !this.exitUnacked.has(k)) this.waiting.set(k, a);
        }
        this.startWaiting();
        if (res.shutdown) {
          this.o.logger.info('control plane asked this instance to shut down');
          this.ending = 'shutdown';
          await this.stop(undefined, 'its instance was terminated');
        }
      } catch (e) {
        if (this.stopped) break;
        const status = (e as { status?: number }).status;
        if (status === 403) {
          this.o.logger.error({ err: e }, 'control plane refused this agent; stopping');
          this.ending = 'refused';
          await this.stop(undefined, 'the control plane refused the agent');
          break;
        }
        this.warnRarely('poll', { err: (e as Error).message }, 'poll failed; retrying');
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        this.pollAbort = new AbortController();
      }
    }
    await this.stopping;
    return this.ending;
  }

  /**
   * Why this agent cannot run jobs now — its instance's executor unwell (the container engine
   * does not answer), its work directory's disk full — or undefined. Checked every
   * HEALTH_CHECK_MS, beside the polls, and said to the control plane with each: the instance
   * takes no work meanwhile, and what was assigned to it waits here instead of failing.
   * Changes are logged.
   */
  private async checkHealth(): Promise<string | undefined> {
    const reasons: string[] = [];
    try {
      const st = await statfs(this.o.workRoot);
      const free = st.bavail * st.bsize;
      if (free < MIN_FREE_BYTES) reasons.push(`no space left on device for attempts' working directories (${Math.floor(free / 1024)} KiB free in ${this.o.workRoot})`);
    } catch {
      // cannot tell: not a reason to refuse work
    }
    const executor = this.instanceExecutor ? this.o.executors[this.instanceExecutor] : undefined;
    const unwell = await executor?.health?.();
    if (unwell) reasons.push(unwell);
    const impaired = reasons.length ? reasons.join('; ') : undefined;
    if (impaired !== this.impaired) {
      if (impaired) this.o.logger.warn({ reason: impaired }, 'cannot run jobs now: new work waits here until this passes');
      else this.o.logger.warn('can run jobs again');
      this.impaired = impaired;
      if (!impaired) this.startWaiting();
    }
    return impaired;
  }

  /** Samples running attempts every `ms` (the control plane's `usage`), or no more (undefined). */
  private sampleEvery(ms: number | undefined): void {
    if (ms !== undefined && (!Number.isFinite(ms) || ms < 100)) ms = undefined;
    if (ms === this.usageSampleMs || this.stopped) return;
    clearInterval(this.usageTimer);
    this.usageTimer = undefined;
    this.usageSampleMs = ms;
    if (ms === undefined) return;
    this.usageTimer = setInterval(() => void this.sampleUsage(ms), ms);
    this.usageTimer.unref();
  }

  /** One `usage` report per attempt that has run at least `ms`, with what it used so far. */
  private async sampleUsage(ms: number): Promise<void> {
    if (this.sampling || this.stopped) return;
    this.sampling = true;
    try {
      const now = performance.now();
      for (const [k, r] of this.running) {
        if (r.runningSince === undefined || now - r.runningSince < ms || !r.handle.usage) continue;
        let usage: UsageFigures | undefined;
        try {
          usage = await r.handle.usage();
        } catch {
          continue;
        }
        // Ended meanwhile: its exit report carries its figures.
        if (!usage || this.running.get(k) !== r) continue;
        const a = r.assignment;
        this.enqueue({ kind: 'usage', jobId: a.jobId, attempt: a.attempt, token: a.token, at: Date.now(), usage });
      }
    } finally {
      this.sampling = false;
    }
  }

  /** Starts the waiting assignments that fit beside what runs, in order; a later smaller one may pass an earlier one that does not fit yet. */
  private startWaiting(): void {
    if (this.stopped || this.impaired) return;
    const used = { vcpus: 0, memoryMiB: 0, gpus: 0 };
    for (const r of this.running.values()) addSize(used, r.assignment);
    for (const p of this.preparing.values()) addSize(used, p.assignment);
    for (const [k, a] of this.waiting) {
      // With no size known, or nothing running, the control plane's placement stands.
      if (this.capacity && this.running.size + this.preparing.size > 0 && !fitsBeside(a, used, this.capacity)) continue;
      this.waiting.delete(k);
      addSize(used, a);
      this.prepare(a);
    }
  }

  /**
   * Makes the attempt's working directory, empty, then starts it (unless it was stopped
   * meanwhile). One left by an agent that died running the same attempt is emptied first:
   * what the executor makes in it (the task metadata socket) then finds nothing in its way,
   * without a look before each job.
   */
  private prepare(a: Assignment): void {
    const k = this.key(a);
    if (this.running.has(k) || this.preparing.has(k) || this.exitUnacked.has(k)) return;
    const workDir = join(this.o.workRoot, `${a.jobId}-${a.attempt}`);
    const p = { assignment: a, cancelled: false };
    this.preparing.set(k, p);
    makeEmptyDir(workDir, (err) => {
      this.preparing.delete(k);
      if (this.stopped) return; // not started: like a waiting assignment (see stop())
      if (p.cancelled) {
        rm(workDir, { recursive: true, force: true }, () => undefined);
        this.endUnstarted(a, null);
        this.startWaiting();
        return;
      }
      try {
        if (err) throw err;
        linkMounts(a, workDir);
      } catch (e) {
        rm(workDir, { recursive: true, force: true }, () => undefined);
        this.endUnstarted(a, `CannotStartContainerError: cannot prepare the working directory ${workDir}: ${(e as Error).message}`);
        this.startWaiting();
        return;
      }
      this.startAttempt(a, workDir);
    });
  }

  /**
   * The control plane takes back a queued attempt (a job that should run first was placed
   * here): given up if it still waits, reported so; one already started runs on, and its start
   * report says so.
   */
  private giveBack(ref: AttemptRef): void {
    const k = this.key(ref);
    const a = this.waiting.get(k);
    if (!a) return;
    this.waiting.delete(k);
    this.enqueue({ kind: 'withdrawn', jobId: a.jobId, attempt: a.attempt, token: a.token });
  }

  /** An attempt that ends without having started: its exit is reported like any other. */
  private endUnstarted(a: Assignment, reason: string | null): void {
    this.reportExit(a, null, reason, false, true);
  }

  /**
   * The exit report of an attempt, after a line saying what of its output was dropped, if
   * any; one stopped because the lease ran out is reported lost, one whose process never
   * started as such (AWS's "Task failed to start").
   */
  private reportExit(a: Assignment, exitCode: number | null, reason: string | null, timedOut: boolean, neverStarted = false, containers?: ContainerOutcome[], usage?: UsageFigures): void {
    const k = this.key(a);
    this.exitUnacked.add(k);
    const notes: string[] = [];
    const cap = this.logBytes.get(k);
    this.logBytes.delete(k);
    if (cap?.droppedLines) notes.push(`openbatch: ${cap.droppedLines} log lines (${cap.droppedBytes} bytes) of this attempt were dropped beyond the cap of ${a.logLimitBytes} bytes (maxLogBytesPerAttempt)`);
    const dropped = this.droppedLines.get(k);
    this.droppedLines.delete(k);
    if (dropped) notes.push(`openbatch: ${dropped.lines} log lines (${dropped.chars} characters) of this attempt were dropped: the control plane could not take them and the agent's buffer was full`);
    if (notes.length) this.enqueue({ kind: 'logs', jobId: a.jobId, attempt: a.attempt, token: a.token, lines: notes.map((m) => ({ t: Date.now(), m })) });
    const lost = this.lost.get(k);
    this.lost.delete(k);
    const lostReason = lost ? `openbatch agent: ${lost}; the attempt was stopped` : null;
    this.enqueue({
      kind: 'exited',
      jobId: a.jobId,
      attempt: a.attempt,
      token: a.token,
      at: Date.now(),
      exitCode,
      reason: reason ?? lostReason,
      timedOut,
      ...(lost ? { hostLost: true } : {}),
      ...(neverStarted ? { neverStarted: true } : {}),
      ...(containers ? { containers: containers.map((c) => ({ name: c.name, exitCode: c.exitCode, ...(c.reason ? { reason: c.reason.slice(0, 255) } : {}) })) } : {}),
      ...(usage ? { usage } : {}),
    });
  }

  /** An attempt's log lines, into the report queue unless it holds MAX_QUEUED_LOG_CHARS already (then counted, and said at the exit). */
  private enqueueLogs(a: Assignment, lines: LogLine[]): void {
    if (a.logLimitBytes) {
      lines = this.capped(a, a.logLimitBytes, lines);
      if (lines.length === 0) return;
    }
    let chars = 0;
    for (const l of lines) chars += l.message.length;
    if (this.queuedLogChars + chars > MAX_QUEUED_LOG_CHARS) {
      const k = this.key(a);
      const d = this.droppedLines.get(k) ?? { lines: 0, chars: 0 };
      d.lines += lines.length;
      d.chars += chars;
      this.droppedLines.set(k, d);
      return;
    }
    this.queuedLogChars += chars;
    if (!a.containers) {
      this.enqueue({ kind: 'logs', jobId: a.jobId, attempt: a.attempt, token: a.token, lines: lines.map((l) => ({ t: l.timestamp, m: l.message })) });
      return;
    }
    // A task's containers each have a stream of their own: one report per container, in order.
    let from = 0;
    for (let i = 1; i <= lines.length; i++) {
      if (i < lines.length && lines[i].container === lines[from].container) continue;
      const container = lines[from].container;
      this.enqueue({ kind: 'logs', jobId: a.jobId, attempt: a.attempt, token: a.token, ...(container ? { container } : {}), lines: lines.slice(from, i).map((l) => ({ t: l.timestamp, m: l.message })) });
      from = i;
    }
  }

  /**
   * The lines of an attempt's output that fit in its cap (the server's maxLogBytesPerAttempt);
   * where it is reached, a line saying so. The rest are counted, and said at the exit.
   */
  private capped(a: Assignment, limit: number, lines: LogLine[]): LogLine[] {
    const k = this.key(a);
    let c = this.logBytes.get(k);
    if (!c) this.logBytes.set(k, (c = { bytes: 0, droppedLines: 0, droppedBytes: 0 }));
    if (c.droppedLines === 0 && c.bytes + lines.reduce((n, l) => n + l.message.length, 0) * 3 <= limit) {
      // Well within the cap however the characters encode: no need to weigh each line.
      for (const l of lines) c.bytes += Buffer.byteLength(l.message);
      return lines;
    }
    const kept: LogLine[] = [];
    for (const l of lines) {
      const n = Buffer.byteLength(l.message);
      if (c.droppedLines === 0 && c.bytes + n <= limit) {
        c.bytes += n;
        kept.push(l);
        continue;
      }
      if (c.droppedLines === 0) {
        kept.push({ stream: 'stderr', timestamp: l.timestamp, message: `openbatch: this attempt's log output reached ${limit} bytes (the server's maxLogBytesPerAttempt): its further lines are dropped` });
      }
      c.droppedLines++;
      c.droppedBytes += n;
    }
    return kept;
  }

  private startAttempt(a: Assignment, workDir: string): void {
    const k = this.key(a);
    // An older control plane names no executor: the process executor, as before.
    const executor = this.o.executors[a.executor ?? 'process'];
    // An older control plane says nothing of the task: then there are no task metadata to serve.
    const facts = a.containers
      ? a.containers.map((c) => ({ name: c.name, image: c.settings.image ?? '', vcpus: c.vcpus, memoryMiB: c.memoryMiB, logStream: c.logStreamName }))
      : [{ name: 'default', image: a.settings?.image ?? '', vcpus: a.vcpus, memoryMiB: a.memoryMiB }];
    const token = a.task ? this.metadata.register(a.task, facts) : undefined;
    const metadata = token ? this.metadata.endpoint(token) : undefined;
    let task: Pick<AttemptSpec, 'containers' | 'orchestration' | 'ownPaths' | 'graceMs'> = {};
    let cannotStart = a.cannotStart;
    if (a.containers && !cannotStart) {
      try {
        task = taskOf(a, workDir, (name) => (token ? this.metadata.endpoint(token, name) : undefined));
      } catch (e) {
        cannotStart = `CannotStartContainerError: ${(e as Error).message}`;
      }
    }
    const handle = cannotStart
      ? notStarted(Promise.resolve(cannotStart))
      : !executor
        ? notStarted(Promise.resolve(`CannotStartContainerError: this agent has no ${a.executor} executor`))
        : executor.start(
            { attemptId: k, command: a.command, env: a.env, workDir, vcpus: a.vcpus, memoryMiB: a.memoryMiB, settings: a.settings, mounts: a.mounts, metadata, ...task },
            (lines: LogLine[]) => this.enqueueLogs(a, lines),
          );
    const entry: Running = { assignment: a, handle, timedOut: false, workDir };
    this.running.set(k, entry);
    // A pid file per running attempt lets whoever finds this agent dead stop its jobs (see pidFiles.ts).
    let pidFile: string | undefined;
    let ended = false;
    // A file that cannot be written (a full disk) costs only the clean-up it serves, never the attempt or the agent.
    const record = (write: () => string) => {
      try {
        pidFile = write();
      } catch (e) {
        this.warnRarely('pidfile', { err: (e as Error).message }, 'could not record a running attempt (whoever finds this agent dead cannot stop it)');
      }
    };
    const writePid = (pid: number | undefined) => {
      if (pid !== undefined && !ended) record(() => writePidFile(this.o.workRoot, a.jobId, a.attempt, pid));
    };
    if (handle.containerName && handle.dockerSocket) record(() => writeContainerFile(this.o.workRoot, a.jobId, a.attempt, handle.containerName!, handle.dockerSocket!));
    else if (handle.pid !== undefined) writePid(handle.pid);
    else void handle.whenStarted?.then(writePid);
    // RUNNING, and the attempt's timeout, begin when the job's process starts: at once for a
    // process, once its image is pulled and its container started for a container (ECS keeps
    // the job STARTING meanwhile). One that never starts reports only its exit.
    const running = (at: number | undefined) => {
      if (at === undefined || ended) return;
      metadata?.started(at);
      entry.runningSince = performance.now();
      this.enqueue({ kind: 'started', jobId: a.jobId, attempt: a.attempt, token: a.token, at });
      if (a.timeoutSeconds) {
        entry.timer = setTimeout(() => {
          entry.timedOut = true;
          handle.terminate(a.terminateGraceMs ?? this.o.terminateGraceMs ?? DEFAULT_GRACE_MS);
        }, a.timeoutSeconds * 1000);
        entry.timer.unref();
      }
    };
    if (handle.whenRunning) void handle.whenRunning.then(running);
    else running(Date.now());
    handle.exited.then(
      (exit) => {
        ended = true;
        if (token) this.metadata.unregister(token);
        if (entry.timer) clearTimeout(entry.timer);
        this.running.delete(k);
        if (pidFile) removePidFile(pidFile);
        // Room for what waits here: it starts now, while this exit travels to the control plane.
        queueMicrotask(() => this.startWaiting());
        // Off the event loop: removing a directory tree is the agent's costliest file operation per job.
        removeWorkDir(workDir);
        this.reportExit(a, exit.exitCode, exit.reason ?? null, entry.timedOut, exit.neverStarted === true, exit.containers, exit.usage);
      },
      (err: unknown) => {
        if (token) this.metadata.unregister(token);
        this.running.delete(k);
        this.reportExit(a, null, `agent error: ${(err as Error).message}`, false);
      },
    );
  }

  private stopAttempt(ref: AttemptRef, graceMs: number): void {
    const k = this.key(ref);
    const waiting = this.waiting.get(k);
    if (waiting) {
      // Never started: it ends here. The exit is reported like any other (refused as stale
      // when the attempt is no longer this agent's, which is then all there is to it).
      this.waiting.delete(k);
      this.endUnstarted(waiting, null);
      return;
    }
    const preparing = this.preparing.get(k);
    if (preparing) {
      preparing.cancelled = true;
      return;
    }
    this.running.get(k)?.handle.terminate(graceMs);
  }

  private enqueue(r: Report): void {
    this.queue.push(r);
    if (this.sending) return;
    if (this.urgent(r)) {
      // An exit frees capacity, and a withdrawal the room of the job that takes its place:
      // report it now. (With work still waiting here, the capacity is not idle: the exit
      // waits for company like any report, so that a busy agent's exits reach the control
      // plane, and its scheduler passes, in batches.)
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      void this.sendLoop();
    } else if (!this.flushTimer) {
      // Starts and log lines wait a moment, so that a short job's start and exit (and many
      // jobs' reports) travel in one request and one transaction; longer while work waits
      // here. startedAt is stamped when the process starts, so the delay does not show in it.
      this.flushLater(this.waiting.size > 0 ? QUEUED_REPORT_DELAY_MS : REPORT_DELAY_MS);
    }
  }

  /**
   * A report that goes at once: a withdrawal (the room of the job that takes its place), or
   * an exit when fewer jobs wait here than the instance runs at once (it is about to run dry,
   * or idle capacity waits for the control plane).
   */
  private urgent(r: Report): boolean {
    return r.kind === 'withdrawn' || (r.kind === 'exited' && this.waiting.size < Math.max(1, Math.floor(this.capacity?.vcpus ?? 1)));
  }

  private flushLater(ms: number): void {
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (!this.sending) void this.sendLoop();
    }, ms);
  }

  /**
   * The next reports to send: at most 500 and about MAX_BATCH_BYTES of JSON, a log report
   * too large on its own split by lines. A job that prints megabytes at once would otherwise
   * make one request larger than the server takes, refused again at every retry, and its
   * exit would never be reported.
   */
  private takeBatch(): Report[] {
    const batch: Report[] = [];
    let bytes = 0;
    while (this.queue.length && batch.length < 500) {
      const r = this.queue[0];
      const size = Buffer.byteLength(JSON.stringify(r));
      if (size > MAX_BATCH_BYTES && r.kind === 'logs' && r.lines.length > 1) {
        const half = Math.ceil(r.lines.length / 2);
        this.queue.splice(0, 1, { ...r, lines: r.lines.slice(0, half) }, { ...r, lines: r.lines.slice(half) });
        continue;
      }
      if (batch.length && bytes + size > MAX_BATCH_BYTES) break;
      batch.push(this.queue.shift()!);
      bytes += size;
    }
    return batch;
  }

  private async sendLoop(): Promise<void> {
    this.sending = true;
    let backoff = 50;
    while (this.queue.length) {
      const batch = this.takeBatch();
      try {
        const res = await this.post<ReportResponse>('/agent/v1/report', { instanceId: this.o.instanceId, reports: batch });
        backoff = 50;
        for (const r of batch) {
          if (r.kind === 'exited') this.exitUnacked.delete(this.key(r));
          else if (r.kind === 'logs') for (const l of r.lines) this.queuedLogChars -= l.m.length;
        }
        // Refused as stale: the attempt is no longer this agent's, so its process must not run on.
        for (const s of res.stale) this.stopAttempt(s, 0);
        // What came in meanwhile waits for company too while work waits here, unless it is
        // urgent: sent back to back, a busy agent's reports were a few exits each, every one
        // a scheduler pass, a commit and a poll's answer.
        if (this.queue.length && !this.stopped && this.waiting.size > 0 && !this.queue.some((r) => this.urgent(r))) {
          if (!this.flushTimer) this.flushLater(QUEUED_REPORT_DELAY_MS);
          break;
        }
      } catch (e) {
        this.queue.unshift(...batch);
        if ((e as { status?: number }).status === 403 || this.stopped) {
          // Nobody will accept these reports any more: the instance is gone.
          if ((e as { status?: number }).status === 403) {
            this.queue.length = 0;
            this.queuedLogChars = 0;
            this.exitUnacked.clear();
          }
          if (this.stopped) break;
        }
        this.warnRarely('report', { err: (e as Error).message, queued: this.queue.length }, 'report failed; retrying');
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
    this.sending = false;
    if (this.queue.length === 0 || this.stopped) for (const w of this.flushWaiters.splice(0)) w();
  }

  /**
   * Stops every attempt (SIGTERM, then SIGKILL after grace), sends the last reports, returns
   * once every attempt has ended (a container's too: see ContainerAttempt) and the reports were
   * sent or given up. Called again, it answers the same promise.
   */
  stop(graceMs = 5_000, why = 'the agent was stopped'): Promise<void> {
    this.stopping ??= this.stopNow(graceMs, why);
    return this.stopping;
  }

  private async stopNow(graceMs: number, why: string): Promise<void> {
    this.stopped = true;
    clearInterval(this.leaseTimer);
    clearTimeout(this.healthTimer);
    clearInterval(this.usageTimer);
    this.pollAbort.abort();
    // Not started, so nothing to stop: the control plane finds them STARTING on an instance
    // that is gone. (Those being prepared are not started either: see prepare().)
    this.waiting.clear();
    // Stopped for the host's sake, not the job's: each is reported lost, as on a lost host.
    const exits = [...this.running].map(([k, r]) => {
      if (!this.lost.has(k)) this.lost.set(k, why);
      r.handle.terminate(graceMs);
      return r.handle.exited.catch(() => undefined);
    });
    await Promise.all(exits);
    await this.metadata.close();
    await new Promise((r) => setImmediate(r));
    if (this.sending || this.queue.length) {
      await Promise.race([new Promise<void>((r) => this.flushWaiters.push(r)), new Promise((r) => setTimeout(r, 3_000))]);
    }
  }
}

/**
 * Removes an attempt's working directory, off the event loop: one rmdir where the job left
 * it empty (most short jobs), the whole tree otherwise.
 */
function removeWorkDir(dir: string): void {
  rmdir(dir, (err) => {
    if (err && err.code !== 'ENOENT') rm(dir, { recursive: true, force: true }, () => undefined);
  });
}

/**
 * Makes `dir` (and its parents), empty: one mkdir where it did not exist (every attempt but
 * one whose agent died running it), else its old content removed and the directory made again.
 */
function makeEmptyDir(dir: string, done: (err: NodeJS.ErrnoException | null) => void): void {
  mkdir(dir, { recursive: true }, (err, made) => {
    if (err || made !== undefined) return done(err);
    rm(dir, { recursive: true, force: true }, (err) => (err ? done(err) : mkdir(dir, { recursive: true }, (err) => done(err))));
  });
}

/** The launch template's mounts, as links in the working directory (removed with it; rm does not follow links). */
function linkMounts(a: Assignment, workDir: string): void {
  for (const m of a.mounts ?? []) {
    const at = join(workDir, m.containerPath);
    mkdirSync(dirname(at), { recursive: true });
    try {
      symlinkSync(m.sourcePath, at);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

function addSize(to: Size, a: Size): void {
  to.vcpus += a.vcpus;
  to.memoryMiB += a.memoryMiB;
  to.gpus += a.gpus;
}

function fitsBeside(a: Size, used: Size, capacity: Size): boolean {
  return used.vcpus + a.vcpus <= capacity.vcpus + 1e-9 && used.memoryMiB + a.memoryMiB <= capacity.memoryMiB && used.gpus + a.gpus <= capacity.gpus;
}

/** `--server URL[,URL…]`: the control planes, without trailing slashes. */
export function serverList(servers: string): string[] {
  const list = servers
    .split(',')
    .map((s) => s.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  if (list.length === 0) throw new Error('--server needs at least one URL');
  return list;
}
