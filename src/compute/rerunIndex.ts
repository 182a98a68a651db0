/**
 * OPENBATCH_ORIGINAL_ARRAY_INDEX for the children of a rerun array (api/rerunFailed.ts):
 * child i reruns the i-th failed index of the array named by OPENBATCH_RERUN_OF. An ended
 * array's failed set never changes, so each array's list is read once and kept (a bounded
 * number of arrays).
 */
import type { Db } from '../store/db.js';
import { failedIndices } from '../store/jobs.js';

const KEEP = 64;

export class RerunIndex {
  private readonly lists = new Map<string, Promise<number[]>>();

  constructor(private readonly db: Db) {}

  async originalIndex(originalArrayId: string, newIndex: number): Promise<number | undefined> {
    let list = this.lists.get(originalArrayId);
    if (!list) {
      if (this.lists.size >= KEEP) this.lists.delete(this.lists.keys().next().value!);
      list = failedIndices(this.db, originalArrayId);
      this.lists.set(originalArrayId, list);
    }
    return (await list)[newIndex];
  }
}
