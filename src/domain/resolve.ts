/**
 * Resolving what a request names: the resource a "name or ARN" member refers to, or NotFound
 * (model/errors.ts) with the message a person can act on. The first step of every operation
 * (resolve → decide → map).
 */
import { clientError, NotFound } from '../model/errors.js';
import { nameFromNameOrArn, parseArn, type ArnKind } from '../model/arn.js';
import type { Db } from '../store/db.js';
import { getComputeEnvironment, type ComputeEnvironmentRow } from '../store/computeEnvironments.js';
import { getConsumableResource, type ConsumableResourceRow } from '../store/consumableResources.js';
import { getJobQueue, getJobQueueCached, type JobQueueRow } from '../store/jobQueues.js';
import {
  getJobDefinitionCached,
  getJobDefinitionRevision,
  getLatestActiveJobDefinition,
  type JobDefinitionRow,
} from '../store/jobDefinitions.js';

/**
 * `cached`: through the in-memory lookup cache (store/lookupCache.ts), for SubmitJob's hot
 * path: on PostgreSQL another server's change may take up to a second to be seen, so the
 * handlers that change these resources read them fresh.
 */
export interface FindOptions {
  cached?: boolean;
}
import { getSchedulingPolicy, getSchedulingPolicyByArn, type SchedulingPolicyRow } from '../store/schedulingPolicies.js';

export async function findComputeEnvironment(db: Db, nameOrArn: string, member = 'computeEnvironment'): Promise<ComputeEnvironmentRow> {
  const name = nameFromNameOrArn(nameOrArn, 'compute-environment');
  const row = name === null ? undefined : await getComputeEnvironment(db, name);
  if (!row || (nameOrArn.startsWith('arn:') && row.arn !== nameOrArn && !sameResource(row.arn, nameOrArn))) {
    throw new NotFound(member, nameOrArn);
  }
  return row;
}

export async function findJobQueue(db: Db, nameOrArn: string, member = 'jobQueue', opts: FindOptions = {}): Promise<Readonly<JobQueueRow>> {
  const name = nameFromNameOrArn(nameOrArn, 'job-queue');
  const row = name === null ? undefined : opts.cached ? await getJobQueueCached(db, name) : await getJobQueue(db, name);
  if (!row || (nameOrArn.startsWith('arn:') && !sameResource(row.arn, nameOrArn))) {
    throw new NotFound(member, nameOrArn);
  }
  return row;
}

export async function findConsumableResource(db: Db, nameOrArn: string, member = 'consumableResource'): Promise<ConsumableResourceRow> {
  const name = nameFromNameOrArn(nameOrArn, 'consumable-resource');
  const row = name === null ? undefined : await getConsumableResource(db, name);
  if (!row || (nameOrArn.startsWith('arn:') && !sameResource(row.arn, nameOrArn))) {
    throw new NotFound(member, nameOrArn);
  }
  return row;
}

/**
 * The name a "name or ARN" member of a Describe call refers to in this account, or null when
 * it is an ARN of another kind or another account, which names nothing here. (The region
 * may differ: ARNs carry the region of the request that created the resource.)
 */
export function localName(nameOrArn: string, kind: ArnKind, account: string): string | null {
  const name = nameFromNameOrArn(nameOrArn, kind);
  if (name === null || !nameOrArn.startsWith('arn:')) return name;
  return parseArn(nameOrArn)?.account === account ? name : null;
}

/** ARNs name the same resource when kind and name agree (the region part may differ per request). */
function sameResource(stored: string, given: string): boolean {
  const a = parseArn(stored);
  const b = parseArn(given);
  return !!a && !!b && a.kind === b.kind && a.resource === b.resource && a.account === b.account;
}

/**
 * A job definition as SubmitJob accepts it: `name` (latest ACTIVE revision), `name:revision`,
 * or an ARN with or without revision.
 */
export async function findJobDefinition(db: Db, ref: string, member = 'jobDefinition', activeOnly = true, opts: FindOptions = {}): Promise<Readonly<JobDefinitionRow>> {
  let nameRev = ref;
  let account: string | undefined;
  if (ref.startsWith('arn:')) {
    const parsed = parseArn(ref);
    // An ARN of another kind names no job definition: not found, as an unknown name is.
    if (!parsed || parsed.kind !== 'job-definition') throw new NotFound(member, ref, `${member} '${ref}' is not a job definition ARN`);
    nameRev = parsed.resource;
    account = parsed.account;
  }
  const m = /^([A-Za-z0-9_-]{1,128})(?::(\d+))?$/.exec(nameRev);
  if (!m) throw clientError(`${member} '${ref}' is invalid: use a name, name:revision or a job definition ARN`);
  const revision = m[2] !== undefined ? Number(m[2]) : undefined;
  let row: Readonly<JobDefinitionRow> | undefined;
  if (opts.cached) row = await getJobDefinitionCached(db, m[1], revision);
  else row = revision !== undefined ? await getJobDefinitionRevision(db, m[1], revision) : await getLatestActiveJobDefinition(db, m[1]);
  // An ARN of another account names another account's definition, never this one.
  if (row && account !== undefined && parseArn(row.arn)?.account !== account) row = undefined;
  if (!row) {
    throw new NotFound(member, ref, m[2] !== undefined ? `${member} '${ref}' does not exist` : `${member} '${ref}' does not exist or has no ACTIVE revision`);
  }
  if (activeOnly && row.status !== 'ACTIVE') throw clientError(`${member} '${ref}' is INACTIVE (deregistered); register a new revision`);
  return row;
}

export async function findSchedulingPolicy(db: Db, arn: string, member = 'schedulingPolicyArn'): Promise<SchedulingPolicyRow> {
  const row = await getSchedulingPolicyByArn(db, arn);
  if (row) return row;
  const parsed = parseArn(arn);
  if (parsed?.kind === 'scheduling-policy') {
    const byName = await getSchedulingPolicy(db, parsed.resource);
    if (byName && sameResource(byName.arn, arn)) return byName;
  }
  throw new NotFound(member, arn);
}
