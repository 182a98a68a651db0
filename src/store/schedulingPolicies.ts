/** Queries of the scheduling_policies table. */
import type { FairsharePolicy } from '@aws-sdk/client-batch';
import type { Db } from './db.js';
import { encodeColumns, fromJson, type WithValues } from './json.js';
import type { SchedulingPolicyTable } from './schema.js';

export type SchedulingPolicyRow = SchedulingPolicyTable;

/** A scheduling policy as it is written: its fairsharePolicy and tags as values. */
export type NewSchedulingPolicy = WithValues<SchedulingPolicyRow, { fairshare_policy: FairsharePolicy | null; tags: Record<string, string> }>;
const JSON_COLUMNS = ['fairshare_policy', 'tags'] as const;

/** A policy's fairsharePolicy, if it has one. */
export function fairsharePolicyOf(row: Pick<SchedulingPolicyRow, 'fairshare_policy'> | undefined): FairsharePolicy | undefined {
  return fromJson<FairsharePolicy | undefined>(row?.fairshare_policy, undefined);
}

export async function getSchedulingPolicyByArn(db: Db, arn: string): Promise<SchedulingPolicyRow | undefined> {
  return db.selectFrom('scheduling_policies').selectAll().where('arn', '=', arn).executeTakeFirst();
}

export async function getSchedulingPolicy(db: Db, name: string): Promise<SchedulingPolicyRow | undefined> {
  return db.selectFrom('scheduling_policies').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function listSchedulingPolicies(db: Db, opts: { arns?: string[]; after?: string; limit: number }): Promise<SchedulingPolicyRow[]> {
  let q = db.selectFrom('scheduling_policies').selectAll().orderBy('name').limit(opts.limit);
  if (opts.arns) q = q.where('arn', 'in', opts.arns.length ? opts.arns : ['']);
  if (opts.after !== undefined) q = q.where('name', '>', opts.after);
  return q.execute();
}

export async function insertSchedulingPolicy(db: Db, row: NewSchedulingPolicy): Promise<void> {
  await db.insertInto('scheduling_policies').values(encodeColumns<SchedulingPolicyRow>(row, JSON_COLUMNS)).execute();
}

export async function updateSchedulingPolicy(db: Db, name: string, patch: Partial<NewSchedulingPolicy>): Promise<void> {
  await db.updateTable('scheduling_policies').set(encodeColumns<Partial<SchedulingPolicyRow>>(patch, JSON_COLUMNS)).where('name', '=', name).execute();
}

export async function deleteSchedulingPolicy(db: Db, name: string): Promise<void> {
  await db.deleteFrom('scheduling_policies').where('name', '=', name).execute();
}
