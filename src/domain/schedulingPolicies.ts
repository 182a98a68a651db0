/**
 * CreateSchedulingPolicy, UpdateSchedulingPolicy and DeleteSchedulingPolicy with the AWS SDK's
 * own request and response types. The request's shape was checked before (api/validate/).
 */
import type {
  CreateSchedulingPolicyRequest,
  CreateSchedulingPolicyResponse,
  DeleteSchedulingPolicyRequest,
  DeleteSchedulingPolicyResponse,
  UpdateSchedulingPolicyRequest,
  UpdateSchedulingPolicyResponse,
} from '@aws-sdk/client-batch';
import type { Core } from '../core.js';
import { makeArn, type ArnScope } from '../model/arn.js';
import { Conflict } from '../model/errors.js';
import { allJobQueues } from '../store/jobQueues.js';
import { deleteSchedulingPolicy as deleteInStore, getSchedulingPolicy, insertSchedulingPolicy, updateSchedulingPolicy as updateInStore } from '../store/schedulingPolicies.js';
import { findSchedulingPolicy } from './resolve.js';

export async function createSchedulingPolicy(s: Core, scope: ArnScope, input: CreateSchedulingPolicyRequest): Promise<CreateSchedulingPolicyResponse> {
  const name = input.name!;
  if (await getSchedulingPolicy(s.db, name)) throw new Conflict(`name '${name}' already exists as a scheduling policy`);
  const arn = makeArn(scope, 'scheduling-policy', name);
  await insertSchedulingPolicy(s.db, { name, arn, fairshare_policy: input.fairsharePolicy ?? null, tags: input.tags ?? {}, created_at: s.clock.now() });
  return { name, arn };
}

export async function updateSchedulingPolicy(s: Core, input: UpdateSchedulingPolicyRequest): Promise<UpdateSchedulingPolicyResponse> {
  const row = await findSchedulingPolicy(s.db, input.arn!, 'arn');
  // A fair-share policy, once set, cannot be removed (model UpdateSchedulingPolicy): an update
  // without one changes nothing rather than turning the queues using it back into FIFO.
  if (!input.fairsharePolicy) return {};
  await updateInStore(s.db, row.name, { fairshare_policy: input.fairsharePolicy });
  s.kickScheduler();
  return {};
}

export async function deleteSchedulingPolicy(s: Core, input: DeleteSchedulingPolicyRequest): Promise<DeleteSchedulingPolicyResponse> {
  const row = await findSchedulingPolicy(s.db, input.arn!, 'arn');
  const users = (await allJobQueues(s.db)).filter((q) => q.scheduling_policy_arn === row.arn);
  if (users.length) {
    throw new Conflict(`scheduling policy '${row.name}' is used by job queue(s) ${users.map((q) => `'${q.name}'`).join(', ')}; delete those queues first`);
  }
  await deleteInStore(s.db, row.name);
  return {};
}
