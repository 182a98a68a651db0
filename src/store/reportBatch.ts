/**
 * An agent's batch of `started` and `exited` reports, applied set-wise. The transitions are
 * those of `markRunning` and `finishAttempt` (store/jobs.ts), which apply one report at a time:
 * each reads the attempt and the whole job row, and writes both, with statements built by
 * Kysely. Here one query reads the fencing columns of every attempt of the batch, the tokens
 * and states are checked in memory, and each job and attempt touched is written once, at the
 * end, with fixed SQL: a job that started and exited within one batch costs two UPDATEs, not
 * nine statements. Events are emitted in report order, as the one-by-one path emits them.
 *
 * Only the common path is done here: a job's start, and its success. Anything else — the
 * nodes of a multi-node job, an attempt that failed, timed out or was terminated (retry
 * strategy, dependents failed) — first writes out everything pending, so the database is what
 * the reports so far made it, and then goes through `markRunning`/`finishAttempt` as before;
 * later reports of that job in the batch do too.
 *
 * The work that follows a success is gathered: array parents count their finished children
 * once per batch (`childFinished` with the sums), and dependents are released for the jobs
 * that have any, found with one query.
 */
import { isFinal, transition } from '../model/jobStateMachine.js';
import { REASONS } from '../model/reasons.js';
import { FixedStatement, InListStatement } from './statementCache.js';
import { childFinished, finishAttempt, markRunning, releaseDependents, type AttemptEnd } from './jobs.js';
import type { Tx } from './unitOfWork.js';

/** The columns the fencing check and the two transitions read and write, of a job's current attempt. */
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
  node_index: number | null;
  terminate_reason: string | null;
  parent_id: string | null;
  started_at: number | null;
  stopped_at: number | null;
  exit_code: number | null;
  status_reason: string | null;
}

const READ = new InListStatement(
  (list) =>
    'SELECT a.job_id, a.attempt, a.token, a.status AS a_status, a.instance_id, a.started_at AS a_started_at, a.stopped_at AS a_stopped_at,' +
    ' a.exit_code AS a_exit_code, a.reason AS a_reason, a.status_reason AS a_status_reason,' +
    ' j.status, j.node_index, j.terminate_reason, j.parent_id, j.started_at, j.stopped_at, j.exit_code, j.status_reason' +
    ` FROM jobs j JOIN attempts a ON a.job_id = j.id AND a.attempt = j.attempt_count WHERE j.id IN (${list})`,
);
const WRITE_JOB = new FixedStatement<never>('UPDATE jobs SET status = ?, status_reason = ?, updated_at = ?, started_at = ?, stopped_at = ?, exit_code = ? WHERE id = ? AND status = ?');
const WRITE_ATTEMPT = new FixedStatement<never>('UPDATE attempts SET status = ?, started_at = ?, stopped_at = ?, exit_code = ?, reason = ?, status_reason = ? WHERE job_id = ? AND attempt = ?');
const HAS_DEPENDENTS = new InListStatement((list) => `SELECT DISTINCT depends_on_id FROM job_dependencies WHERE depends_on_id IN (${list})`);

interface Entry {
  row: Current;
  /** the job's status in the database (the UPDATE's guard) */
  stored: string;
  jobDirty: boolean;
  attemptDirty: boolean;
}

export class ReportBatch {
  /** current attempts by job id, as the reports so far left them; absent: none (stale) */
  private readonly current = new Map<string, Entry>();
  /** jobs that went the one-by-one way: their later reports do too */
  private readonly slow = new Set<string>();
  private readonly dirty: Entry[] = [];
  private readonly finishedChildren = new Map<string, { succeeded: number; failed: number }>();
  private readonly succeeded: string[] = [];

  private constructor(
    private readonly tx: Tx,
    private readonly now: number,
    private readonly instanceId: string,
  ) {}

  /** Reads the current attempts of the jobs the batch reports on. */
  static async load(tx: Tx, jobIds: string[], now: number, instanceId: string): Promise<ReportBatch> {
    const b = new ReportBatch(tx, now, instanceId);
    const ids = [...new Set(jobIds)];
    if (ids.length) {
      for (const r of await READ.all<Current>(tx.db, ids)) {
        b.current.set(r.job_id, { row: { ...r, attempt: Number(r.attempt) }, stored: r.status, jobDirty: false, attemptDirty: false });
      }
    }
    return b;
  }

  /** The fencing check of `fencedAttempt`, on the batch's view. */
  private fenced(jobId: string, attempt: number, token: string): Entry | undefined {
    const e = this.current.get(jobId);
    if (!e) return undefined;
    const r = e.row;
    if (r.attempt !== attempt || r.token !== token) return undefined;
    if (isFinal(r.a_status)) return undefined;
    if (r.instance_id !== this.instanceId) return undefined;
    if (r.status !== 'STARTING' && r.status !== 'RUNNING') return undefined;
    return e;
  }

  private touch(e: Entry, job: boolean, attempt: boolean): void {
    if (!e.jobDirty && !e.attemptDirty) this.dirty.push(e);
    e.jobDirty ||= job;
    e.attemptDirty ||= attempt;
  }

  private toRunning(e: Entry, startedAt: number): void {
    const r = e.row;
    this.tx.emit(transition(r.job_id, r.status as 'STARTING', 'RUNNING', null, this.now));
    r.status = 'RUNNING';
    r.status_reason = null;
    r.started_at = startedAt;
    this.touch(e, true, false);
  }

  /** `markRunning` for this batch. Returns false when the report is stale. */
  async started(jobId: string, attempt: number, token: string, startedAt: number): Promise<boolean> {
    if (this.slow.has(jobId) || this.current.get(jobId)?.row.node_index != null) {
      return this.oneByOne(jobId, () => markRunning(this.tx, jobId, attempt, token, startedAt, this.now, this.instanceId));
    }
    const e = this.fenced(jobId, attempt, token);
    if (!e) return false;
    if (e.row.status === 'RUNNING') return true;
    e.row.a_status = 'RUNNING';
    e.row.a_started_at = startedAt;
    this.touch(e, false, true);
    this.toRunning(e, startedAt);
    return true;
  }

  /** `finishAttempt` for this batch. Returns false when the report is stale. */
  async exited(jobId: string, attempt: number, token: string, end: AttemptEnd): Promise<boolean> {
    const e0 = this.current.get(jobId);
    const common = !this.slow.has(jobId) && e0 !== undefined && e0.row.node_index === null && end.exitCode === 0 && !end.timedOut && !end.statusReason && !e0.row.terminate_reason;
    if (!common) return this.oneByOne(jobId, () => finishAttempt(this.tx, jobId, attempt, token, end, this.now, this.instanceId));
    const e = this.fenced(jobId, attempt, token);
    if (!e) return false;
    const r = e.row;
    if (r.status === 'STARTING') {
      // The process ended before its RUNNING report was applied: RUNNING first, as AWS shows it.
      this.toRunning(e, end.stoppedAt);
    }
    r.a_started_at = r.a_started_at ?? end.stoppedAt;
    r.a_status = 'SUCCEEDED';
    r.a_stopped_at = end.stoppedAt;
    r.a_exit_code = end.exitCode;
    r.a_reason = end.reason;
    r.a_status_reason = null;
    this.tx.emit(transition(jobId, 'RUNNING', 'SUCCEEDED', REASONS.essentialContainerExited, this.now));
    r.status = 'SUCCEEDED';
    r.status_reason = REASONS.essentialContainerExited;
    r.exit_code = end.exitCode;
    r.stopped_at = end.stoppedAt ?? this.now;
    this.touch(e, true, true);
    if (r.parent_id) {
      const c = this.finishedChildren.get(r.parent_id) ?? { succeeded: 0, failed: 0 };
      c.succeeded++;
      this.finishedChildren.set(r.parent_id, c);
    }
    this.succeeded.push(jobId);
    return true;
  }

  /** A report the batch does not apply itself: the database first catches up with the batch. */
  private async oneByOne(jobId: string, apply: () => Promise<boolean>): Promise<boolean> {
    await this.flush();
    this.slow.add(jobId);
    return apply();
  }

  /** Writes what the reports so far changed, then the array roll-ups and released dependents. */
  async flush(): Promise<void> {
    const db = this.tx.db;
    for (const e of this.dirty.splice(0)) {
      const r = e.row;
      if (e.attemptDirty) {
        await WRITE_ATTEMPT.run(db, [r.a_status, r.a_started_at, r.a_stopped_at, r.a_exit_code, r.a_reason, r.a_status_reason, r.job_id, r.attempt]);
      }
      if (e.jobDirty) {
        await WRITE_JOB.run(db, [r.status, r.status_reason, this.now, r.started_at, r.stopped_at, r.exit_code, r.job_id, e.stored]);
        e.stored = r.status;
      }
      e.jobDirty = e.attemptDirty = false;
    }
    const parents = [...this.finishedChildren];
    this.finishedChildren.clear();
    for (const [parentId, c] of parents) await childFinished(this.tx, parentId, c.succeeded, c.failed, this.now);
    const succeeded = this.succeeded.splice(0);
    if (succeeded.length) {
      const withDependents = new Set((await HAS_DEPENDENTS.all<{ depends_on_id: string }>(db, succeeded)).map((d) => d.depends_on_id));
      for (const id of succeeded) if (withDependents.has(id)) await releaseDependents(this.tx, id, this.now);
    }
  }
}
