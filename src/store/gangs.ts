/**
 * The nodes of multi-node parallel jobs (see model/multinode.ts for the rules). Every status
 * change here is a transition applied by store/transitions.ts; a gang retry reopens nodes
 * that had ended, the state machine's one exception (`reopen`).
 *
 *   placement   the scheduler placed the whole gang: node rows are created on the first
 *               attempt (RUNNABLE, then STARTING at once); the parent goes STARTING.
 *   main RUNNING → the parent is RUNNING.
 *   a node ends → its own SUCCEEDED/FAILED by its exit; nothing else, unless it is the main
 *               node: then every other node still placed is stopped (its attempt ends now, its
 *               agent kills the process at its next poll) and the parent either ends as the
 *               main node did or, when its retry strategy says so, goes back to RUNNABLE with
 *               every node, to be placed again as one gang.
 */
import type { GangSpec } from '../model/jobSpec.js';
import { nodeJobId, nodeSpec } from '../model/multinode.js';
import { isFinal, type JobStatus } from '../model/jobStateMachine.js';
import { REASONS } from '../model/reasons.js';
import { shouldRetry } from '../model/retry.js';
import { getJob, jobSpecOf, newJobRow, type JobRow, type NewJobRow, type Reader } from './jobs.js';
import { toJson } from './json.js';
import { newAttempt, type Placement } from './placement.js';
import { applyTransitions, createJobs, type Transition } from './transitions.js';
import type { Tx } from './unitOfWork.js';

export function isGangParent(job: Pick<JobRow, 'num_nodes' | 'node_index'>): boolean {
  return job.num_nodes !== null && job.node_index === null;
}

export function gangOf(parent: Pick<JobRow, 'spec'>): GangSpec {
  const gang = jobSpecOf(parent).gang;
  if (!gang) throw new Error('internal: a multi-node parent without its gang spec');
  return gang;
}

/** The node rows of a gang, by index (only those created so far). */
export async function gangNodes(db: Reader, parentId: string): Promise<JobRow[]> {
  return (await db.selectFrom('jobs').selectAll().where('parent_id', '=', parentId).where('node_index', 'is not', null).orderBy('node_index').execute()) as JobRow[];
}

/** Where one node of a gang runs. */
export interface NodePlacement extends Placement {
  nodeIndex: number;
}

/** Starts the gang's next attempt: one attempt per node on its placement; the parent goes STARTING. */
export async function startGang(tx: Tx, parent: JobRow, placements: NodePlacement[], now: number): Promise<void> {
  const gang = gangOf(parent);
  let nodes = await gangNodes(tx.db, parent.id);
  if (nodes.length === 0) {
    const rows: NewJobRow[] = [];
    for (let i = 0; i < gang.numNodes; i++) {
      const spec = { ...nodeSpec(gang, i), mainNode: gang.mainNode };
      rows.push(
        newJobRow({
          id: nodeJobId(parent.id, i),
          arn: `${parent.arn}#${i}`,
          name: parent.name,
          queue: parent.queue,
          queue_arn: parent.queue_arn,
          definition_arn: parent.definition_arn,
          created_at: now,
          spec: toJson(spec),
          vcpus: spec.vcpus,
          memory_mib: spec.memoryMiB,
          gpus: spec.gpus,
          status: 'RUNNABLE',
          runnable_at: now,
          share_identifier: parent.share_identifier,
          scheduling_priority: parent.scheduling_priority,
          max_attempts: parent.max_attempts,
          timeout_seconds: parent.timeout_seconds,
          parent_id: parent.id,
          node_index: i,
          num_nodes: gang.numNodes,
          tags: parent.tags,
        }),
      );
    }
    await createJobs(tx, rows, now);
    nodes = await gangNodes(tx.db, parent.id);
  }
  const byIndex = new Map(nodes.map((n) => [n.node_index!, n]));
  const main = placements.find((p) => p.nodeIndex === gang.mainNode)!;
  const changes: Transition[] = [
    {
      job: parent,
      to: 'STARTING',
      statusReason: null,
      set: { attempt_count: parent.attempt_count + 1, ce_name: main.ceName, log_stream_name: main.logStreamName, wait_code: null, wait_since: null },
    },
  ];
  for (const p of placements) {
    const node = byIndex.get(p.nodeIndex)!;
    // Node attempts are numbered with the gang's: a node created late still starts at the parent's number.
    changes.push(await newAttempt(tx, { ...node, attempt_count: parent.attempt_count }, p, now));
  }
  await applyTransitions(tx, changes, now);
}

function isMainNode(node: JobRow): boolean {
  return node.node_index === jobSpecOf(node).mainNode;
}

/** A node's process started (its attempt row is already written): the node is RUNNING, and the job with its main node. */
export async function nodeStarted(tx: Tx, node: JobRow, startedAt: number, now: number): Promise<void> {
  const changes: Transition[] = [{ job: node, to: 'RUNNING', statusReason: null, set: { started_at: startedAt } }];
  if (isMainNode(node)) {
    const parent = await getJob(tx.db, node.parent_id!);
    if (parent?.status === 'STARTING') changes.push({ job: parent, to: 'RUNNING', statusReason: null, set: { started_at: startedAt } });
  }
  await applyTransitions(tx, changes, now);
}

/** How a node's attempt ended. */
export interface NodeEnd {
  succeeded: boolean;
  statusReason: string;
  exitCode: number | null;
  reason: string | null;
  timedOut: boolean;
  stoppedAt: number;
}

/**
 * A node's attempt ended (its attempt row is already written); the node may still be
 * STARTING when its process ended before its RUNNING report. See the file comment.
 */
export async function nodeEnded(tx: Tx, node: JobRow, end: NodeEnd, now: number): Promise<void> {
  const changes: Transition[] = [];
  let n0 = node;
  if (node.status === 'STARTING') {
    // The process ended before its RUNNING report was applied: RUNNING first, as AWS shows it.
    changes.push({ job: node, to: 'RUNNING', statusReason: null, set: { started_at: end.stoppedAt } });
    n0 = { ...node, status: 'RUNNING' };
  }
  const own = { exit_code: end.exitCode, stopped_at: end.stoppedAt };
  const outcome: JobStatus = end.succeeded ? 'SUCCEEDED' : 'FAILED';
  const ownReason = end.succeeded ? REASONS.essentialContainerExited : end.statusReason;
  if (!isMainNode(node)) {
    changes.push({ job: n0, to: outcome, statusReason: ownReason, set: own });
    await applyTransitions(tx, changes, now);
    return;
  }
  let p = (await getJob(tx.db, node.parent_id!))!;
  if (p.status === 'STARTING') {
    changes.push({ job: p, to: 'RUNNING', statusReason: null, set: { started_at: end.stoppedAt } });
    p = { ...p, status: 'RUNNING' };
  }
  const retry =
    !end.succeeded &&
    shouldRetry(jobSpecOf(p).retryStrategy, p.attempt_count, {
      exitCode: end.exitCode,
      reason: end.reason,
      statusReason: end.statusReason,
      terminatedByUser: p.terminate_reason !== null || node.terminate_reason !== null,
      timedOut: end.timedOut,
    });
  // The other nodes still placed stop now: their attempts end, their agents stop the processes.
  const others = (await gangNodes(tx.db, p.id)).filter((n) => n.id !== node.id);
  const live = others.filter((n) => n.status === 'STARTING' || n.status === 'RUNNING');
  for (const n of live) {
    await tx.db
      .updateTable('attempts')
      .set({ status: 'FAILED', stopped_at: now, status_reason: REASONS.mainNodeExited, started_at: n.started_at ?? now })
      .where('job_id', '=', n.id)
      .where('attempt', '=', n.attempt_count)
      .execute();
  }
  const unplaced = { instance_id: null, ce_name: null, started_at: null };
  if (retry) {
    changes.push({ job: n0, to: 'RUNNABLE', statusReason: null, set: { ...own, ...unplaced } });
    for (const n of others) {
      if (n.status === 'RUNNABLE') continue;
      // A node that had ended is reopened: the state machine's one exception.
      if (isFinal(n.status)) changes.push({ job: n, to: 'RUNNABLE', statusReason: null, set: { ...unplaced, stopped_at: null }, reopen: true });
      else changes.push({ job: n, to: 'RUNNABLE', statusReason: null, set: unplaced });
    }
    changes.push({ job: p, to: 'RUNNABLE', statusReason: null, set: { exit_code: end.exitCode, ...unplaced } });
  } else {
    changes.push({ job: n0, to: outcome, statusReason: ownReason, set: own });
    // A node stopped because its job ended shares the job's outcome: it was not its own failure.
    for (const n of live) changes.push({ job: n, to: outcome, statusReason: REASONS.mainNodeExited, set: { stopped_at: now } });
    // The job's end releases or fails its dependents (the writer follows it).
    changes.push({ job: p, to: outcome, statusReason: ownReason, set: own });
  }
  await applyTransitions(tx, changes, now);
}

/** CancelJob of a gang waiting for its next attempt: its nodes fail with it. */
export async function nodeCancellations(tx: Tx, parentId: string, reason: string): Promise<Transition[]> {
  return (await gangNodes(tx.db, parentId)).filter((n) => n.status === 'RUNNABLE').map((n) => ({ job: n, to: 'FAILED', statusReason: reason, set: { stopped_by: 'CANCEL' } }));
}

/** TerminateJob of a placed gang: every live node is terminated; the main node's end ends the job. Returns their instances. */
export async function terminateNodes(tx: Tx, parentId: string, reason: string, now: number): Promise<string[]> {
  const live = (await gangNodes(tx.db, parentId)).filter((n) => n.status === 'STARTING' || n.status === 'RUNNING');
  if (live.length === 0) return [];
  await tx.db
    .updateTable('jobs')
    .set({ terminate_reason: reason, stopped_by: 'TERMINATE', updated_at: now })
    .where('id', 'in', live.map((n) => n.id))
    .execute();
  return live.map((n) => n.instance_id).filter((i): i is string => !!i);
}
