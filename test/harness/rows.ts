/**
 * Job rows for store-level tests, built fluently:
 *   row('a').build()                        a plain job, SUBMITTED
 *   row('b').dependsOn('a').build()         waiting on `a` (pending_deps counts it)
 *   row('arr').array(4).build()             an array parent of 4
 * and put in a store with their dependency edges (`put`), then driven through legal
 * transitions (`drive`), as the control plane would.
 */
import { toJson } from '../../src/store/json.js';
import { applyTransitions, createJobs, insertEdges } from '../../src/store/transitions.js';
import type { JobStatus } from '../../src/model/jobStateMachine.js';
import { getJob, newJobRow } from '../../src/store/jobs.js';
import type { TestStore } from './store.js';

export const T0 = 1_800_000_000_000;

export function row(id: string) {
  const r = newJobRow({
    id,
    arn: `arn:aws:batch:us-east-1:000000000000:job/${id}`,
    name: id,
    queue: 'q',
    queue_arn: 'arn:aws:batch:us-east-1:000000000000:job-queue/q',
    definition_arn: 'arn:aws:batch:us-east-1:000000000000:job-definition/d:1',
    created_at: T0,
    spec: toJson({ jobDefinitionName: 'd', command: ['true'], environment: [], vcpus: 1, memoryMiB: 64, gpus: 0, resourceRequirements: [] }),
    vcpus: 1,
    memory_mib: 64,
    gpus: 0,
  });
  const deps: { jobId: string; type: string | null }[] = [];
  const b = {
    /** waits on these jobs (SubmitJob's dependsOn) */
    dependsOn(...ids: string[]) {
      for (const d of ids) deps.push({ jobId: d, type: null });
      r.depends_on = toJson(deps.map((d) => ({ jobId: d.jobId })));
      r.pending_deps = deps.length;
      return b;
    },
    /** in this queue */
    queue(name: string) {
      r.queue = name;
      return b;
    },
    /** asks this many vCPUs */
    vcpus(n: number) {
      r.vcpus = n;
      return b;
    },
    /** of a fair-share queue: its share and scheduling priority */
    share(id: string, priority = 0) {
      r.share_identifier = id;
      r.scheduling_priority = priority;
      return b;
    },
    /** an array parent of `size` children, none created yet */
    array(size: number) {
      Object.assign(r, { array_size: size, array_materialized: 0, array_succeeded: 0, array_failed: 0 });
      return b;
    },
    build: () => ({ row: r, deps }),
  };
  return b;
}

/** Inserts jobs (SUBMITTED, as SubmitJob does) with their dependency edges. */
export async function put(ts: TestStore, ...jobs: ReturnType<ReturnType<typeof row>['build']>[]): Promise<void> {
  await ts.uow.write(async (tx) => {
    await createJobs(tx, jobs.map((j) => j.row), T0);
    await insertEdges(tx, jobs.flatMap((j) => j.deps.map((d) => ({ job_id: j.row.id, depends_on_id: d.jobId, type: d.type }))));
  });
}

/** Moves a job through `path` (legal steps from its current status), one transition batch. */
export async function drive(ts: TestStore, id: string, ...path: JobStatus[]): Promise<void> {
  await ts.uow.write(async (tx) => {
    let status = (await getJob(tx.db, id))!.status;
    const changes = path.map((to) => {
      const c = { job: { id, status }, to, statusReason: null };
      status = to;
      return c;
    });
    await applyTransitions(tx, changes, T0);
  });
}

/** The status of each job, by id. */
export async function statuses(ts: TestStore, ...ids: string[]): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const id of ids) out[id] = (await getJob(ts.store.db, id))?.status;
  return out;
}
