/**
 * Rerun the failed children of an array job (`POST /openbatch/v1/rerunFailed`,
 * `openbatch rerun-failed`): a new array over exactly the failed indices, with the same
 * definition, queue, overrides, parameters, retry strategy, timeout, share and tags, submitted
 * through SubmitJob with the API's own checks.
 *
 * The mapping: child i of the new array is the original's i-th failed index (ascending). The
 * new array's environment names the array it reruns (OPENBATCH_RERUN_OF); the agent hub turns
 * that into OPENBATCH_ORIGINAL_ARRAY_INDEX for each child (compute/rerunIndex.ts). With one
 * failed index the rerun is a plain job with OPENBATCH_ORIGINAL_ARRAY_INDEX set (AWS arrays
 * have at least two children).
 *
 * Links, both ways, as tags: the new job carries `openbatch:rerun-of` (the original's id) and
 * `openbatch:rerun-indices` (the indices as ranges, `3,7-9`, when they fit a tag value); the
 * original gets `openbatch:rerun-by` (the newest rerun's id).
 */
import { clientError } from '../model/errors.js';
import { isFinal } from '../model/jobStateMachine.js';
import { ORIGINAL_INDEX_ENV, RERUN_OF_ENV, indexRanges } from '../model/rerun.js';
import { failedIndices, getJob, jobSpecOf } from '../store/jobs.js';
import { fromJson } from '../store/json.js';
import type { Invoke } from './invoke.js';
import type { Services } from './context.js';

/** AWS's limit on a tag value */
const MAX_TAG_VALUE = 256;

export async function rerunFailed(s: Services, invoke: Invoke, arrayJobId: string) {
  const job = await getJob(s.db, arrayJobId);
  if (!job) throw clientError(`arrayJobId '${arrayJobId}' does not exist`);
  if (job.array_size === null || job.parent_id !== null) throw clientError(`arrayJobId '${arrayJobId}' is not an array job`);
  if (!isFinal(job.status)) throw clientError(`array job '${arrayJobId}' is ${job.status}: rerun its failed children once it has ended`);
  const indices = await failedIndices(s.db, arrayJobId);
  if (indices.length === 0) throw clientError(`array job '${arrayJobId}' has no failed children to rerun`);

  const spec = jobSpecOf(job);
  const single = indices.length === 1;
  const env = (spec.containerOverrides?.environment ?? []).filter((e) => e.name !== RERUN_OF_ENV && e.name !== ORIGINAL_INDEX_ENV);
  env.push(single ? { name: ORIGINAL_INDEX_ENV, value: String(indices[0]) } : { name: RERUN_OF_ENV, value: arrayJobId });
  const ranges = indexRanges(indices);
  const tags: Record<string, string> = { ...fromJson<Record<string, string>>(job.tags, {}), 'openbatch:rerun-of': arrayJobId };
  delete tags['openbatch:rerun-by'];
  delete tags['openbatch:rerun-indices'];
  if (ranges.length <= MAX_TAG_VALUE) tags['openbatch:rerun-indices'] = ranges;
  const consumables = job.consumables ? fromJson<{ name: string; quantity: number }[]>(job.consumables, []) : [];
  const input: Record<string, unknown> = {
    jobName: job.name,
    jobQueue: job.queue_arn,
    jobDefinition: job.definition_arn,
    parameters: Object.keys(spec.parameters ?? {}).length ? spec.parameters : undefined,
    containerOverrides: { ...(spec.containerOverrides ?? {}), environment: env },
    retryStrategy: spec.retryStrategy,
    timeout: spec.timeout?.attemptDurationSeconds !== undefined ? spec.timeout : undefined,
    propagateTags: spec.propagateTags,
    shareIdentifier: job.share_identifier ?? undefined,
    schedulingPriorityOverride: job.share_identifier ? job.scheduling_priority : undefined,
    consumableResourcePropertiesOverride: consumables.length ? { consumableResourceList: consumables.map((c) => ({ consumableResource: c.name, quantity: c.quantity })) } : undefined,
    tags,
  };
  if (!single) input.arrayProperties = { size: indices.length };
  for (const k of Object.keys(input)) if (input[k] === undefined) delete input[k];
  const submitted = (await invoke('SubmitJob', input)) as { jobId: string; jobName: string; jobArn: string };
  await invoke('TagResource', { resourceArn: job.arn, tags: { 'openbatch:rerun-by': submitted.jobId } });
  return { jobId: submitted.jobId, jobName: submitted.jobName, jobArn: submitted.jobArn, arraySize: single ? null : indices.length, originalIndices: indices };
}
