/** CreateSchedulingPolicy, UpdateSchedulingPolicy, DeleteSchedulingPolicy, DescribeSchedulingPolicies, ListSchedulingPolicies. */
import type { CreateSchedulingPolicyRequest, SchedulingPolicyDetail, UpdateSchedulingPolicyRequest } from '@aws-sdk/client-batch';
import { clientError, unlessNotFound } from '../../model/errors.js';
import { makeArn } from '../../model/arn.js';
import { deleteSchedulingPolicy, getSchedulingPolicy, insertSchedulingPolicy, listSchedulingPolicies, updateSchedulingPolicy, type SchedulingPolicyRow, fairsharePolicyOf } from '../../store/schedulingPolicies.js';
import { allJobQueues } from '../../store/jobQueues.js';
import { toJson } from '../../store/json.js';
import { decodeToken, encodeToken, isNamePosition } from '../../store/pagination.js';
import type { Handler } from '../context.js';
import { findSchedulingPolicy } from '../../domain/resolve.js';
import { tagsOf } from '../../store/tags.js';

function detail(row: SchedulingPolicyRow): SchedulingPolicyDetail {
  return {
    name: row.name,
    arn: row.arn,
    fairsharePolicy: fairsharePolicyOf(row),
    tags: tagsOf(row.tags),
  };
}

const create: Handler = async (raw, ctx, s) => {
  const input = raw as unknown as CreateSchedulingPolicyRequest;
  if (await getSchedulingPolicy(s.db, input.name!)) throw clientError(`name '${input.name}' already exists as a scheduling policy`);
  const arn = makeArn(ctx.scope, 'scheduling-policy', input.name!);
  await insertSchedulingPolicy(s.db, {
    name: input.name!,
    arn,
    fairshare_policy: input.fairsharePolicy ? toJson(input.fairsharePolicy) : null,
    tags: toJson(input.tags ?? {}),
    created_at: s.clock.now(),
  });
  return { name: input.name, arn };
};

const update: Handler = async (raw, _ctx, s) => {
  const input = raw as unknown as UpdateSchedulingPolicyRequest;
  const row = await findSchedulingPolicy(s.db, input.arn!, 'arn');
  // A fair-share policy, once set, cannot be removed (model UpdateSchedulingPolicy): an update
  // without one changes nothing rather than turning the queues using it back into FIFO.
  if (!input.fairsharePolicy) return {};
  await updateSchedulingPolicy(s.db, row.name, { fairshare_policy: toJson(input.fairsharePolicy) });
  s.kickScheduler();
  return {};
};

const remove: Handler = async (raw, _ctx, s) => {
  const row = await findSchedulingPolicy(s.db, String(raw.arn), 'arn');
  const users = (await allJobQueues(s.db)).filter((q) => q.scheduling_policy_arn === row.arn);
  if (users.length) {
    throw clientError(`scheduling policy '${row.name}' is used by job queue(s) ${users.map((q) => `'${q.name}'`).join(', ')}; delete those queues first`);
  }
  await deleteSchedulingPolicy(s.db, row.name);
  return {};
};

const describe: Handler = async (raw, _ctx, s) => {
  const arns = raw.arns as string[];
  const out: SchedulingPolicyDetail[] = [];
  for (const arn of arns) {
    const row = await unlessNotFound(findSchedulingPolicy(s.db, arn, 'arns'));
    if (row) out.push(detail(row));
  }
  return { schedulingPolicies: out };
};

const list: Handler = async (raw, _ctx, s) => {
  const limit = (raw.maxResults as number | undefined) ?? 100;
  const after = decodeToken<string>('ListSchedulingPolicies', raw.nextToken as string | undefined, isNamePosition);
  const rows = await listSchedulingPolicies(s.db, { after, limit: limit + 1 });
  const page = rows.slice(0, limit);
  return {
    schedulingPolicies: page.map((r) => ({ arn: r.arn })),
    nextToken: rows.length > limit ? encodeToken('ListSchedulingPolicies', page[page.length - 1].name) : undefined,
  };
};

export const schedulingPolicyHandlers: Record<string, Handler> = {
  CreateSchedulingPolicy: create,
  UpdateSchedulingPolicy: update,
  DeleteSchedulingPolicy: remove,
  DescribeSchedulingPolicies: describe,
  ListSchedulingPolicies: list,
};
