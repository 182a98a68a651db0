/** Queries of the job_definitions table. Revisions count per name from 1 and never reuse a number. */
import type { DefinitionSpec } from '../model/submission.js';
import type { Db } from './db.js';
import { encodeColumns, fromJson, type WithValues } from './json.js';
import type { JobDefinitionTable } from './schema.js';
import { cachedLookup, lookupsChanged } from './lookupCache.js';
import { FixedStatement } from './statementCache.js';

export type JobDefinitionRow = JobDefinitionTable;

/** A job definition as it is written: its settings and tags as values. */
export type NewJobDefinition = WithValues<JobDefinitionRow, { spec: DefinitionSpec; tags: Record<string, string> }>;

/** A definition's settings as RegisterJobDefinition took them, decoded. */
export function definitionSpecOf(row: Pick<JobDefinitionRow, 'spec'>): DefinitionSpec {
  return fromJson<DefinitionSpec>(row.spec, {});
}

/** A definition's tags, decoded (what propagateTags hands to its jobs). */
export function definitionTagsOf(row: Pick<JobDefinitionRow, 'tags'>): Record<string, string> {
  return fromJson<Record<string, string>>(row.tags, {});
}

export async function getJobDefinitionByArn(db: Db, arn: string): Promise<JobDefinitionRow | undefined> {
  return db.selectFrom('job_definitions').selectAll().where('arn', '=', arn).executeTakeFirst();
}

export async function getJobDefinitionRevision(db: Db, name: string, revision: number): Promise<JobDefinitionRow | undefined> {
  return db.selectFrom('job_definitions').selectAll().where('name', '=', name).where('revision', '=', revision).executeTakeFirst();
}

/** The latest ACTIVE revision, which is what a job definition named without revision means. */
export async function getLatestActiveJobDefinition(db: Db, name: string): Promise<JobDefinitionRow | undefined> {
  return db
    .selectFrom('job_definitions')
    .selectAll()
    .where('name', '=', name)
    .where('status', '=', 'ACTIVE')
    .orderBy('revision', 'desc')
    .limit(1)
    .executeTakeFirst();
}

const REVISION = new FixedStatement<JobDefinitionRow>('select * from "job_definitions" where "name" = ? and "revision" = ?');
const LATEST_ACTIVE = new FixedStatement<JobDefinitionRow>(
  'select * from "job_definitions" where "name" = ? and "status" = \'ACTIVE\' order by "revision" desc limit 1',
);

/**
 * `getJobDefinitionRevision` (with a revision) or `getLatestActiveJobDefinition` (without)
 * through the lookup cache (lookupCache.ts says when it may be stale): a frozen row.
 */
export async function getJobDefinitionCached(db: Db, name: string, revision?: number): Promise<Readonly<JobDefinitionRow> | undefined> {
  if (revision === undefined) return cachedLookup(db, `def\0${name}`, async () => (await LATEST_ACTIVE.run(db, [name]))[0]);
  return cachedLookup(db, `def\0${name}\0${revision}`, async () => (await REVISION.run(db, [name, revision]))[0]);
}

export async function nextRevision(db: Db, name: string): Promise<number> {
  const r = await db
    .selectFrom('job_definitions')
    .select((eb) => eb.fn.max('revision').as('max'))
    .where('name', '=', name)
    .executeTakeFirst();
  return Number(r?.max ?? 0) + 1;
}

export interface JobDefinitionFilter {
  arns?: string[];
  name?: string;
  status?: string;
  /** position after which to continue: [name, revision] */
  after?: [string, number];
  limit: number;
}

export async function listJobDefinitions(db: Db, f: JobDefinitionFilter): Promise<JobDefinitionRow[]> {
  let q = db.selectFrom('job_definitions').selectAll().orderBy('name').orderBy('revision').limit(f.limit);
  if (f.arns) q = q.where('arn', 'in', f.arns.length ? f.arns : ['']);
  if (f.name !== undefined) q = q.where('name', '=', f.name);
  if (f.status !== undefined) q = q.where('status', '=', f.status);
  if (f.after) {
    const [n, r] = f.after;
    q = q.where((eb) => eb.or([eb('name', '>', n), eb.and([eb('name', '=', n), eb('revision', '>', r)])]));
  }
  return q.execute();
}

export async function insertJobDefinition(db: Db, row: NewJobDefinition): Promise<void> {
  lookupsChanged();
  await db.insertInto('job_definitions').values(encodeColumns<JobDefinitionRow>(row, ['spec', 'tags'])).execute();
  lookupsChanged();
}

export async function setJobDefinitionStatus(db: Db, arn: string, status: string): Promise<void> {
  lookupsChanged();
  await db.updateTable('job_definitions').set({ status }).where('arn', '=', arn).execute();
  lookupsChanged();
}
