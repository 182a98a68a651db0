/**
 * Tags of the resources that carry them (TagResource, UntagResource, ListTagsForResource):
 * each in the `tags` column of its resource's table, a JSON object of key to value.
 */
import type { Db } from './db.js';
import { fromJson, toJson } from './json.js';
import { lookupsChanged } from './lookupCache.js';
import type { UnitOfWork } from './unitOfWork.js';

/** The kinds of resource that carry tags, by the resource type of their ARNs. */
export type TaggableKind = 'compute-environment' | 'job-queue' | 'job-definition' | 'scheduling-policy' | 'job' | 'consumable-resource';

const TABLE_OF_KIND = {
  'compute-environment': 'compute_environments',
  'job-queue': 'job_queues',
  'job-definition': 'job_definitions',
  'scheduling-policy': 'scheduling_policies',
  job: 'jobs',
  'consumable-resource': 'consumable_resources',
} as const satisfies Record<TaggableKind, string>;

export function isTaggable(kind: string): kind is TaggableKind {
  return kind in TABLE_OF_KIND;
}

/** A resource's tags; undefined when no resource has this ARN. */
export async function resourceTags(db: Db, kind: TaggableKind, arn: string): Promise<Record<string, string> | undefined> {
  const row = await db.selectFrom(TABLE_OF_KIND[kind]).select('tags').where('arn', '=', arn).executeTakeFirst();
  return row ? fromJson<Record<string, string>>(row.tags, {}) : undefined;
}

/**
 * Replaces a resource's tags with what `change` makes of them, read and written in one write
 * transaction, so that two TagResource calls at once never lose each other's tags. `change`
 * may throw (a rule of the caller's): nothing is written. Answers false when no resource has
 * this ARN.
 */
export async function changeTags(uow: UnitOfWork, kind: TaggableKind, arn: string, change: (tags: Record<string, string>) => Record<string, string>): Promise<boolean> {
  const table = TABLE_OF_KIND[kind];
  // SubmitJob reads job definitions (their tags propagate) and queues through the lookup cache,
  // and the agents' polls their compute environment's (its tags are its openbatch settings).
  const cached = table === 'job_definitions' || table === 'job_queues' || table === 'compute_environments';
  if (cached) lookupsChanged();
  const found = await uow.write(async (tx) => {
    const row = await tx.db.selectFrom(table).select('tags').where('arn', '=', arn).executeTakeFirst();
    if (!row) return false;
    const tags = change(fromJson<Record<string, string>>(row.tags, {}));
    await tx.db.updateTable(table).set({ tags: toJson(tags) }).where('arn', '=', arn).execute();
    return true;
  });
  if (cached) lookupsChanged();
  return found;
}

/** A resource's tags column as the API shows it: the tags, or undefined when there are none. */
export function tagsOf(json: string): Record<string, string> | undefined {
  const t = fromJson<Record<string, string> | null>(json, null);
  return t && Object.keys(t).length ? t : undefined;
}
