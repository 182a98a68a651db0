/**
 * Rerun the failed children of an array job (`POST /openbatch/v1/rerunFailed`,
 * `openbatch rerun-failed`, the dashboard's button): a new array over exactly the failed
 * indices, with the same definition, queue, overrides, parameters, retry strategy, timeout,
 * share and tags, submitted through SubmitJob with the API's own checks.
 *
 * The mapping: child i of the new array is the original's i-th failed index (ascending). Each
 * rerun child sees the index it reruns as AWS_BATCH_JOB_ARRAY_INDEX — so a script written for
 * AWS processes the right input — and its own place in the rerun as
 * OPENBATCH_RERUN_ARRAY_INDEX (compute/assignment.ts derives both at start from
 * OPENBATCH_RERUN_OF in the new array's environment). With one failed index the rerun is a
 * plain job (AWS arrays have at least two children) that still sees the original index as
 * AWS_BATCH_JOB_ARRAY_INDEX.
 *
 * Links, both ways, as tags: the new job carries `openbatch:rerun-of` (the original's id) and
 * `openbatch:rerun-indices` (the indices as ranges, `3,7-9`, when they fit a tag value); the
 * original gets `openbatch:rerun-by` (the newest rerun's id). A second rerun of the same array
 * is refused unless asked for (`again`): reruns made twice by mistake run the work twice.
 *
 * `withDependents`: the jobs that depended on the array failed with it ("Dependent Job
 * failed"); they, and the jobs that depended on them, are submitted again — each as it was,
 * with the rerun in place of the array and each resubmitted job in place of its original in
 * the dependencies, tagged `openbatch:resubmit-of`. A dependency on the array of type N_TO_N
 * becomes a plain one: the rerun's indices are not the original's.
 */
import { jobKind } from '../model/jobKind.js';
import type { JobDependency } from '@aws-sdk/client-batch';
import { clientError } from '../model/errors.js';
import { isFinal } from '../model/jobStateMachine.js';
import { ORIGINAL_INDEX_ENV, RERUN_OF_ENV, indexRanges } from '../model/rerun.js';
import { dependentsOf, failedIndices, getJob, jobSpecOf, type JobRow, consumablesOf, dependsOnOf, jobTagsOf } from '../store/jobs.js';
import type { Invoke } from './invoke.js';
import type { Services } from './context.js';

/** AWS's limit on a tag value */
const MAX_TAG_VALUE = 256;

/** What the caller asks beyond the array. */
export interface RerunOptions {
  /** rerun even though the array was rerun before */
  again?: boolean;
  /** submit again the jobs that depended on the array (and on them) */
  withDependents?: boolean;
}

/** A job submitted again by `withDependents`. */
export interface Resubmitted {
  originalJobId: string;
  jobId: string;
  jobName: string;
}

/** The tags a resubmission carries: the original's, without another resubmission's links. */
function carriedTags(job: JobRow): Record<string, string> {
  const tags = jobTagsOf(job);
  for (const k of ['openbatch:rerun-by', 'openbatch:rerun-of', 'openbatch:rerun-indices', 'openbatch:resubmit-of', 'openbatch:resubmitted-by']) delete tags[k];
  return tags;
}

/** SubmitJob's input for a job submitted again as it was (environment, dependencies and tags set by the caller). */
function resubmitInput(job: JobRow, env: { name?: string; value?: string }[] | undefined, tags: Record<string, string>, dependsOn?: JobDependency[]): Record<string, unknown> {
  const spec = jobSpecOf(job);
  const consumables = consumablesOf(job);
  const overrides = { ...(spec.containerOverrides ?? {}), environment: env };
  if (!env?.length) delete overrides.environment;
  const input: Record<string, unknown> = {
    jobName: job.name,
    jobQueue: job.queue_arn,
    jobDefinition: job.definition_arn,
    parameters: Object.keys(spec.parameters ?? {}).length ? spec.parameters : undefined,
    containerOverrides: Object.keys(overrides).length ? overrides : undefined,
    retryStrategy: spec.retryStrategy,
    timeout: spec.timeout?.attemptDurationSeconds !== undefined ? spec.timeout : undefined,
    propagateTags: spec.propagateTags,
    shareIdentifier: job.share_identifier ?? undefined,
    schedulingPriorityOverride: job.share_identifier ? job.scheduling_priority : undefined,
    consumableResourcePropertiesOverride: consumables.length ? { consumableResourceList: consumables.map((c) => ({ consumableResource: c.name, quantity: c.quantity })) } : undefined,
    dependsOn: dependsOn?.length ? dependsOn : undefined,
    tags,
  };
  if (job.array_size !== null) input.arrayProperties = { size: job.array_size };
  for (const k of Object.keys(input)) if (input[k] === undefined) delete input[k];
  return input;
}

export async function rerunFailed(s: Services, invoke: Invoke, arrayJobId: string, opts: RerunOptions = {}) {
  const job = await getJob(s.db, arrayJobId);
  if (!job) throw clientError(`arrayJobId '${arrayJobId}' does not exist`);
  if (jobKind(job) !== 'arrayParent') throw clientError(`arrayJobId '${arrayJobId}' is not an array job`);
  if (!isFinal(job.status)) throw clientError(`array job '${arrayJobId}' is ${job.status}: rerun its failed children once it has ended`);
  const previous = jobTagsOf(job)['openbatch:rerun-by'];
  if (previous && !opts.again) {
    throw clientError(`array job '${arrayJobId}' was already rerun by ${previous}: set again to rerun its failed children once more (openbatch rerun-failed --again)`);
  }
  const indices = await failedIndices(s.db, arrayJobId);
  if (indices.length === 0) throw clientError(`array job '${arrayJobId}' has no failed children to rerun`);
  // Dependents are read before anything is submitted, so that a refusal changes nothing.
  const dependents = opts.withDependents ? await failedDependents(s, arrayJobId) : [];

  const spec = jobSpecOf(job);
  const single = indices.length === 1;
  const env = (spec.containerOverrides?.environment ?? []).filter((e) => e.name !== RERUN_OF_ENV && e.name !== ORIGINAL_INDEX_ENV);
  env.push(single ? { name: ORIGINAL_INDEX_ENV, value: String(indices[0]) } : { name: RERUN_OF_ENV, value: arrayJobId });
  const ranges = indexRanges(indices);
  const tags: Record<string, string> = { ...carriedTags(job), 'openbatch:rerun-of': arrayJobId };
  if (ranges.length <= MAX_TAG_VALUE) tags['openbatch:rerun-indices'] = ranges;
  // Not the array's own dependencies: they were met (or the array never ran, and its "failed"
  // children would fail again at once behind them).
  const input = resubmitInput(job, env, tags);
  if (single) delete input.arrayProperties;
  else input.arrayProperties = { size: indices.length };
  const submitted = (await invoke('SubmitJob', input)) as { jobId: string; jobName: string; jobArn: string };
  await invoke('TagResource', { resourceArn: job.arn, tags: { 'openbatch:rerun-by': submitted.jobId } });

  const resubmitted = await resubmitDependents(invoke, dependents, arrayJobId, submitted.jobId);
  return {
    jobId: submitted.jobId,
    jobName: submitted.jobName,
    jobArn: submitted.jobArn,
    arraySize: single ? null : indices.length,
    originalIndices: indices,
    dependents: resubmitted,
  };
}

/**
 * The jobs that failed because the array did, directly or through another of them, in an
 * order where each comes after those it depends on. Only FAILED ones: a dependent that did
 * not fail (it no longer depends on the array's outcome, or someone resubmitted it) is left.
 */
async function failedDependents(s: Services, arrayJobId: string): Promise<JobRow[]> {
  const found = new Map<string, JobRow>();
  let frontier = [arrayJobId];
  while (frontier.length) {
    const next = (await dependentsOf(s.db, frontier)).filter((d) => d.status === 'FAILED' && !found.has(d.id));
    for (const d of next) found.set(d.id, d);
    frontier = next.map((d) => d.id);
  }
  const ordered: JobRow[] = [];
  const placed = new Set<string>();
  const pending = [...found.values()];
  while (pending.length) {
    const i = pending.findIndex((d) => dependsOnOf(d).every((dep) => !found.has(dep.jobId!) || placed.has(dep.jobId!)));
    // Dependencies cannot form a cycle (each names a job that existed before it), so one is always ready.
    const [d] = pending.splice(i < 0 ? 0 : i, 1);
    ordered.push(d);
    placed.add(d.id);
  }
  return ordered;
}

/** Submits each dependent again with the new ids in place of the old in its dependencies. */
async function resubmitDependents(invoke: Invoke, dependents: JobRow[], arrayJobId: string, rerunId: string): Promise<Resubmitted[]> {
  const replaced = new Map([[arrayJobId, rerunId]]);
  const out: Resubmitted[] = [];
  for (const d of dependents) {
    const dependsOn = dependsOnOf(d).map((dep): JobDependency => {
      const now = replaced.get(dep.jobId!);
      if (!now) return dep;
      // The rerun's children are not the array's: an N_TO_N dependency on it waits for the whole rerun.
      const type = dep.jobId === arrayJobId && dep.type === 'N_TO_N' ? undefined : dep.type;
      return type ? { jobId: now, type } : { jobId: now };
    });
    const spec = jobSpecOf(d);
    const submitted = (await invoke('SubmitJob', resubmitInput(d, spec.containerOverrides?.environment, { ...carriedTags(d), 'openbatch:resubmit-of': d.id }, dependsOn))) as { jobId: string; jobName: string };
    replaced.set(d.id, submitted.jobId);
    out.push({ originalJobId: d.id, jobId: submitted.jobId, jobName: submitted.jobName });
  }
  return out;
}
