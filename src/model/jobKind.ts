/**
 * What kind of job a row is. Five kinds share the jobs table, told apart by which of four
 * columns are set — this function is the one place that reads that pattern, so that no
 * code infers a kind from an id's shape (`#`, `:`) or repeats the null tests.
 *
 *   job          a plain job: runs its own attempts
 *   arrayParent  an array job: never runs; its children do, and the last to end decides it
 *   arrayChild   one index of an array (`parent_id` set, `node_index` null)
 *   gangParent   a multi-node parallel job: placed as one gang; its main node decides it
 *   node         one node of a gang (`node_index` set): nothing depends on it, it counts on nothing
 */
export type JobKind = 'job' | 'arrayParent' | 'arrayChild' | 'gangParent' | 'node';

/** The columns that decide a job's kind, as the jobs table holds them. */
export interface JobKindColumns {
  parent_id: string | null;
  array_size: number | null;
  num_nodes: number | null;
  node_index: number | null;
}

export function jobKind(j: JobKindColumns): JobKind {
  if (j.node_index !== null) return 'node';
  if (j.parent_id !== null) return 'arrayChild';
  if (j.array_size !== null) return 'arrayParent';
  if (j.num_nodes !== null) return 'gangParent';
  return 'job';
}
