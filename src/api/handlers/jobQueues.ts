/** CreateJobQueue, UpdateJobQueue, DeleteJobQueue, DescribeJobQueues. */
import type {
  ComputeEnvironmentOrder,
  CreateJobQueueRequest,
  DescribeJobQueuesRequest,
  JobQueueDetail,
  UpdateJobQueueRequest,
} from '@aws-sdk/client-batch';
import { clientError } from '../../model/errors.js';
import { makeArn } from '../../model/arn.js';
import { deleteJobQueue, getJobQueue, insertJobQueue, listJobQueues, updateJobQueue, type JobQueueRow, ceOrderOf, timeLimitActionsOf } from '../../store/jobQueues.js';
import { getComputeEnvironment, computeResourcesOf } from '../../store/computeEnvironments.js';
import { cancelJob, terminateJob } from '../../store/cancellation.js';
import { listJobs } from '../../store/jobs.js';
import { toJson } from '../../store/json.js';
import { decodeToken, encodeToken, isNamePosition } from '../../store/pagination.js';
import type { Handler, Services } from '../context.js';
import { findComputeEnvironment, findJobQueue, findSchedulingPolicy, localName } from '../../domain/resolve.js';
import { tagsOf } from '../../store/tags.js';
import { lookupsChanged } from '../../store/lookupCache.js';

interface StoredOrder {
  order: number;
  computeEnvironment: string; // CE name
}

async function resolveOrder(s: Services, order: ComputeEnvironmentOrder[]): Promise<StoredOrder[]> {
  const out: StoredOrder[] = [];
  const kinds = new Set<string>();
  for (const [i, o] of order.entries()) {
    const ce = await findComputeEnvironment(s.db, o.computeEnvironment!, `computeEnvironmentOrder[${i}].computeEnvironment`);
    // The validator compares the strings; a name and an ARN can still name the same one.
    const twice = out.findIndex((x) => x.computeEnvironment === ce.name);
    if (twice >= 0) {
      throw clientError(
        `computeEnvironmentOrder[${i}].computeEnvironment '${o.computeEnvironment}' names compute environment '${ce.name}', as computeEnvironmentOrder[${twice}] does: each may appear once`,
      );
    }
    if (ce.status !== 'VALID') throw clientError(`computeEnvironmentOrder[${i}].computeEnvironment '${ce.name}' is ${ce.status}; it must be VALID`);
    const crType = (computeResourcesOf(ce)?.type ?? 'EC2').startsWith('FARGATE') ? 'FARGATE' : 'EC2';
    kinds.add(crType);
    out.push({ order: o.order!, computeEnvironment: ce.name });
  }
  if (kinds.size > 1) throw clientError('computeEnvironmentOrder cannot mix Fargate and EC2/SPOT compute environments in one job queue');
  return out.sort((a, b) => a.order - b.order);
}

export async function jobQueueDetail(row: JobQueueRow, s: Services): Promise<JobQueueDetail> {
  const order = ceOrderOf(row);
  const ceOrder: ComputeEnvironmentOrder[] = [];
  for (const o of order) {
    const ce = await getComputeEnvironment(s.db, o.computeEnvironment);
    ceOrder.push({ order: o.order, computeEnvironment: ce?.arn ?? o.computeEnvironment });
  }
  const actions = timeLimitActionsOf(row);
  return {
    jobQueueName: row.name,
    jobQueueArn: row.arn,
    state: row.state as JobQueueDetail['state'],
    status: row.status as JobQueueDetail['status'],
    statusReason: row.status_reason ?? undefined,
    priority: row.priority,
    computeEnvironmentOrder: ceOrder,
    schedulingPolicyArn: row.scheduling_policy_arn ?? undefined,
    jobStateTimeLimitActions: actions && actions.length ? actions : undefined,
    tags: tagsOf(row.tags),
  };
}

const create: Handler = async (raw, ctx, s) => {
  const input = raw as unknown as CreateJobQueueRequest;
  const name = input.jobQueueName!;
  if (input.serviceEnvironmentOrder?.length) {
    throw clientError('serviceEnvironmentOrder is not supported: openbatch has no SageMaker service environments; use computeEnvironmentOrder');
  }
  if (!input.computeEnvironmentOrder?.length) throw clientError('computeEnvironmentOrder is required (1 to 3 compute environments)');
  if (await getJobQueue(s.db, name)) throw clientError(`jobQueueName '${name}' already exists`);
  const order = await resolveOrder(s, input.computeEnvironmentOrder);
  const policy = input.schedulingPolicyArn ? await findSchedulingPolicy(s.db, input.schedulingPolicyArn) : undefined;
  const now = s.clock.now();
  const row: JobQueueRow = {
    name,
    arn: makeArn(ctx.scope, 'job-queue', name),
    state: input.state ?? 'ENABLED',
    status: 'VALID',
    status_reason: 'JobQueue Healthy',
    priority: input.priority!,
    ce_order: toJson(order),
    scheduling_policy_arn: policy?.arn ?? null,
    time_limit_actions: toJson(input.jobStateTimeLimitActions ?? []),
    tags: toJson(input.tags ?? {}),
    created_at: now,
    updated_at: now,
  };
  await insertJobQueue(s.db, row);
  return { jobQueueName: name, jobQueueArn: row.arn };
};

const update: Handler = async (raw, _ctx, s) => {
  const input = raw as unknown as UpdateJobQueueRequest;
  const row = await findJobQueue(s.db, input.jobQueue!);
  const patch: Partial<JobQueueRow> = { updated_at: s.clock.now() };
  if (input.state) patch.state = input.state;
  if (input.priority !== undefined) patch.priority = input.priority;
  if (input.computeEnvironmentOrder) {
    if (input.computeEnvironmentOrder.length === 0) throw clientError('computeEnvironmentOrder must name 1 to 3 compute environments');
    patch.ce_order = toJson(await resolveOrder(s, input.computeEnvironmentOrder));
  }
  if (input.schedulingPolicyArn !== undefined) {
    if (!row.scheduling_policy_arn) {
      throw clientError(`jobQueue '${row.name}' was created without a scheduling policy (FIFO); a fair-share policy can only be set when the queue is created`);
    }
    patch.scheduling_policy_arn = (await findSchedulingPolicy(s.db, input.schedulingPolicyArn)).arn;
  }
  if (input.jobStateTimeLimitActions) patch.time_limit_actions = toJson(input.jobStateTimeLimitActions);
  if (input.serviceEnvironmentOrder?.length) throw clientError('serviceEnvironmentOrder is not supported: openbatch has no SageMaker service environments');
  await updateJobQueue(s.db, row.name, patch);
  s.kickScheduler();
  return { jobQueueName: row.name, jobQueueArn: row.arn };
};

/** AWS terminates what is left in a deleted queue; openbatch does it at once, in one transaction. */
const remove: Handler = async (raw, _ctx, s) => {
  const row = await findJobQueue(s.db, String(raw.jobQueue));
  if (row.state !== 'DISABLED') {
    throw clientError(`jobQueue '${row.name}' must be DISABLED before it can be deleted (UpdateJobQueue state=DISABLED)`);
  }
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
    await deleteJobQueue(tx.db, row.name);
  });
  // Once more after the commit: a cached lookup read before it holds the deleted queue.
  lookupsChanged();
  for (const i of instances) s.notifyInstance(i);
  return {};
};

const describe: Handler = async (raw, ctx, s) => {
  const input = raw as unknown as DescribeJobQueuesRequest;
  const limit = input.maxResults ?? 100;
  const after = decodeToken<string>('DescribeJobQueues', input.nextToken, isNamePosition);
  const names = input.jobQueues?.flatMap((x) => localName(x, 'job-queue', ctx.scope.account) ?? []);
  const rows = await listJobQueues(s.db, { names, after, limit: limit + 1 });
  const page = rows.slice(0, limit);
  const details: JobQueueDetail[] = [];
  for (const r of page) details.push(await jobQueueDetail(r, s));
  return {
    jobQueues: details,
    nextToken: rows.length > limit ? encodeToken('DescribeJobQueues', page[page.length - 1].name) : undefined,
  };
};

export const jobQueueHandlers: Record<string, Handler> = {
  CreateJobQueue: create,
  UpdateJobQueue: update,
  DeleteJobQueue: remove,
  DescribeJobQueues: describe,
};
