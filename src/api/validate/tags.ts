/**
 * Semantic rules of the tagging operations. The resource ARN arrives in the URL path; which
 * resource it names (and whether it is taggable) is the store's check.
 */
import type {
  ListTagsForResourceCommandInput,
  TagResourceCommandInput,
  UntagResourceCommandInput,
} from '@aws-sdk/client-batch';
import { arn, listLength, tagKey, tagMap } from './rules.js';

const MAX_TAGS = 50;

/** TagResource: an ARN and 1-50 tags. */
export function validateTagResource(input: TagResourceCommandInput): void {
  arn('resourceArn', input.resourceArn);
  tagMap('tags', input.tags, 1);
}

/** UntagResource: an ARN and 1-50 tag keys; keys under the reserved `aws:` prefix cannot be removed. */
export function validateUntagResource(input: UntagResourceCommandInput): void {
  arn('resourceArn', input.resourceArn);
  listLength('tagKeys', input.tagKeys, { min: 1, max: MAX_TAGS });
  input.tagKeys?.forEach((key, i) => tagKey(`tagKeys[${i}]`, key));
}

/** ListTagsForResource: an ARN. */
export function validateListTagsForResource(input: ListTagsForResourceCommandInput): void {
  arn('resourceArn', input.resourceArn);
}
