/** CreateSchedulingPolicy, UpdateSchedulingPolicy, DeleteSchedulingPolicy (domain/schedulingPolicies.ts), DescribeSchedulingPolicies, ListSchedulingPolicies. */
import type {
  CreateSchedulingPolicyRequest,
  DeleteSchedulingPolicyRequest,
  DescribeSchedulingPoliciesRequest,
  ListSchedulingPoliciesRequest,
  SchedulingPolicyDetail,
  UpdateSchedulingPolicyRequest,
} from '@aws-sdk/client-batch';
import { unlessNotFound } from '../../model/errors.js';
import { listSchedulingPolicies, type SchedulingPolicyRow, fairsharePolicyOf } from '../../store/schedulingPolicies.js';
import { decodeToken, encodeToken, isNamePosition } from '../../store/pagination.js';
import { typed, type Handler } from '../context.js';
import { findSchedulingPolicy } from '../../domain/resolve.js';
import { createSchedulingPolicy, deleteSchedulingPolicy, updateSchedulingPolicy } from '../../domain/schedulingPolicies.js';
import { tagsOf } from '../../store/tags.js';

function detail(row: SchedulingPolicyRow): SchedulingPolicyDetail {
  return {
    name: row.name,
    arn: row.arn,
    fairsharePolicy: fairsharePolicyOf(row),
    tags: tagsOf(row.tags),
  };
}

const describe = typed<DescribeSchedulingPoliciesRequest>(async (input, _ctx, s) => {
  const arns = input.arns!;
  const out: SchedulingPolicyDetail[] = [];
  for (const arn of arns) {
    const row = await unlessNotFound(findSchedulingPolicy(s.db, arn, 'arns'));
    if (row) out.push(detail(row));
  }
  return { schedulingPolicies: out };
});

const list = typed<ListSchedulingPoliciesRequest>(async (input, _ctx, s) => {
  const limit = input.maxResults ?? 100;
  const after = decodeToken<string>('ListSchedulingPolicies', input.nextToken, isNamePosition);
  const rows = await listSchedulingPolicies(s.db, { after, limit: limit + 1 });
  const page = rows.slice(0, limit);
  return {
    schedulingPolicies: page.map((r) => ({ arn: r.arn })),
    nextToken: rows.length > limit ? encodeToken('ListSchedulingPolicies', page[page.length - 1].name) : undefined,
  };
});

export const schedulingPolicyHandlers: Record<string, Handler> = {
  CreateSchedulingPolicy: typed<CreateSchedulingPolicyRequest>((input, ctx, s) => createSchedulingPolicy(s, ctx.scope, input)),
  UpdateSchedulingPolicy: typed<UpdateSchedulingPolicyRequest>((input, _ctx, s) => updateSchedulingPolicy(s, input)),
  DeleteSchedulingPolicy: typed<DeleteSchedulingPolicyRequest>((input, _ctx, s) => deleteSchedulingPolicy(s, input)),
  DescribeSchedulingPolicies: describe,
  ListSchedulingPolicies: list,
};
