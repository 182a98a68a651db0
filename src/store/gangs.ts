/**
 * The nodes of multi-node parallel jobs (see model/multinode.ts for the rules). Companion of
 * store/jobs.ts: every status write here goes through its `setStatus` or, for a gang retry,
 * through the state machine's `reopenNode`.
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
import { isFinal, reopenNode, transition, type JobStatus } from '../model/jobStateMachine.js';
import { nodeJobId, nodeSpec, type GangSpec } from '../model/multinode.js';
import { REASONS } from '../model/reasons.js';
import { shouldRetry } from '../model/retry.js';
import { failDependents, getJob, jobSpecOf, releaseDependents, setStatus, startAttempt, type JobRow, type NewJobRow } from './jobs.js';
import { toJson } from './json.js';
import type { Tx } from './unitOfWork.js';

type Reader = Tx['db'];

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

export interface NodePlacement {
  nodeIndex: number;
  instanceId: string;
  ceName: string;
  token: string;
  logStreamName: string;
  rate?: { perHour: number; pricing: string | null };
}

/** Starts the gang's next attempt: one attempt per node on its placement; the parent goes STARTING. */
export async function startGang(tx: Tx, parent: JobRow, placements: NodePlacement[], now: number): Promise<void> {
  const gang = gangOf(parent);
  let nodes = await gangNodes(tx.db, parent.id);
  if (nodes.length === 0) {
    const rows: NewJobRow[] = [];
    for (let i = 0; i < gang.numNodes; i++) {
      const spec = { ...nodeSpec(gang, i), mainNode: gang.mainNode };
      const { seq: _seq, ...base } = parent;
      rows.push({
        ...base,
        id: nodeJobId(parent.id, i),
        arn: `${parent.arn}#${i}`,
        status: 'RUNNABLE',
        status_reason: null,
        wait_code: null,
        wait_since: null,
        created_at: now,
        updated_at: now,
        runnable_at: now,
        started_at: null,
        stopped_at: null,
        spec: toJson(spec),
        depends_on: '[]',
        pending_deps: 0,
        vcpus: spec.vcpus,
        memory_mib: spec.memoryMiB,
        gpus: spec.gpus,
        consumables: null,
        attempt_count: 0,
        ce_name: null,
        instance_id: null,
        exit_code: null,
        log_stream_name: null,
        terminate_reason: null,
        stopped_by: null,
        parent_id: parent.id,
        node_index: i,
        num_nodes: gang.numNodes,
        tags: parent.tags,
      });
      tx.emit(transition(nodeJobId(parent.id, i), 'SUBMITTED', 'RUNNABLE', null, now));
    }
    for (let i = 0; i < rows.length; i += 20) await tx.db.insertInto('jobs').values(rows.slice(i, i + 20)).execute();
    nodes = await gangNodes(tx.db, parent.id);
  }
  const byIndex = new Map(nodes.map((n) => [n.node_index!, n]));
  const main = placements.find((p) => p.nodeIndex === gang.mainNode)!;
  await setStatus(tx, parent, 'STARTING', null, now, {
    attempt_count: parent.attempt_count + 1,
    ce_name: main.ceName,
    log_stream_name: main.logStreamName,
    wait_code: null,
    wait_since: null,
  });
  for (const p of placements) {
    const node = byIndex.get(p.nodeIndex)!;
    // Node attempts are numbered with the gang's: a node created late still starts at the parent's number.
    await startAttempt(tx, { ...node, attempt_count: parent.attempt_count }, p, now);
  }
}

/** The main node's process started: the job is RUNNING. */
export async function nodeRunning(tx: Tx, node: JobRow, startedAt: number, now: number): Promise<void> {
  if (node.node_index !== jobSpecOf(node).mainNode) return;
  const parent = await getJob(tx.db, node.parent_id!);
  if (parent?.status === 'STARTING') await setStatus(tx, parent, 'RUNNING', null, now, { started_at: startedAt });
}

export interface NodeEnd {
  succeeded: boolean;
  statusReason: string;
  exitCode: number | null;
  reason: string | null;
  timedOut: boolean;
  stoppedAt: number;
}

/** A node's attempt ended (its attempt row is already written). See the file comment. */
export async function nodeEnded(tx: Tx, node: JobRow, end: NodeEnd, now: number): Promise<void> {
  const parent = (await getJob(tx.db, node.parent_id!))!;
  const isMain = node.node_index === jobSpecOf(node).mainNode;
  const own = { exit_code: end.exitCode, stopped_at: end.stoppedAt };
  if (!isMain) {
    await setStatus(tx, node, end.succeeded ? 'SUCCEEDED' : 'FAILED', end.succeeded ? REASONS.essentialContainerExited : end.statusReason, now, own);
    return;
  }
  let p = parent;
  if (p.status === 'STARTING') {
    await setStatus(tx, p, 'RUNNING', null, now, { started_at: end.stoppedAt });
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
  if (live.length) {
    for (const n of live) {
      await tx.db
        .updateTable('attempts')
        .set({ status: 'FAILED', stopped_at: now, status_reason: REASONS.mainNodeExited, started_at: n.started_at ?? now })
        .where('job_id', '=', n.id)
        .where('attempt', '=', n.attempt_count)
        .execute();
    }
  }
  if (retry) {
    await setStatus(tx, node, 'RUNNABLE', null, now, { ...own, instance_id: null, ce_name: null, started_at: null });
    for (const n of others) await reopen(tx, n, now);
    await setStatus(tx, p, 'RUNNABLE', null, now, { exit_code: end.exitCode, instance_id: null, ce_name: null, started_at: null });
    return;
  }
  const outcome: JobStatus = end.succeeded ? 'SUCCEEDED' : 'FAILED';
  await setStatus(tx, node, outcome, end.succeeded ? REASONS.essentialContainerExited : end.statusReason, now, own);
  // A node stopped because its job ended shares the job's outcome: it was not its own failure.
  for (const n of live) await setStatus(tx, n, outcome, REASONS.mainNodeExited, now, { stopped_at: now });
  await setStatus(tx, p, outcome, end.succeeded ? REASONS.essentialContainerExited : end.statusReason, now, own);
  if (end.succeeded) await releaseDependents(tx, p.id, now);
  else await failDependents(tx, [p.id], now);
}

/** A node back to RUNNABLE for its gang's next attempt. */
async function reopen(tx: Tx, n: JobRow, now: number): Promise<void> {
  if (n.status === 'RUNNABLE') return;
  const set = { status: 'RUNNABLE', status_reason: null, updated_at: now, runnable_at: now, instance_id: null, ce_name: null, started_at: null, stopped_at: null };
  if (isFinal(n.status)) {
    tx.emit(reopenNode(n.id, n.status as JobStatus, now));
    await tx.db.updateTable('jobs').set(set).where('id', '=', n.id).where('status', '=', n.status).execute();
  } else {
    await setStatus(tx, n, 'RUNNABLE', null, now, { instance_id: null, ce_name: null, started_at: null });
  }
}

/** CancelJob of a gang waiting for its next attempt: its nodes fail with it. */
export async function cancelNodes(tx: Tx, parentId: string, reason: string, now: number): Promise<void> {
  for (const n of await gangNodes(tx.db, parentId)) {
    if (n.status === 'RUNNABLE') await setStatus(tx, n, 'FAILED', reason, now, { stopped_by: 'CANCEL' });
  }
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
