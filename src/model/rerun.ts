/** Names and notation of reruns of failed array children (api/rerunFailed.ts). */

/** in a rerun array's environment: the id of the array it reruns */
export const RERUN_OF_ENV = 'OPENBATCH_RERUN_OF';
/** in each rerun child's environment: the index it reruns in the original array */
export const ORIGINAL_INDEX_ENV = 'OPENBATCH_ORIGINAL_ARRAY_INDEX';

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
