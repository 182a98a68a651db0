/**
 * The paging members shared by the Describe* and List* operations.
 *
 * `nextToken` is opaque: here it only has to be a non-empty string; the store decodes it and
 * rejects one it did not issue. `maxResults` bounds differ per operation (model docs).
 */
import { intRange, nonEmpty, type Maybe, type Range } from './rules.js';

/** The page size and continuation token of a Describe* or List* request. */
export interface PageInput {
  maxResults?: Maybe<number>;
  nextToken?: Maybe<string>;
}

/** Page sizes the model documents: most operations 1-100; ListJobs up to 1000. */
export const PAGE_SIZE = {
  standard: { min: 1, max: 100 },
  listJobs: { min: 1, max: 1000 },
} as const satisfies Record<string, Range>;

/** maxResults within `size`, nextToken non-empty. */
export function validatePage(input: PageInput, size: Range = PAGE_SIZE.standard): void {
  intRange('maxResults', input.maxResults, size);
  nonEmpty('nextToken', input.nextToken);
}
