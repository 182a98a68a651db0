/**
 * TagResource, UntagResource and ListTagsForResource with the AWS SDK's own request and
 * response types. The ARN's resource type says which kind of resource; the store reads and
 * changes its tags (store/tags.ts), a change in one transaction.
 */
import type {
  ListTagsForResourceRequest,
  ListTagsForResourceResponse,
  TagResourceRequest,
  TagResourceResponse,
  UntagResourceRequest,
  UntagResourceResponse,
} from '@aws-sdk/client-batch';
import { checkExecutorTag, checkPrefetchTag, checkSandboxTags, checkVcpuLimitTag } from '../compute/executorChoice.js';
import type { Core } from '../core.js';
import { parseArn } from '../model/arn.js';
import { Invalid, NotFound } from '../model/errors.js';
import { changeTags, isTaggable, resourceTags, type TaggableKind } from '../store/tags.js';

/** A resource may carry at most this many tags (AWS's limit). */
const MAX_TAGS = 50;

/** The kind of resource an ARN names, when it is one that carries tags. */
function taggable(arn: string): TaggableKind {
  const parsed = parseArn(arn);
  if (!parsed || !isTaggable(parsed.kind)) {
    throw new Invalid(`resourceArn '${arn}' is not the ARN of a taggable AWS Batch resource (compute environment, job queue, job definition, scheduling policy, job or consumable resource)`);
  }
  // Children's ids carry the parent's id and their index (`<parent>:<index>`, `<parent>#<node>`).
  if (parsed.kind === 'job' && /[:#]/.test(parsed.resource)) {
    throw new Invalid(`resourceArn '${arn}' is an array or multi-node child job; tag the parent job instead`);
  }
  return parsed.kind;
}

export async function tagResource(s: Core, input: TagResourceRequest): Promise<TagResourceResponse> {
  const arn = input.resourceArn!;
  const kind = taggable(arn);
  const given = input.tags ?? {};
  if (kind === 'compute-environment') {
    // The tags that set how a CE's jobs run are checked as CreateComputeEnvironment checks them.
    checkExecutorTag('tags', given);
    checkSandboxTags('tags', given);
    checkPrefetchTag('tags', given);
    checkVcpuLimitTag('tags', given);
  }
  const found = await changeTags(s.uow, kind, arn, (tags) => {
    const merged = { ...tags, ...given };
    if (Object.keys(merged).length > MAX_TAGS) throw new Invalid(`tags: a resource may carry at most ${MAX_TAGS} tags (would have ${Object.keys(merged).length})`);
    return merged;
  });
  if (!found) throw new NotFound('resourceArn', arn);
  return {};
}

export async function untagResource(s: Core, input: UntagResourceRequest): Promise<UntagResourceResponse> {
  const arn = input.resourceArn!;
  const keys = input.tagKeys ?? [];
  const found = await changeTags(s.uow, taggable(arn), arn, (tags) => Object.fromEntries(Object.entries(tags).filter(([k]) => !keys.includes(k))));
  if (!found) throw new NotFound('resourceArn', arn);
  return {};
}

export async function listTagsForResource(s: Core, input: ListTagsForResourceRequest): Promise<ListTagsForResourceResponse> {
  const arn = input.resourceArn!;
  const tags = await resourceTags(s.db, taggable(arn), arn);
  if (!tags) throw new NotFound('resourceArn', arn);
  return { tags };
}
