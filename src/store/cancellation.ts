/**
 * CancelJob and TerminateJob, as AWS Batch defines them: a job not yet placed fails with the
 * caller's reason; a placed one (STARTING, RUNNING) is terminated — the reason is recorded,
 * its agent stops the process, and the attempt's end fails the job with that reason,
 * unretried (store/attemptReports.ts). An array is stopped child by child.
 */
import { isFinal } from '../model/jobStateMachine.js';
import { jobKind } from '../model/jobKind.js';
import { nodeCancellations, terminateNodes } from './gangs.js';
import { getJob, type JobRow } from './jobs.js';
import { applyTransitions, failUnbornChildren, settle, type Transition } from './transitions.js';
import type { Tx } from './unitOfWork.js';

/**
 * CancelJob: SUBMITTED, PENDING and RUNNABLE jobs fail with the caller's reason (and their
 * dependents with "Dependent Job failed"). STARTING/RUNNING jobs are left alone, as AWS does.
 * Returns whether the job was cancelled.
 */
export async function cancelJob(tx: Tx, job: Pick<JobRow, 'id' | 'status'>, reason: string, now: number): Promise<boolean> {
  if (!['SUBMITTED', 'PENDING', 'RUNNABLE'].includes(job.status)) return false;
  const full = (await getJob(tx.db, job.id))!;
  const kind = jobKind(full);
  if (kind === 'arrayParent') {
    await stopArray(tx, full, reason, 'CANCEL', now);
    return true;
  }
  const changes: Transition[] = [{ job: full, to: 'FAILED', statusReason: reason, set: { stopped_by: 'CANCEL' } }];
  if (kind === 'gangParent') changes.push(...(await nodeCancellations(tx, full.id, reason)));
  await applyTransitions(tx, changes, now);
  return true;
}

const WAITING_BATCH = 500;

/**
 * Cancel or terminate an array: children not yet started fail with the reason (those never
 * created are created FAILED, so every index has an answer), running ones are terminated
 * when `how` is TERMINATE. The parent ends when its last child does.
 */
async function stopArray(tx: Tx, parent: JobRow, reason: string, how: 'CANCEL' | 'TERMINATE', now: number): Promise<string[]> {
  await tx.db.updateTable('jobs').set({ stopped_by: how, terminate_reason: reason, updated_at: now }).where('id', '=', parent.id).execute();
  if (parent.status === 'SUBMITTED') await applyTransitions(tx, [{ job: parent, to: 'PENDING', statusReason: null, set: { pending_deps: 0 } }], now);
  const instances: string[] = [];
  for (;;) {
    const waiting = (await tx.db
      .selectFrom('jobs')
      .select(['id', 'status', 'parent_id', 'array_size', 'num_nodes', 'node_index'])
      .where('parent_id', '=', parent.id)
      .where('status', 'in', ['SUBMITTED', 'PENDING', 'RUNNABLE'])
      .limit(WAITING_BATCH)
      .execute()) as Pick<JobRow, 'id' | 'status' | 'parent_id' | 'array_size' | 'num_nodes' | 'node_index'>[];
    if (waiting.length === 0) break;
    await applyTransitions(tx, waiting.map((c) => ({ job: c, to: 'FAILED', statusReason: reason, set: { stopped_by: how } })), now);
  }
  if (how === 'TERMINATE') {
    const running = await tx.db
      .selectFrom('jobs')
      .select(['id', 'instance_id'])
      .where('parent_id', '=', parent.id)
      .where('status', 'in', ['STARTING', 'RUNNING'])
      .execute();
    if (running.length) {
      await tx.db.updateTable('jobs').set({ terminate_reason: reason, stopped_by: how, updated_at: now }).where('id', 'in', running.map((r) => r.id)).execute();
      for (const r of running) if (r.instance_id) instances.push(r.instance_id);
    }
  }
  await settle(tx, await failUnbornChildren(tx, parent.id, reason, now), now);
  return instances;
}

/**
 * TerminateJob: cancels a job not yet placed; for STARTING/RUNNING records the reason so the
 * agent stops the process and the attempt's end fails the job with that reason, unretried.
 * Returns 'cancelled', 'terminating', 'final', or the instances to wake (arrays, gangs).
 */
export async function terminateJob(
  tx: Tx,
  job: Pick<JobRow, 'id' | 'status'>,
  reason: string,
  now: number,
): Promise<'cancelled' | 'terminating' | 'final' | { instances: string[] }> {
  const full = (await getJob(tx.db, job.id))!;
  const kind = jobKind(full);
  if (kind === 'arrayParent') {
    if (isFinal(full.status)) return 'final';
    return { instances: await stopArray(tx, full, reason, 'TERMINATE', now) };
  }
  if (await cancelJob(tx, full, reason, now)) return 'cancelled';
  if (full.status !== 'STARTING' && full.status !== 'RUNNING') return 'final';
  await tx.db.updateTable('jobs').set({ terminate_reason: reason, stopped_by: 'TERMINATE', updated_at: now }).where('id', '=', job.id).execute();
  if (kind === 'gangParent') return { instances: await terminateNodes(tx, full.id, reason, now) };
  return 'terminating';
}
