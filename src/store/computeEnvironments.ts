/** Queries of the compute_environments table. */
import type { ComputeResource } from '@aws-sdk/client-batch';
import type { Db } from './db.js';
import { encodeColumns, fromJson, type WithValues } from './json.js';
import { cachedLookup, lookupsChanged } from './lookupCache.js';
import type { ComputeEnvironmentTable } from './schema.js';

export type ComputeEnvironmentRow = ComputeEnvironmentTable;

/** The members of CreateComputeEnvironment kept verbatim beside the columns (the `extra` column). */
export interface CeExtra {
  unmanagedvCpus?: number;
  eksConfiguration?: unknown;
  updatePolicy?: unknown;
  context?: string;
}

/** A compute environment as it is written: its computeResources, other members and tags as values. */
export type NewComputeEnvironment = WithValues<ComputeEnvironmentRow, { compute_resources: ComputeResource | null; extra: CeExtra; tags: Record<string, string> }>;
const JSON_COLUMNS = ['compute_resources', 'extra', 'tags'] as const;

/** A CE's computeResources as given (null for UNMANAGED). */
export function computeResourcesOf(ce: Pick<ComputeEnvironmentRow, 'compute_resources'>): ComputeResource | null {
  return fromJson<ComputeResource | null>(ce.compute_resources, null);
}

/** A CE's tags (its openbatch:* settings among them). */
export function ceTagsOf(ce: Pick<ComputeEnvironmentRow, 'tags'>): Record<string, string> {
  return fromJson<Record<string, string>>(ce.tags, {});
}

/** A CE's other members (unmanagedvCpus, eksConfiguration, updatePolicy, context). */
export function ceExtraOf(ce: Pick<ComputeEnvironmentRow, 'extra'>): CeExtra {
  return fromJson<CeExtra>(ce.extra, {});
}

export async function getComputeEnvironment(db: Db, name: string): Promise<ComputeEnvironmentRow | undefined> {
  return db.selectFrom('compute_environments').selectAll().where('name', '=', name).executeTakeFirst();
}

/**
 * `getComputeEnvironment` through the lookup cache (lookupCache.ts says when it may be stale):
 * a frozen row. For the agents' hot path, which needs a CE's settings per poll and report.
 */
export async function cachedComputeEnvironment(db: Db, name: string): Promise<ComputeEnvironmentRow | undefined> {
  return cachedLookup(db, `ce\0${name}`, () => getComputeEnvironment(db, name));
}

export async function listComputeEnvironments(db: Db, opts: { names?: string[]; after?: string; limit: number }): Promise<ComputeEnvironmentRow[]> {
  let q = db.selectFrom('compute_environments').selectAll().orderBy('name').limit(opts.limit);
  if (opts.names) q = q.where('name', 'in', opts.names.length ? opts.names : ['']);
  if (opts.after !== undefined) q = q.where('name', '>', opts.after);
  return q.execute();
}

export async function allComputeEnvironments(db: Db): Promise<ComputeEnvironmentRow[]> {
  return db.selectFrom('compute_environments').selectAll().orderBy('name').execute();
}

export async function insertComputeEnvironment(db: Db, row: NewComputeEnvironment): Promise<void> {
  lookupsChanged();
  await db.insertInto('compute_environments').values(encodeColumns<ComputeEnvironmentRow>(row, JSON_COLUMNS)).execute();
  lookupsChanged();
}

export async function updateComputeEnvironment(db: Db, name: string, patch: Partial<NewComputeEnvironment>): Promise<void> {
  lookupsChanged();
  await db.updateTable('compute_environments').set(encodeColumns<Partial<ComputeEnvironmentRow>>(patch, JSON_COLUMNS)).where('name', '=', name).execute();
  lookupsChanged();
}

export async function deleteComputeEnvironment(db: Db, name: string): Promise<void> {
  lookupsChanged();
  await db.deleteFrom('compute_environments').where('name', '=', name).execute();
  lookupsChanged();
}
