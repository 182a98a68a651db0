/**
 * The job operations — SubmitJob, CancelJob, TerminateJob and their bulk forms — with the
 * AWS SDK's own request and response types in and out. Each reads as resolve → decide →
 * apply: find what the request names (domain/resolve.ts, NotFound), decide purely
 * (model/submission.ts; the store's cancellation rules), write in one transaction, and answer.
 * The request's shape was checked before (api/validate/jobs.ts); the AWS wire format of
 * errors and answers is api/'s.
 */
import type {
  CancelJobRequest,
  CancelJobResponse,
  CancelJobsRequest,
  CancelJobsResponse,
  ConsumableResourceRequirement,
  SubmitJobRequest,
  SubmitJobResponse,
  TerminateJobRequest,
  TerminateJobResponse,
  TerminateJobsRequest,
  TerminateJobsResponse,
} from '@aws-sdk/client-batch';
import { checkHostAccess } from '../compute/hostAccess.js';
import type { Core } from '../core.js';
import { jobIdOf, makeArn, type ArnScope } from '../model/arn.js';
import { isBatchError } from '../model/errors.js';
import { jobKind } from '../model/jobKind.js';
import { planSubmission, type SubmissionFacts } from '../model/submission.js';
import { cancelJob as cancelInStore, terminateJob as terminateInStore } from '../store/cancellation.js';
import { definitionSpecOf, definitionTagsOf } from '../store/jobDefinitions.js';
import { allUnfinished, getJob, getJobs } from '../store/jobs.js';
import { createSubmittedJob } from '../store/transitions.js';
import { findConsumableResource, findJobDefinition, findJobQueue } from './resolve.js';

/** What the job operations use: the core services, and waking an instance's agent (TerminateJob). */
export interface JobServices extends Core {
  notifyInstance(instanceId: string): void;
}

export async function submitJob(s: JobServices, scope: ArnScope, input: SubmitJobRequest): Promise<SubmitJobResponse> {
  // Resolve what the request names (lookups through the cache: SubmitJob's hot path).
  const queue = await findJobQueue(s.db, input.jobQueue!, 'jobQueue', { cached: true });
  const def = await findJobDefinition(s.db, input.jobDefinition!, 'jobDefinition', true, { cached: true });
  const spec = definitionSpecOf(def);
  // A definition registered before the server narrowed its grants runs no more.
  if (spec.containerProperties || spec.nodeProperties || spec.ecsProperties || spec.eksProperties) checkHostAccess(spec, s.config, `jobDefinition '${def.name}:${def.revision}': `);
  const override = input.consumableResourcePropertiesOverride;
  const consumables = await resolveConsumables(
    s,
    override?.consumableResourceList ?? spec.consumableResourceProperties?.consumableResourceList,
    override ? 'consumableResourcePropertiesOverride' : 'jobDefinition consumableResourceProperties',
  );
  // Jobs are never deleted, so a dependency seen now still exists at commit time: looking
  // outside the transaction lets the insert join a group commit that cannot fail on its own.
  const named = [...new Set((input.dependsOn ?? []).flatMap((d) => (d.jobId ? [jobIdOf(d.jobId)] : [])))];
  const dependencies: SubmissionFacts['dependencies'] = new Map((await getJobs(s.db, named)).map((j) => [j.id, { kind: jobKind(j), arraySize: j.array_size }]));
  // Decide.
  const id = s.ids.uuid();
  const job = planSubmission({
    request: input,
    id,
    arn: makeArn(scope, 'job', id),
    now: s.clock.now(),
    queue: { name: queue.name, arn: queue.arn, enabled: queue.state === 'ENABLED', fairShare: queue.scheduling_policy_arn !== null },
    definition: { name: def.name, revision: def.revision, arn: def.arn, type: def.type, spec, tags: definitionTagsOf(def) },
    dependencies,
    consumables,
  });
  // Apply.
  await s.uow.writeGrouped((tx) => createSubmittedJob(tx, job));
  // A job whose dependencies are all unfinished can only go PENDING: its admission may wait
  // for the next pass. Read after the commit: a dependency that finished in a pass that ran
  // before it could not admit the job, which then needs a pass now.
  const onlyPending = job.edges.length > 0 && job.arraySize === null && (await allUnfinished(s.db, job.edges.map((e) => e.jobId)));
  s.kickScheduler(onlyPending ? 'dependent' : 'submitted');
  return { jobArn: job.arn, jobName: job.name, jobId: job.id };
}

/** A job's consumable resources by name, each checked to exist. */
async function resolveConsumables(s: JobServices, list: ConsumableResourceRequirement[] | undefined, member: string): Promise<{ name: string; quantity: number }[]> {
  const out: { name: string; quantity: number }[] = [];
  for (const [i, c] of (list ?? []).entries()) {
    const row = await findConsumableResource(s.db, c.consumableResource ?? '', `${member}.consumableResourceList[${i}].consumableResource`);
    out.push({ name: row.name, quantity: c.quantity ?? 1 });
  }
  return out;
}

/**
 * CancelJob: a job not yet placed fails with the reason; a placed one is left alone, as AWS
 * does. A job id that names no job answers `{}` as AWS does (as the bulk forms count it
 * processed).
 */
export async function cancelJob(s: JobServices, input: CancelJobRequest): Promise<CancelJobResponse> {
  const id = jobIdOf(input.jobId!);
  if (!(await getJob(s.db, id))) return {};
  await s.uow.write(async (tx) => {
    const current = (await getJob(tx.db, id))!;
    await cancelInStore(tx, current, input.reason!, s.clock.now());
  });
  s.kickScheduler();
  return {};
}

/** TerminateJob: CancelJob's, and a placed job is stopped (its agent is woken to stop it) and fails with the reason. */
export async function terminateJob(s: JobServices, input: TerminateJobRequest): Promise<TerminateJobResponse> {
  const id = jobIdOf(input.jobId!);
  if (!(await getJob(s.db, id))) return {};
  const outcome = await s.uow.write(async (tx) => {
    const current = (await getJob(tx.db, id))!;
    return { result: await terminateInStore(tx, current, input.reason!, s.clock.now()), instance: current.instance_id };
  });
  if (outcome.result === 'terminating' && outcome.instance) s.notifyInstance(outcome.instance);
  if (typeof outcome.result === 'object') for (const i of outcome.result.instances) s.notifyInstance(i);
  s.kickScheduler();
  return {};
}

/**
 * CancelJobs / TerminateJobs: one call per job, with per-job errors instead of one failure.
 * A job that cannot be found counts as processed, as AWS documents for these bulk operations.
 */
async function bulk(jobs: string[], one: (jobId: string) => Promise<unknown>, verb: string): Promise<{ successful: string[]; errors: { job: string; code: string; message: string }[] }> {
  const successful: string[] = [];
  const errors: { job: string; code: string; message: string }[] = [];
  for (const job of jobs) {
    try {
      await one(job);
      successful.push(job);
    } catch (e) {
      // A database failure is a server's failure of that job, said as such; a bug is not hidden either.
      errors.push({ job, code: isBatchError(e) ? e.code : 'ServerException', message: `${verb}: ${(e as Error).message}` });
    }
  }
  return { successful, errors };
}

export async function cancelJobs(s: JobServices, input: CancelJobsRequest): Promise<CancelJobsResponse> {
  return bulk(input.jobs!, (jobId) => cancelJob(s, { jobId, reason: input.reason }), 'cancel') as Promise<CancelJobsResponse>;
}

export async function terminateJobs(s: JobServices, input: TerminateJobsRequest): Promise<TerminateJobsResponse> {
  return bulk(input.jobs!, (jobId) => terminateJob(s, { jobId, reason: input.reason }), 'terminate') as Promise<TerminateJobsResponse>;
}
