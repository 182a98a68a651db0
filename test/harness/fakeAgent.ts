/**
 * An agent without processes for the in-process harness: it joins an UNMANAGED compute
 * environment and speaks the agent protocol (src/agent/protocol.ts) over HTTP to the server,
 * as `openbatch agent` does, but what an attempt does is a script's answer, played out in the
 * harness's fake time: how long it runs, what it prints, how it exits.
 *
 * Like the real agent it reports a start when it starts an attempt, ends an attempt that
 * outlives its timeout (timed out, exit 143), and ends an attempt it is told to stop with
 * SIGTERM's 143.
 */
import type { Assignment, PollResponse, Report, ReportResponse } from '../../src/agent/protocol.js';
import type { FakeTime } from './fakeTime.js';

/** What an attempt does, decided when it starts. */
export interface Behaviour {
  /** default 0 */
  exitCode?: number;
  /** how long it runs, in ms of the harness's time; default 0 */
  runMs?: number;
  /** log lines it prints, reported with its start */
  lines?: string[];
  /** it never starts (its image, its command): ends at once, never RUNNING */
  neverStarted?: boolean;
}

export type Script = (a: Assignment) => Behaviour;

interface Running {
  a: Assignment;
  endsAt: number;
  exitCode: number;
  timedOut: boolean;
}

export class FakeAgent {
  /** every assignment handed to this agent, in the order it got them */
  readonly assignments: Assignment[] = [];
  private readonly running = new Map<string, Running>();
  private left = false;
  private silent = false;

  private constructor(
    private readonly url: string,
    private readonly time: FakeTime,
    readonly instanceId: string,
    private readonly token: string,
    private readonly script: Script,
  ) {}

  /** Joins `computeEnvironment` (UNMANAGED) with the given size. */
  static async join(url: string, time: FakeTime, joinToken: string, computeEnvironment: string, size: { vcpus: number; memoryMiB?: number }, script: Script): Promise<FakeAgent> {
    const res = await post<{ instanceId: string; token: string }>(url, '/agent/v1/register', joinToken, { computeEnvironment, vcpus: size.vcpus, memoryMiB: size.memoryMiB ?? 64 * 1024, hostname: 'fake-agent' });
    return new FakeAgent(url, time, res.instanceId, res.token, script);
  }

  /**
   * From now on the agent is never heard from again, as a machine that lost power or its
   * network: no poll, no report. The server finds it silent past its lease.
   */
  silence(): void {
    this.silent = true;
  }

  /** When the next attempt running here ends, if one runs. */
  nextDue(): number | undefined {
    if (this.silent) return undefined;
    let next: number | undefined;
    for (const r of this.running.values()) if (next === undefined || r.endsAt < next) next = r.endsAt;
    return next;
  }

  /** Attempts running here now. */
  get busy(): number {
    return this.running.size;
  }

  /**
   * One round as the real agent's loop does it: a poll (never held: the harness moves time),
   * then the reports of what started and of what has ended by now. Answers whether anything
   * happened.
   */
  async sync(): Promise<boolean> {
    if (this.left || this.silent) return false;
    const running = [...this.running.values()].map((r) => ({ jobId: r.a.jobId, attempt: r.a.attempt }));
    const res = await post<PollResponse>(this.url, '/agent/v1/poll', this.token, { instanceId: this.instanceId, running, waitMs: 0 });
    const now = this.time.now();
    const reports: Report[] = [];
    for (const a of res.start) {
      this.assignments.push(a);
      const b = this.script(a);
      if (a.cannotStart || b.neverStarted) {
        reports.push({ kind: 'exited', jobId: a.jobId, attempt: a.attempt, token: a.token, at: now, exitCode: null, reason: a.cannotStart ?? 'CannotStartContainerError', timedOut: false, neverStarted: true });
        continue;
      }
      reports.push({ kind: 'started', jobId: a.jobId, attempt: a.attempt, token: a.token, at: now });
      if (b.lines?.length) reports.push({ kind: 'logs', jobId: a.jobId, attempt: a.attempt, token: a.token, lines: b.lines.map((m) => ({ t: now, m })) });
      const runMs = b.runMs ?? 0;
      const limitMs = a.timeoutSeconds === null ? Infinity : a.timeoutSeconds * 1000;
      const timedOut = runMs > limitMs;
      this.running.set(key(a), { a, endsAt: now + (timedOut ? limitMs : runMs), exitCode: timedOut ? 143 : (b.exitCode ?? 0), timedOut });
    }
    for (const s of res.stop) {
      const r = this.running.get(key(s));
      if (!r) continue;
      // SIGTERM: the process ends now, with its exit status.
      r.endsAt = Math.min(r.endsAt, now);
      r.exitCode = 143;
    }
    for (const [k, r] of this.running) {
      if (r.endsAt > now) continue;
      this.running.delete(k);
      reports.push({ kind: 'exited', jobId: r.a.jobId, attempt: r.a.attempt, token: r.a.token, at: r.endsAt, exitCode: r.exitCode, reason: null, timedOut: r.timedOut });
    }
    if (reports.length) {
      const answer = await post<ReportResponse>(this.url, '/agent/v1/report', this.token, { instanceId: this.instanceId, reports });
      for (const s of answer.stale) this.running.delete(key(s));
    }
    if (res.shutdown) {
      await post(this.url, '/agent/v1/leave', this.token, { instanceId: this.instanceId });
      this.left = true;
    }
    return res.start.length > 0 || res.stop.length > 0 || reports.length > 0 || res.shutdown;
  }
}

function key(r: { jobId: string; attempt: number }): string {
  return `${r.jobId}#${r.attempt}`;
}

async function post<T>(url: string, path: string, token: string, body: unknown): Promise<T> {
  const res = await fetch(url + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}
