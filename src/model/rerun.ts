/** Names and notation of reruns of failed array children (api/rerunFailed.ts). */

/** in a rerun array's environment: the id of the array it reruns */
export const RERUN_OF_ENV = 'OPENBATCH_RERUN_OF';
/**
 * in each rerun child's environment: the index it reruns in the original array (the same as
 * its AWS_BATCH_JOB_ARRAY_INDEX; kept for scripts written before that was so). A rerun of a
 * single failed child carries it from submission, as the job's own environment.
 */
export const ORIGINAL_INDEX_ENV = 'OPENBATCH_ORIGINAL_ARRAY_INDEX';
/** in each child of a rerun array: its own index in the rerun (0 … size-1) */
export const RERUN_INDEX_ENV = 'OPENBATCH_RERUN_ARRAY_INDEX';
/** in each child of a rerun array: the rerun's size (AWS_BATCH_JOB_ARRAY_SIZE is the original's) */
export const RERUN_SIZE_ENV = 'OPENBATCH_RERUN_ARRAY_SIZE';

/** `[3,7,8,9,12]` → `3,7-9,12` */
export function indexRanges(indices: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < indices.length; ) {
    let j = i;
    while (j + 1 < indices.length && indices[j + 1] === indices[j] + 1) j++;
    out.push(i === j ? String(indices[i]) : `${indices[i]}-${indices[j]}`);
    i = j + 1;
  }
  return out.join(',');
}
