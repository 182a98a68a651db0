/**
 * TagResource, UntagResource, ListTagsForResource. The ARN's resource type says which kind of
 * resource; the store reads and changes its tags (store/tags.ts), a change in one transaction.
 */
import { clientError } from '../../model/errors.js';
import { parseArn } from '../../model/arn.js';
import { changeTags, isTaggable, resourceTags, type TaggableKind } from '../../store/tags.js';
import type { Handler } from '../context.js';
import { checkExecutorTag, checkPrefetchTag, checkSandboxTags, checkVcpuLimitTag } from '../../compute/executorChoice.js';

/** The kind of resource an ARN names, when it is one that carries tags. */
function taggable(arn: string): TaggableKind {
  const parsed = parseArn(arn);
  if (!parsed || !isTaggable(parsed.kind)) {
    throw clientError(`resourceArn '${arn}' is not the ARN of a taggable AWS Batch resource (compute environment, job queue, job definition, scheduling policy, job or consumable resource)`);
  }
  if (parsed.kind === 'job' && /[:#]/.test(parsed.resource)) {
    throw clientError(`resourceArn '${arn}' is an array or multi-node child job; tag the parent job instead`);
  }
  return parsed.kind;
}

const notFound = (arn: string) => clientError(`resourceArn '${arn}' does not exist`);

const tag: Handler = async (raw, _ctx, s) => {
  const arn = String(raw.resourceArn);
  const kind = taggable(arn);
  const given = raw.tags as Record<string, string>;
  if (kind === 'compute-environment') {
    // The tags that set how a CE's jobs run are checked as CreateComputeEnvironment checks them.
    checkExecutorTag('tags', given);
    checkSandboxTags('tags', given);
    checkPrefetchTag('tags', given);
    checkVcpuLimitTag('tags', given);
  }
  const found = await changeTags(s.uow, kind, arn, (tags) => {
    const merged = { ...tags, ...given };
    if (Object.keys(merged).length > 50) throw clientError(`tags: a resource may carry at most 50 tags (would have ${Object.keys(merged).length})`);
    return merged;
  });
  if (!found) throw notFound(arn);
  return {};
};

const untag: Handler = async (raw, _ctx, s) => {
  const arn = String(raw.resourceArn);
  const keys = raw.tagKeys as string[];
  const found = await changeTags(s.uow, taggable(arn), arn, (tags) => Object.fromEntries(Object.entries(tags).filter(([k]) => !keys.includes(k))));
  if (!found) throw notFound(arn);
  return {};
};

const listTags: Handler = async (raw, _ctx, s) => {
  const arn = String(raw.resourceArn);
  const tags = await resourceTags(s.db, taggable(arn), arn);
  if (!tags) throw notFound(arn);
  return { tags };
};

export const tagHandlers: Record<string, Handler> = {
  TagResource: tag,
  UntagResource: untag,
  ListTagsForResource: listTags,
};
