/** TagResource, UntagResource, ListTagsForResource (domain/tags.ts). */
import type { ListTagsForResourceRequest, TagResourceRequest, UntagResourceRequest } from '@aws-sdk/client-batch';
import { listTagsForResource, tagResource, untagResource } from '../../domain/tags.js';
import { typed, type Handler } from '../context.js';

export const tagHandlers: Record<string, Handler> = {
  TagResource: typed<TagResourceRequest>((input, _ctx, s) => tagResource(s, input)),
  UntagResource: typed<UntagResourceRequest>((input, _ctx, s) => untagResource(s, input)),
  ListTagsForResource: typed<ListTagsForResourceRequest>((input, _ctx, s) => listTagsForResource(s, input)),
};
