/**
 * TagResource, UntagResource, ListTagsForResource. Tags live in the `tags` column of each
 * resource's table; the ARN's kind says which table.
 */
import { clientError } from '../../model/errors.js';
import { parseArn } from '../../model/arn.js';
import type { Db } from '../../store/db.js';
import { fromJson, toJson } from '../../store/json.js';
import { lookupsChanged } from '../../store/lookupCache.js';
import type { Handler } from '../context.js';
import { checkExecutorTag, checkPrefetchTag, checkSandboxTags, checkVcpuLimitTag } from '../../compute/executorChoice.js';

type Taggable = 'compute_environments' | 'job_queues' | 'job_definitions' | 'scheduling_policies' | 'jobs' | 'consumable_resources';

const TABLE_OF_KIND: Record<string, Taggable> = {
  'compute-environment': 'compute_environments',
  'job-queue': 'job_queues',
  'job-definition': 'job_definitions',
  'scheduling-policy': 'scheduling_policies',
  job: 'jobs',
  'consumable-resource': 'consumable_resources',
};

async function locate(db: Db, arn: string): Promise<{ table: Taggable; arn: string; tags: Record<string, string> }> {
  const parsed = parseArn(arn);
  const table = parsed ? TABLE_OF_KIND[parsed.kind] : undefined;
  if (!parsed || !table) {
    throw clientError(`resourceArn '${arn}' is not the ARN of a taggable AWS Batch resource (compute environment, job queue, job definition, scheduling policy, job or consumable resource)`);
  }
  if (parsed.kind === 'job' && /[:#]/.test(parsed.resource)) {
    throw clientError(`resourceArn '${arn}' is an array or multi-node child job; tag the parent job instead`);
  }
  const row = (await db
    .selectFrom(table)
    .select(['arn', 'tags'])
    .where('arn', '=', arn)
    .executeTakeFirst()) as { arn: string; tags: string } | undefined;
  if (!row) throw clientError(`resourceArn '${arn}' does not exist`);
  return { table, arn: row.arn, tags: fromJson<Record<string, string>>(row.tags, {}) };
}

async function save(db: Db, table: Taggable, arn: string, tags: Record<string, string>): Promise<void> {
  // SubmitJob reads job definitions (their tags propagate) and queues through the lookup cache,
  // and the agents' polls their compute environment's (its tags are its openbatch settings).
  const cached = table === 'job_definitions' || table === 'job_queues' || table === 'compute_environments';
  if (cached) lookupsChanged();
  await db.updateTable(table).set({ tags: toJson(tags) } as never).where('arn', '=', arn).execute();
  if (cached) lookupsChanged();
}

const tag: Handler = async (raw, _ctx, s) => {
  const found = await locate(s.db, String(raw.resourceArn));
  const merged = { ...found.tags, ...(raw.tags as Record<string, string>) };
  if (found.table === 'compute_environments') {
    // The tags that set how a CE's jobs run are checked as CreateComputeEnvironment checks them.
    checkExecutorTag('tags', raw.tags as Record<string, string>);
    checkSandboxTags('tags', raw.tags as Record<string, string>);
    checkPrefetchTag('tags', raw.tags as Record<string, string>);
    checkVcpuLimitTag('tags', raw.tags as Record<string, string>);
  }
  if (Object.keys(merged).length > 50) throw clientError(`tags: a resource may carry at most 50 tags (would have ${Object.keys(merged).length})`);
  await save(s.db, found.table, found.arn, merged);
  return {};
};

const untag: Handler = async (raw, _ctx, s) => {
  const found = await locate(s.db, String(raw.resourceArn));
  for (const k of raw.tagKeys as string[]) delete found.tags[k];
  await save(s.db, found.table, found.arn, found.tags);
  return {};
};

const listTags: Handler = async (raw, _ctx, s) => {
  const found = await locate(s.db, String(raw.resourceArn));
  return { tags: found.tags };
};

export const tagHandlers: Record<string, Handler> = {
  TagResource: tag,
  UntagResource: untag,
  ListTagsForResource: listTags,
};
