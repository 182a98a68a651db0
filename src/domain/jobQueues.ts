/**
 * The job queue operations — CreateJobQueue, UpdateJobQueue, DeleteJobQueue — with the AWS
 * SDK's own request and response types, each resolve → decide → apply. The request's shape
 * was checked before (api/validate/); the AWS wire format is api/'s.
 */
import type {
  ComputeEnvironmentOrder,
  CreateJobQueueRequest,
  CreateJobQueueResponse,
  DeleteJobQueueRequest,
  DeleteJobQueueResponse,
  UpdateJobQueueRequest,
  UpdateJobQueueResponse,
} from '@aws-sdk/client-batch';
import { makeArn, type ArnScope } from '../model/arn.js';
import { Conflict, Invalid } from '../model/errors.js';
import { cancelJob, terminateJob } from '../store/cancellation.js';
import { computeResourcesOf } from '../store/computeEnvironments.js';
import { listJobs } from '../store/jobs.js';
import { deleteJobQueue as deleteInStore, getJobQueue, insertJobQueue, updateJobQueue as updateInStore, type CeOrderEntry, type NewJobQueue } from '../store/jobQueues.js';
import { lookupsChanged } from '../store/lookupCache.js';
import type { Db } from '../store/db.js';
import { isFargate } from '../model/fargateSizes.js';
import { disabledFirst } from './computeEnvironments.js';
import type { JobServices } from './jobs.js';
import { findComputeEnvironment, findJobQueue, findSchedulingPolicy } from './resolve.js';

const NO_SERVICE_ENVIRONMENTS = 'serviceEnvironmentOrder is not supported: openbatch has no SageMaker service environments';

/** A queue's computeEnvironmentOrder, each named once, each VALID, not mixing Fargate with EC2/SPOT; by order. */
async function resolveOrder(db: Db, order: ComputeEnvironmentOrder[]): Promise<CeOrderEntry[]> {
  const out: CeOrderEntry[] = [];
  const kinds = new Set<string>();
  for (const [i, o] of order.entries()) {
    const ce = await findComputeEnvironment(db, o.computeEnvironment!, `computeEnvironmentOrder[${i}].computeEnvironment`);
    // The validator compares the strings; a name and an ARN can still name the same one.
    const twice = out.findIndex((x) => x.computeEnvironment === ce.name);
    if (twice >= 0) {
      throw new Invalid(
        `computeEnvironmentOrder[${i}].computeEnvironment '${o.computeEnvironment}' names compute environment '${ce.name}', as computeEnvironmentOrder[${twice}] does: each may appear once`,
      );
    }
    if (ce.status !== 'VALID') throw new Conflict(`computeEnvironmentOrder[${i}].computeEnvironment '${ce.name}' is ${ce.status}; it must be VALID`);
    kinds.add(isFargate(computeResourcesOf(ce)?.type) ? 'FARGATE' : 'EC2');
    out.push({ order: o.order!, computeEnvironment: ce.name });
  }
  if (kinds.size > 1) throw new Invalid('computeEnvironmentOrder cannot mix Fargate and EC2/SPOT compute environments in one job queue');
  return out.sort((a, b) => a.order - b.order);
}

export async function createJobQueue(s: JobServices, scope: ArnScope, input: CreateJobQueueRequest): Promise<CreateJobQueueResponse> {
  const name = input.jobQueueName!;
  if (input.serviceEnvironmentOrder?.length) throw new Invalid(`${NO_SERVICE_ENVIRONMENTS}; use computeEnvironmentOrder`);
  if (!input.computeEnvironmentOrder?.length) throw new Invalid('computeEnvironmentOrder is required (1 to 3 compute environments)');
  if (await getJobQueue(s.db, name)) throw new Conflict(`jobQueueName '${name}' already exists`);
  const order = await resolveOrder(s.db, input.computeEnvironmentOrder);
  const policy = input.schedulingPolicyArn ? await findSchedulingPolicy(s.db, input.schedulingPolicyArn) : undefined;
  const now = s.clock.now();
  const row: NewJobQueue = {
    name,
    arn: makeArn(scope, 'job-queue', name),
    state: input.state ?? 'ENABLED',
    status: 'VALID',
    status_reason: 'JobQueue Healthy',
    priority: input.priority!,
    ce_order: order,
    scheduling_policy_arn: policy?.arn ?? null,
    time_limit_actions: input.jobStateTimeLimitActions ?? [],
    tags: input.tags ?? {},
    created_at: now,
    updated_at: now,
  };
  await insertJobQueue(s.db, row);
  return { jobQueueName: name, jobQueueArn: row.arn };
}

export async function updateJobQueue(s: JobServices, input: UpdateJobQueueRequest): Promise<UpdateJobQueueResponse> {
  const row = await findJobQueue(s.db, input.jobQueue!);
  const patch: Partial<NewJobQueue> = { updated_at: s.clock.now() };
  if (input.state) patch.state = input.state;
  if (input.priority !== undefined) patch.priority = input.priority;
  if (input.computeEnvironmentOrder) {
    if (input.computeEnvironmentOrder.length === 0) throw new Invalid('computeEnvironmentOrder must name 1 to 3 compute environments');
    patch.ce_order = await resolveOrder(s.db, input.computeEnvironmentOrder);
  }
  if (input.schedulingPolicyArn !== undefined) {
    if (!row.scheduling_policy_arn) {
      throw new Conflict(`jobQueue '${row.name}' was created without a scheduling policy (FIFO); a fair-share policy can only be set when the queue is created`);
    }
    patch.scheduling_policy_arn = (await findSchedulingPolicy(s.db, input.schedulingPolicyArn)).arn;
  }
  if (input.jobStateTimeLimitActions) patch.time_limit_actions = input.jobStateTimeLimitActions;
  if (input.serviceEnvironmentOrder?.length) throw new Invalid(NO_SERVICE_ENVIRONMENTS);
  await updateInStore(s.db, row.name, patch);
  s.kickScheduler();
  return { jobQueueName: row.name, jobQueueArn: row.arn };
}

/** AWS terminates what is left in a deleted queue; openbatch does it at once, in one transaction. */
export async function deleteJobQueue(s: JobServices, input: DeleteJobQueueRequest): Promise<DeleteJobQueueResponse> {
  const row = await findJobQueue(s.db, input.jobQueue!);
  disabledFirst('jobQueue', row, 'UpdateJobQueue');
  const reason = `Job queue ${row.name} was deleted`;
  const instances = new Set<string>();
  await s.uow.write(async (tx) => {
    const now = s.clock.now();
    for (;;) {
      const live = await listJobs(tx.db, { queue: row.name, statuses: ['SUBMITTED', 'PENDING', 'RUNNABLE'], limit: 500 });
      if (live.length === 0) break;
      for (const j of live) await cancelJob(tx, j, reason, now);
    }
    const running = await listJobs(tx.db, { queue: row.name, statuses: ['STARTING', 'RUNNING'], limit: 100_000 });
    for (const j of running) {
      await terminateJob(tx, j, reason, now);
      if (j.instance_id) instances.add(j.instance_id);
    }
    await deleteInStore(tx.db, row.name);
  });
  // Once more after the commit: a cached lookup read before it holds the deleted queue.
  lookupsChanged();
  for (const i of instances) s.notifyInstance(i);
  return {};
}
