/**
 * What agents and compute providers report about attempts: the process started, the attempt
 * ended. A batch of reports — one agent request, one Slurm tick, the attempts of a lost
 * instance — is decided in memory on one read of the attempts it names, and applied at the
 * end (`flush`) as one batch of attempt writes and one batch of job transitions
 * (store/transitions.ts), so a job that started and ended within one batch costs one write of
 * its job row and one of its attempt.
 *
 * Fencing: a report counts only while its attempt is the job's current one, its token
 * matches, the attempt has not ended, the job is STARTING or RUNNING, and (for an agent) the
 * attempt was placed on the reporting agent's own instance. Anything else is stale: the
 * caller tells the agent, which drops it.
 *
 * The nodes of multi-node jobs follow their gang's rules (store/gangs.ts), which read the
 * other nodes: for them the batch first writes out what it holds, so the database is what
 * the reports so far made it, and applies the report on its own; later reports of that job
 * in the batch do too.
 */
import { isFinal, type JobStatus } from '../model/jobStateMachine.js';
import { jobKind } from '../model/jobKind.js';
import { REASONS } from '../model/reasons.js';
import { shouldRetry } from '../model/retry.js';
import { nodeEnded, nodeStarted } from './gangs.js';
import { getAttempt, getJob, jobSpecOf, type AttemptRow, type JobRow } from './jobs.js';
import { FixedStatement, InListStatement } from './statementCache.js';
import { toJson } from './json.js';
import { applyTransitions, type Transition } from './transitions.js';
import type { Tx } from './unitOfWork.js';
import { backToRunnable, deleteGivenBack, type Withdrawn } from './withdrawals.js';

/** How an attempt ended, as its agent or provider saw it. */
export interface AttemptEnd {
  exitCode: number | null;
  /** container-level reason from the executor, if any */
  reason: string | null;
  /** the attempt's statusReason; defaults from the exit code */
  statusReason?: string;
  timedOut?: boolean;
  stoppedAt: number;
  /** the job's process never started: the job ends from STARTING, never RUNNING, with no startedAt */
  neverStarted?: boolean;
  /** a task's containers, each as it ended */
  containers?: ContainerExit[];
}

/** How one container of a task ended (exitCode null: it never started, or was not seen to end). */
export interface ContainerExit {
  name: string;
  exitCode: number | null;
  reason?: string;
}

/** A job's current attempt with the job columns the fencing check and the decisions read. */
interface Current {
  job_id: string;
  attempt: number;
  token: string;
  a_status: string;
  instance_id: string | null;
  a_started_at: number | null;
  a_stopped_at: number | null;
  a_exit_code: number | null;
  a_reason: string | null;
  a_status_reason: string | null;
  status: string;
  terminate_reason: string | null;
  withdraw_at: number | null;
  parent_id: string | null;
  array_size: number | null;
  num_nodes: number | null;
  node_index: number | null;
}

const READ = new InListStatement(
  (list) =>
    'SELECT a.job_id, a.attempt, a.token, a.status AS a_status, a.instance_id, a.started_at AS a_started_at, a.stopped_at AS a_stopped_at,' +
    ' a.exit_code AS a_exit_code, a.reason AS a_reason, a.status_reason AS a_status_reason, a.withdraw_at,' +
    ' j.status, j.terminate_reason, j.parent_id, j.array_size, j.num_nodes, j.node_index' +
    ` FROM jobs j JOIN attempts a ON a.job_id = j.id AND a.attempt = j.attempt_count WHERE j.id IN (${list})`,
);
const WRITE_ATTEMPT = new FixedStatement<never>('UPDATE attempts SET status = ?, started_at = ?, stopped_at = ?, exit_code = ?, reason = ?, status_reason = ? WHERE job_id = ? AND attempt = ?');
const WRITE_CONTAINERS = new FixedStatement<never>('UPDATE attempts SET containers = ? WHERE job_id = ? AND attempt = ?');
const SPEC = new FixedStatement<Pick<JobRow, 'spec'>>('SELECT spec FROM jobs WHERE id = ?');

/** A batch of reports about attempts. `load`, then `started`/`exited` in report order, then `flush`. */
export class AttemptReports {
  /** current attempts by job id, as the reports so far left them; absent: none (stale) */
  private readonly current = new Map<string, Current>();
  /** jobs whose reports are applied one at a time (gang nodes) */
  private readonly alone = new Set<string>();
  private readonly dirtyAttempts = new Set<Current>();
  private changes: Transition[] = [];
  /** attempts their agent gave back before starting them (store/withdrawals.ts) */
  private givenBack: { jobId: string; attempt: number; asked: boolean }[] = [];
  /** tasks' containers as they ended, to write with the attempts */
  private containerExits: { jobId: string; attempt: number; containers: ContainerExit[] }[] = [];

  private constructor(
    private readonly tx: Tx,
    private readonly now: number,
    /** the reporting agent's instance; undefined for a provider that speaks for every instance it runs */
    private readonly instanceId: string | undefined,
  ) {}

  /** Reads the current attempts of the jobs the batch reports on. */
  static async load(tx: Tx, jobIds: string[], now: number, instanceId?: string): Promise<AttemptReports> {
    const b = new AttemptReports(tx, now, instanceId);
    const ids = [...new Set(jobIds)];
    for (const r of await READ.all<Current>(tx.db, ids)) {
      b.current.set(r.job_id, { ...r, attempt: Number(r.attempt) });
      if (jobKind(r) === 'node') b.alone.add(r.job_id);
    }
    return b;
  }

  private fenced(jobId: string, attempt: number, token: string): Current | undefined {
    const r = this.current.get(jobId);
    if (!r || r.attempt !== attempt || r.token !== token || isFinal(r.a_status)) return undefined;
    // An agent speaks only for the attempts placed on its own instance, token or not.
    if (this.instanceId !== undefined && r.instance_id !== this.instanceId) return undefined;
    if (r.status !== 'STARTING' && r.status !== 'RUNNING') return undefined;
    return r;
  }

  private change(r: Current, to: JobStatus, statusReason: string | null, set: Transition['set']): void {
    this.changes.push({ job: { id: r.job_id, status: r.status, parent_id: r.parent_id, array_size: r.array_size, num_nodes: r.num_nodes, node_index: r.node_index }, to, statusReason, set });
    r.status = to;
  }

  /** The process started. Returns false when the report is stale. */
  async started(jobId: string, attempt: number, token: string, startedAt: number): Promise<boolean> {
    if (this.alone.has(jobId)) return this.nodeStarted(jobId, attempt, token, startedAt);
    const r = this.fenced(jobId, attempt, token);
    if (!r) return false;
    if (r.status === 'RUNNING') return true;
    r.a_status = 'RUNNING';
    r.a_started_at = startedAt;
    this.dirtyAttempts.add(r);
    this.change(r, 'RUNNING', null, { started_at: startedAt });
    return true;
  }

  /**
   * The attempt ended. Decides the job's fate: SUCCEEDED on exit 0; otherwise a retry (back
   * to RUNNABLE) if the retry strategy says so, else FAILED. Returns false when the report is stale.
   */
  async exited(jobId: string, attempt: number, token: string, end: AttemptEnd): Promise<boolean> {
    if (this.alone.has(jobId)) return this.nodeExited(jobId, attempt, token, end);
    const r = this.fenced(jobId, attempt, token);
    if (!r) return false;
    const neverStarted = end.neverStarted === true;
    // The process ended before its RUNNING report was applied: RUNNING first, as AWS shows it.
    // One that never started ends from STARTING.
    if (r.status === 'STARTING' && !neverStarted) this.change(r, 'RUNNING', null, { started_at: end.stoppedAt });
    const { succeeded, statusReason } = outcomeOf(r.terminate_reason, end);
    r.a_started_at = neverStarted ? null : (r.a_started_at ?? end.stoppedAt);
    r.a_status = succeeded ? 'SUCCEEDED' : 'FAILED';
    r.a_stopped_at = end.stoppedAt;
    r.a_exit_code = end.exitCode;
    r.a_reason = end.reason;
    r.a_status_reason = succeeded ? null : statusReason;
    this.dirtyAttempts.add(r);
    if (end.containers) this.containerExits.push({ jobId, attempt, containers: end.containers });
    if (succeeded) {
      this.change(r, 'SUCCEEDED', REASONS.essentialContainerExited, { exit_code: end.exitCode, stopped_at: end.stoppedAt });
      return true;
    }
    const spec = jobSpecOf((await SPEC.run(this.tx.db, [jobId]))[0]);
    const retry = shouldRetry(spec.retryStrategy, attempt, {
      exitCode: end.exitCode,
      reason: end.reason,
      statusReason,
      terminatedByUser: r.terminate_reason !== null,
      timedOut: end.timedOut === true,
    });
    if (retry) this.change(r, 'RUNNABLE', null, { exit_code: end.exitCode, instance_id: null, ce_name: null, started_at: null });
    else this.change(r, 'FAILED', statusReason, { exit_code: end.exitCode, stopped_at: end.stoppedAt });
    return true;
  }

  /**
   * The agent gave the attempt back without starting it, as the scheduler asked
   * (store/withdrawals.ts). Returns false when the report is stale, or the attempt was not
   * asked for, or is not STARTING.
   */
  withdrawn(jobId: string, attempt: number, token: string): boolean {
    const r = this.alone.has(jobId) ? undefined : this.fenced(jobId, attempt, token);
    if (!r || r.status !== 'STARTING' || r.a_status !== 'STARTING' || r.withdraw_at === null) return false;
    this.current.delete(jobId);
    this.givenBack.push({ jobId, attempt, asked: true });
    return true;
  }

  /**
   * The attempt's assignment never reached its agent (the poll answer that carried it was
   * lost: a network cut, an agent restarted in between), so it never ran: it goes as a
   * withdrawn one does, and its job waits again. Returns false unless it is current and
   * STARTING.
   */
  neverReceived(jobId: string, attempt: number, token: string): boolean {
    const r = this.alone.has(jobId) ? undefined : this.fenced(jobId, attempt, token);
    if (!r || r.status !== 'STARTING' || r.a_status !== 'STARTING') return false;
    this.current.delete(jobId);
    this.givenBack.push({ jobId, attempt, asked: false });
    return true;
  }

  /** Writes what the reports so far changed: attempts, then the jobs' transitions and all that follows them. */
  async flush(): Promise<void> {
    if (this.givenBack.length) {
      const gone: Withdrawn[] = [];
      for (const w of this.givenBack) {
        const g = await deleteGivenBack(this.tx, w.jobId, w.attempt, w.asked);
        if (g) gone.push(g);
      }
      this.givenBack = [];
      await backToRunnable(this.tx, gone, this.now);
    }
    for (const r of this.dirtyAttempts) {
      await WRITE_ATTEMPT.exec(this.tx.db, [r.a_status, r.a_started_at, r.a_stopped_at, r.a_exit_code, r.a_reason, r.a_status_reason, r.job_id, r.attempt]);
    }
    this.dirtyAttempts.clear();
    for (const c of this.containerExits) await WRITE_CONTAINERS.exec(this.tx.db, [toJson(c.containers), c.jobId, c.attempt]);
    this.containerExits = [];
    const changes = this.changes;
    this.changes = [];
    await applyTransitions(this.tx, changes, this.now);
  }

  /** A node's report, read and applied on its own (see the file comment). */
  private async nodeFenced(jobId: string, attempt: number, token: string): Promise<{ job: JobRow; attempt: AttemptRow } | undefined> {
    await this.flush();
    const a = await getAttempt(this.tx.db, jobId, attempt);
    if (!a || a.token !== token || isFinal(a.status)) return undefined;
    if (this.instanceId !== undefined && a.instance_id !== this.instanceId) return undefined;
    const job = await getJob(this.tx.db, jobId);
    if (!job || job.attempt_count !== attempt || (job.status !== 'STARTING' && job.status !== 'RUNNING')) return undefined;
    return { job, attempt: a };
  }

  private async nodeStarted(jobId: string, attempt: number, token: string, startedAt: number): Promise<boolean> {
    const found = await this.nodeFenced(jobId, attempt, token);
    if (!found) return false;
    if (found.job.status === 'RUNNING') return true;
    await WRITE_ATTEMPT.exec(this.tx.db, ['RUNNING', startedAt, null, null, null, null, jobId, attempt]);
    await nodeStarted(this.tx, found.job, startedAt, this.now);
    return true;
  }

  private async nodeExited(jobId: string, attempt: number, token: string, end: AttemptEnd): Promise<boolean> {
    const found = await this.nodeFenced(jobId, attempt, token);
    if (!found) return false;
    const { job } = found;
    const { succeeded, statusReason } = outcomeOf(job.terminate_reason, end);
    await WRITE_ATTEMPT.exec(this.tx.db, [
      succeeded ? 'SUCCEEDED' : 'FAILED',
      found.attempt.started_at ?? end.stoppedAt,
      end.stoppedAt,
      end.exitCode,
      end.reason,
      succeeded ? null : statusReason,
      jobId,
      attempt,
    ]);
    await nodeEnded(this.tx, job, { succeeded, statusReason, exitCode: end.exitCode, reason: end.reason, timedOut: end.timedOut === true, stoppedAt: end.stoppedAt }, this.now);
    return true;
  }
}

/** Whether an attempt's end is a success, and the statusReason it ends with. A terminated job never succeeds. */
function outcomeOf(terminateReason: string | null, end: AttemptEnd): { succeeded: boolean; statusReason: string } {
  return {
    succeeded: end.exitCode === 0 && !terminateReason && !end.timedOut,
    statusReason: terminateReason ?? end.statusReason ?? (end.timedOut ? REASONS.timeout : REASONS.essentialContainerExited),
  };
}

/** One report that the process started (a provider's). Returns false when it is stale. */
export async function markRunning(tx: Tx, jobId: string, attempt: number, token: string, startedAt: number, now: number): Promise<boolean> {
  const b = await AttemptReports.load(tx, [jobId], now);
  const ok = await b.started(jobId, attempt, token, startedAt);
  await b.flush();
  return ok;
}

/** One report that an attempt ended (a provider's). Returns false when it is stale. */
export async function finishAttempt(tx: Tx, jobId: string, attempt: number, token: string, end: AttemptEnd, now: number): Promise<boolean> {
  const b = await AttemptReports.load(tx, [jobId], now);
  const ok = await b.exited(jobId, attempt, token, end);
  await b.flush();
  return ok;
}

/** Attempts whose host is gone fail with `statusReason`; each job's retry strategy decides what follows. */
export async function failLostAttempts(tx: Tx, attempts: AttemptRow[], statusReason: string, now: number): Promise<void> {
  const b = await AttemptReports.load(tx, attempts.map((a) => a.job_id), now);
  for (const a of attempts) await b.exited(a.job_id, a.attempt, a.token, { exitCode: null, reason: null, statusReason, stoppedAt: now });
  await b.flush();
}
