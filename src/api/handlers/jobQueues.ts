/** CreateJobQueue, UpdateJobQueue, DeleteJobQueue (domain/jobQueues.ts), DescribeJobQueues. */
import type {
  ComputeEnvironmentOrder,
  CreateJobQueueRequest,
  DeleteJobQueueRequest,
  DescribeJobQueuesRequest,
  JobQueueDetail,
  UpdateJobQueueRequest,
} from '@aws-sdk/client-batch';
import { listJobQueues, type JobQueueRow, ceOrderOf, timeLimitActionsOf } from '../../store/jobQueues.js';
import { getComputeEnvironment } from '../../store/computeEnvironments.js';
import { decodeToken, encodeToken, isNamePosition } from '../../store/pagination.js';
import { typed, type Handler, type Services } from '../context.js';
import { localName } from '../../domain/resolve.js';
import { createJobQueue, deleteJobQueue, updateJobQueue } from '../../domain/jobQueues.js';
import { tagsOf } from '../../store/tags.js';

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

const describe = typed<DescribeJobQueuesRequest>(async (input, ctx, s) => {
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
});

export const jobQueueHandlers: Record<string, Handler> = {
  CreateJobQueue: typed<CreateJobQueueRequest>((input, ctx, s) => createJobQueue(s, ctx.scope, input)),
  UpdateJobQueue: typed<UpdateJobQueueRequest>((input, _ctx, s) => updateJobQueue(s, input)),
  DeleteJobQueue: typed<DeleteJobQueueRequest>((input, _ctx, s) => deleteJobQueue(s, input)),
  DescribeJobQueues: describe,
};
