/**
 * Taking back work queued on an agent (scheduler/schedule.ts, step 9). An attempt placed on an
 * instance beyond its room waits there, STARTING, until room frees on that agent. When a job
 * that should run before it is placed on the same instance, the scheduler takes it back:
 *
 *   not yet handed to its agent  withdrawn at once, in the pass's own transaction;
 *   handed out                   asked for (`withdraw_at`): the agent's next poll answer says
 *                                so, and the agent gives it up if it has not started it (its
 *                                `withdrawn` report, store/attemptReports.ts) or runs it if it
 *                                had already started it, in which case nothing changes here.
 *
 * A withdrawn attempt never ran: its row and its (empty) log stream are deleted, and its job
 * goes back to RUNNABLE with the attempt count, instance and log stream it had before, so
 * neither attempts[] nor the retry strategy ever see it. Its sequence number is kept: it is
 * again first among what follows it in its queue.
 *
 * The conditional DELETE is what makes "not yet handed out" safe on PostgreSQL, where a poll
 * of another server may be marking the attempt delivered at the same moment: whichever
 * statement comes second finds the row changed and does nothing, and the attempt is then
 * asked for instead.
 */
import { DEFAULT_LOG_GROUP, dropEmptyLogStream } from './logEvents.js';
import { FixedStatement, InListStatement } from './statementCache.js';
import { applyTransitions, type Transition } from './transitions.js';
import type { Tx } from './unitOfWork.js';

/** A queued attempt to take back: its job and the instance it waits on. */
export interface WithdrawalRef {
  jobId: string;
  instanceId: string;
}

/** An attempt given up before it ran, with what must be deleted of it. */
export interface Withdrawn {
  jobId: string;
  attempt: number;
  logGroup: string | null;
  logStream: string;
}

const CURRENT = "(SELECT attempt_count FROM jobs WHERE id = ? AND status = 'STARTING' AND terminate_reason IS NULL)";
const DELETE_UNDELIVERED = new FixedStatement<{ attempt: number; log_stream_name: string; log_group: string | null }>(
  `DELETE FROM attempts WHERE job_id = ? AND instance_id = ? AND status = 'STARTING' AND delivered_at IS NULL AND attempt = ${CURRENT} RETURNING attempt, log_stream_name, log_group`,
);
const ASK = new FixedStatement<never>(`UPDATE attempts SET withdraw_at = ? WHERE job_id = ? AND instance_id = ? AND status = 'STARTING' AND withdraw_at IS NULL AND attempt = ${CURRENT}`);
const DELETE_ASKED = new FixedStatement<{ log_stream_name: string; log_group: string | null }>(
  "DELETE FROM attempts WHERE job_id = ? AND attempt = ? AND status = 'STARTING' AND withdraw_at IS NOT NULL RETURNING log_stream_name, log_group",
);
const DELETE_STARTING = new FixedStatement<{ log_stream_name: string; log_group: string | null }>(
  "DELETE FROM attempts WHERE job_id = ? AND attempt = ? AND status = 'STARTING' RETURNING log_stream_name, log_group",
);
const EARLIER_STREAMS = new InListStatement((list) => `SELECT job_id, attempt, log_stream_name FROM attempts WHERE job_id IN (${list})`);

/**
 * Takes back queued attempts as the scheduler's plan says: withdrawn at once where their agent
 * does not have them yet, asked for where it does. Answers the instances whose agents were
 * asked (to be woken).
 */
export async function withdrawQueued(tx: Tx, refs: readonly WithdrawalRef[], now: number): Promise<Set<string>> {
  const asked = new Set<string>();
  const withdrawn: Withdrawn[] = [];
  for (const r of refs) {
    const [gone] = await DELETE_UNDELIVERED.run(tx.db, [r.jobId, r.instanceId, r.jobId]);
    if (gone) {
      withdrawn.push({ jobId: r.jobId, attempt: Number(gone.attempt), logGroup: gone.log_group, logStream: gone.log_stream_name });
      continue;
    }
    if ((await ASK.exec(tx.db, [now, r.jobId, r.instanceId, r.jobId])) > 0) asked.add(r.instanceId);
  }
  await backToRunnable(tx, withdrawn, now);
  return asked;
}

/**
 * Deletes an attempt that never ran (checked by the caller: current, fenced, STARTING): one
 * its agent gave up when asked, or (`asked` false) one whose assignment never reached its
 * agent. Answers what else must go with it, or undefined when it was not asked for.
 */
export async function deleteGivenBack(tx: Tx, jobId: string, attempt: number, asked: boolean): Promise<Withdrawn | undefined> {
  const [gone] = await (asked ? DELETE_ASKED : DELETE_STARTING).run(tx.db, [jobId, attempt]);
  return gone ? { jobId, attempt, logGroup: gone.log_group, logStream: gone.log_stream_name } : undefined;
}

/** The jobs of deleted attempts go back to RUNNABLE as they were before the attempt was placed. */
export async function backToRunnable(tx: Tx, withdrawn: readonly Withdrawn[], now: number): Promise<void> {
  if (withdrawn.length === 0) return;
  // The job row names its latest attempt's stream: the one before the withdrawn attempt, if any.
  const earlier = new Map<string, { attempt: number; stream: string }>();
  const retried = withdrawn.filter((w) => w.attempt > 1);
  if (retried.length) {
    const by = new Map(retried.map((w) => [w.jobId, w.attempt]));
    for (const r of await EARLIER_STREAMS.all<{ job_id: string; attempt: number; log_stream_name: string }>(tx.db, [...by.keys()])) {
      const attempt = Number(r.attempt);
      const e = earlier.get(r.job_id);
      if (attempt < by.get(r.job_id)! && (!e || attempt > e.attempt)) earlier.set(r.job_id, { attempt, stream: r.log_stream_name });
    }
  }
  const changes: Transition[] = [];
  for (const w of withdrawn) {
    await dropEmptyLogStream(tx.db, w.logGroup ?? DEFAULT_LOG_GROUP, w.logStream);
    changes.push({
      job: { id: w.jobId, status: 'STARTING' },
      to: 'RUNNABLE',
      statusReason: null,
      set: { attempt_count: w.attempt - 1, instance_id: null, ce_name: null, log_stream_name: earlier.get(w.jobId)?.stream ?? null },
    });
  }
  await applyTransitions(tx, changes, now);
}
