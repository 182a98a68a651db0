/** SubmitJob, DescribeJobs, ListJobs, CancelJob, TerminateJob, GetJobQueueSnapshot. */
import type {
  AttemptDetail,
  ContainerDetail,
  DescribeJobsRequest,
  JobDetail,
  JobSummary,
  ListJobsRequest,
  SubmitJobRequest,
  ConsumableResourceProperties,
  ConsumableResourceRequirement,
  NodeProperties,
} from '@aws-sdk/client-batch';
import { checkHostAccess } from '../../compute/hostAccess.js';
import { clientError } from '../../model/errors.js';
import { makeArn, parseArn } from '../../model/arn.js';
import { resolveJobSpec, type JobSpec } from '../../model/jobSpec.js';
import { nodeSpec, resolveGang } from '../../model/multinode.js';
import {
  arrayStatusSummary,
  getAttempts,
  getJob,
  getJobs,
  allUnfinished,
  jobSpecOf,
  listJobs,
  newJobRow,
  runnableHead,
  runningByShare,
  type AttemptRow,
  type JobRow,
} from '../../store/jobs.js';
import { fromJson, toJson } from '../../store/json.js';
import { cancelJob, terminateJob } from '../../store/cancellation.js';
import { createJobs, insertEdges } from '../../store/transitions.js';
import { decodeToken, encodeToken, isSeqPosition } from '../../store/pagination.js';
import type { Handler, Services } from '../context.js';
import { findConsumableResource, findJobDefinition, findJobQueue, tagsOf } from './resolve.js';

/** A job id as DescribeJobs and friends accept it: the id itself or the job's ARN. */
function jobIdOf(ref: string): string {
  if (!ref.startsWith('arn:')) return ref;
  const parsed = parseArn(ref);
  return parsed?.kind === 'job' ? parsed.resource : ref;
}

function containerInstanceArn(job: JobRow, instanceId: string | null): string | undefined {
  if (!instanceId) return undefined;
  const [, , , region, account] = job.arn.split(':');
  return `arn:aws:ecs:${region}:${account}:container-instance/${instanceId}`;
}

function taskArn(job: JobRow, logStreamName: string | null): string | undefined {
  if (!logStreamName) return undefined;
  const [, , , region, account] = job.arn.split(':');
  return `arn:aws:ecs:${region}:${account}:task/${logStreamName.split('/').pop()}`;
}

function attemptDetail(job: JobRow, a: AttemptRow): AttemptDetail {
  return {
    container: {
      containerInstanceArn: containerInstanceArn(job, a.instance_id),
      taskArn: taskArn(job, a.log_stream_name),
      exitCode: a.exit_code ?? undefined,
      reason: a.reason ?? undefined,
      logStreamName: a.log_stream_name,
    },
    startedAt: a.started_at ?? undefined,
    stoppedAt: a.stopped_at ?? undefined,
    statusReason: a.status_reason ?? (a.status === 'SUCCEEDED' ? 'Essential container in task exited' : undefined),
  };
}

/**
 * A job's resources as AWS reports them: `vcpus` and `memory` only when the job got them
 * from those (deprecated) members, everything else in `resourceRequirements` — with the
 * defaults openbatch gave a job that named none (docs/compatibility.md), so the job shows
 * what it holds.
 */
function containerResources(spec: JobSpec): Pick<ContainerDetail, 'vcpus' | 'memory' | 'resourceRequirements'> {
  const requirements = [...spec.resourceRequirements];
  const defaulted = spec.defaultedResources ?? [];
  if (defaulted.includes('VCPU')) requirements.push({ type: 'VCPU', value: String(spec.vcpus) });
  if (defaulted.includes('MEMORY')) requirements.push({ type: 'MEMORY', value: String(spec.memoryMiB) });
  const has = (type: string) => requirements.some((r) => r.type === type);
  return {
    vcpus: has('VCPU') ? undefined : spec.vcpus,
    memory: has('MEMORY') ? undefined : spec.memoryMiB,
    resourceRequirements: requirements,
  };
}

export function jobDetail(job: JobRow, attempts: AttemptRow[], statusSummary?: Record<string, number>): JobDetail {
  const spec = jobSpecOf(job);
  const cp = spec.containerProperties ?? {};
  const current = attempts.find((a) => a.attempt === job.attempt_count);
  const container: ContainerDetail = {
    ...cp,
    image: cp.image,
    ...containerResources(spec),
    command: spec.command,
    environment: spec.environment,
    exitCode: job.exit_code ?? undefined,
    reason: current?.reason ?? undefined,
    containerInstanceArn: containerInstanceArn(job, current?.instance_id ?? null),
    taskArn: taskArn(job, job.log_stream_name),
    logStreamName: job.log_stream_name ?? undefined,
  };
  const detail: JobDetail = {
    jobArn: job.arn,
    jobName: job.name,
    jobId: job.id,
    jobQueue: job.queue_arn,
    status: job.status as JobDetail['status'],
    shareIdentifier: job.share_identifier ?? undefined,
    schedulingPriority: job.share_identifier ? job.scheduling_priority : undefined,
    attempts: attempts.filter((a) => a.status === 'SUCCEEDED' || a.status === 'FAILED').map((a) => attemptDetail(job, a)),
    statusReason: job.status_reason ?? undefined,
    createdAt: job.created_at,
    retryStrategy: spec.retryStrategy,
    startedAt: job.started_at ?? undefined,
    stoppedAt: job.stopped_at ?? undefined,
    dependsOn: fromJson<JobDetail['dependsOn']>(job.depends_on, []),
    jobDefinition: job.definition_arn,
    parameters: Object.keys(spec.parameters ?? {}).length ? spec.parameters : undefined,
    container,
    timeout: spec.timeout,
    tags: tagsOf(job.tags),
    propagateTags: spec.propagateTags,
    platformCapabilities: spec.platformCapabilities as JobDetail['platformCapabilities'],
    isCancelled: job.stopped_by === 'CANCEL' ? true : undefined,
    isTerminated: job.stopped_by === 'TERMINATE' ? true : undefined,
    arrayProperties: arrayProperties(job, statusSummary),
    consumableResourceProperties: job.consumables
      ? { consumableResourceList: fromJson<{ name: string; quantity: number }[]>(job.consumables, []).map((c) => ({ consumableResource: c.name, quantity: c.quantity })) }
      : undefined,
  };
  const spec_ = spec;
  if (job.num_nodes !== null && job.node_index === null) {
    // A multi-node parent: its nodeProperties instead of a container; attempts, times and exit are the main node's (given by the caller).
    detail.nodeProperties = spec_.gang?.nodeProperties;
    delete detail.container;
  } else if (job.node_index !== null) {
    detail.nodeDetails = { nodeIndex: job.node_index, isMainNode: job.node_index === spec_.mainNode };
  }
  if (isArrayParent(job)) {
    // The parent never runs: it has no container outcome and no attempts of its own.
    detail.attempts = [];
    delete detail.container!.exitCode;
    delete detail.container!.logStreamName;
  }
  return detail;
}

function isArrayParent(job: JobRow): boolean {
  return job.array_size !== null && job.parent_id === null;
}

function arrayProperties(job: JobRow, statusSummary?: Record<string, number>): JobDetail['arrayProperties'] {
  if (job.parent_id !== null) return { index: job.array_index ?? undefined };
  if (job.array_size === null) return undefined;
  return { size: job.array_size, statusSummary, statusSummaryLastUpdatedAt: job.updated_at };
}

function jobSummary(job: JobRow): JobSummary {
  return {
    jobArn: job.arn,
    jobId: job.id,
    jobName: job.name,
    createdAt: job.created_at,
    status: job.status as JobSummary['status'],
    statusReason: job.status_reason ?? undefined,
    startedAt: job.started_at ?? undefined,
    stoppedAt: job.stopped_at ?? undefined,
    container: job.exit_code !== null ? { exitCode: job.exit_code } : undefined,
    arrayProperties: job.array_size !== null ? (job.parent_id ? { index: job.array_index ?? undefined } : { size: job.array_size }) : undefined,
    nodeProperties:
      job.num_nodes === null
        ? undefined
        : job.node_index === null
          ? { numNodes: job.num_nodes }
          : { numNodes: job.num_nodes, nodeIndex: job.node_index, isMainNode: job.node_index === jobSpecOf(job).mainNode },
    jobDefinition: job.definition_arn,
  };
}

const submit: Handler = async (raw, ctx, s) => {
  const input = raw as unknown as SubmitJobRequest;
  const queue = await findJobQueue(s.db, input.jobQueue!, 'jobQueue', { cached: true });
  if (queue.state !== 'ENABLED') throw clientError(`jobQueue '${queue.name}' is DISABLED and does not accept new jobs`);
  const def = await findJobDefinition(s.db, input.jobDefinition!, 'jobDefinition', true, { cached: true });
  const arraySize = input.arrayProperties?.size;
  const multinode = def.type === 'multinode';
  if (input.nodeOverrides && !multinode) {
    throw clientError(`nodeOverrides applies only to multi-node parallel jobs: jobDefinition '${def.name}:${def.revision}' is of type ${def.type}`);
  }
  if (multinode && arraySize !== undefined) throw clientError('arrayProperties is not allowed with a multinode job definition: multi-node parallel jobs cannot be array jobs');
  if (multinode && input.containerOverrides) {
    throw clientError('containerOverrides is not allowed with a multinode job definition: use nodeOverrides.nodePropertyOverrides');
  }
  if (queue.scheduling_policy_arn && !input.shareIdentifier) {
    throw clientError(`shareIdentifier is required: jobQueue '${queue.name}' has a fair-share scheduling policy`);
  }
  if (!queue.scheduling_policy_arn && input.shareIdentifier) {
    throw clientError(`shareIdentifier is not allowed: jobQueue '${queue.name}' has no scheduling policy (FIFO)`);
  }
  const defSpec = fromJson<Record<string, unknown>>(def.spec, {});
  // A definition registered before the server narrowed its grants runs no more.
  if (defSpec.containerProperties || defSpec.nodeProperties) checkHostAccess(defSpec, s.config, `jobDefinition '${def.name}:${def.revision}': `);
  if (!defSpec.containerProperties && !multinode) {
    throw clientError(`jobDefinition '${def.name}:${def.revision}' has no containerProperties; openbatch runs container job definitions`);
  }
  const common = {
    definitionName: def.name,
    definitionParameters: defSpec.parameters as Record<string, string> | undefined,
    definitionRetryStrategy: defSpec.retryStrategy as never,
    definitionTimeout: defSpec.timeout as never,
    definitionPropagateTags: defSpec.propagateTags as boolean | undefined,
    definitionPlatformCapabilities: defSpec.platformCapabilities as string[] | undefined,
    definitionSchedulingPriority: defSpec.schedulingPriority as number | undefined,
    submitParameters: input.parameters,
    submitRetryStrategy: input.retryStrategy,
    submitTimeout: input.timeout,
    submitPropagateTags: input.propagateTags,
    schedulingPriorityOverride: input.schedulingPriorityOverride,
  };
  let spec: JobSpec;
  let totals: { vcpus: number; memoryMiB: number; gpus: number };
  if (multinode) {
    const gang = resolveGang(defSpec.nodeProperties as NodeProperties, input.nodeOverrides, common);
    spec = { ...nodeSpec(gang, gang.mainNode), type: 'multinode', gang };
    // The parent stands for the whole gang: its resources are the nodes' totals (queue caps, fair share, demand).
    totals = { vcpus: 0, memoryMiB: 0, gpus: 0 };
    for (const g of gang.groups) {
      const n = g.to - g.from + 1;
      totals.vcpus += g.spec.vcpus * n;
      totals.memoryMiB += g.spec.memoryMiB * n;
      totals.gpus += g.spec.gpus * n;
    }
  } else {
    spec = resolveJobSpec({ ...common, definitionType: def.type, containerProperties: defSpec.containerProperties as never, containerOverrides: input.containerOverrides });
    totals = spec;
  }
  const consumables = await resolveConsumables(
    s,
    input.consumableResourcePropertiesOverride?.consumableResourceList ?? (defSpec.consumableResourceProperties as ConsumableResourceProperties | undefined)?.consumableResourceList,
    input.consumableResourcePropertiesOverride ? 'consumableResourcePropertiesOverride' : 'jobDefinition consumableResourceProperties',
  );
  const deps = (input.dependsOn ?? []).flatMap((d, i) => {
    if (d.type === 'SEQUENTIAL' && !d.jobId) return []; // children wait on each other, not on a job
    if (!d.jobId) throw clientError(`dependsOn[${i}].jobId is required`);
    // SEQUENTIAL with a job id is a plain dependency on that job (the job's dependsOn shows it as sent).
    return [{ jobId: jobIdOf(d.jobId), type: d.type === 'N_TO_N' ? 'N_TO_N' : null, index: i }];
  });
  const id = s.ids.uuid();
  const now = s.clock.now();
  const tags = { ...(spec.propagateTags ? (fromJson<Record<string, string>>(def.tags, {}) ?? {}) : {}), ...(input.tags ?? {}) };
  // Jobs are never deleted, so a dependency seen now still exists at commit time: checking
  // outside the transaction lets the insert join a group commit that cannot fail on its own.
  if (deps.length) {
    const found = new Set((await getJobs(s.db, deps.map((d) => d.jobId))).map((j) => j.id));
    const missing = deps.find((d) => !found.has(d.jobId));
    if (missing) throw clientError(`dependsOn[${missing.index}].jobId '${missing.jobId}' does not exist`);
    for (const d of deps.filter((x) => x.type === 'N_TO_N')) {
      const other = (await getJob(s.db, d.jobId))!;
      if (other.array_size === null || other.parent_id !== null || other.array_size !== arraySize) {
        throw clientError(`dependsOn[${d.index}]: an N_TO_N dependency needs an array job of the same size (${arraySize}); '${d.jobId}' is ${other.array_size === null ? 'not an array job' : `an array of ${other.array_size}`}`);
      }
    }
  }
  await s.uow.writeGrouped(async (tx) => {
    await createJobs(
      tx,
      [
        newJobRow({
          id,
          arn: makeArn(ctx.scope, 'job', id),
          name: input.jobName!,
          queue: queue.name,
          queue_arn: queue.arn,
          definition_arn: def.arn,
          created_at: now,
          spec: toJson(spec),
          depends_on: toJson(input.dependsOn ?? []),
          pending_deps: deps.length,
          vcpus: totals.vcpus,
          memory_mib: totals.memoryMiB,
          gpus: totals.gpus,
          share_identifier: input.shareIdentifier ?? null,
          scheduling_priority: spec.schedulingPriority ?? 0,
          consumables: consumables.length ? toJson(consumables) : null,
          max_attempts: spec.retryStrategy?.attempts ?? 1,
          timeout_seconds: spec.timeout?.attemptDurationSeconds ?? null,
          array_size: arraySize ?? null,
          array_materialized: arraySize === undefined ? null : 0,
          array_succeeded: arraySize === undefined ? null : 0,
          array_failed: arraySize === undefined ? null : 0,
          tags: toJson(tags),
          num_nodes: spec.gang?.numNodes ?? null,
        }),
      ],
      now,
    );
    await insertEdges(tx, deps.map((d) => ({ job_id: id, depends_on_id: d.jobId, type: d.type })));
  });
  // A job whose dependencies are all unfinished can only go PENDING: its admission may wait
  // for the next pass. Read after the commit: a dependency that finished in a pass that ran
  // before it could not admit the job, which then needs a pass now.
  const onlyPending = deps.length > 0 && arraySize === undefined && (await allUnfinished(s.db, deps.map((d) => d.jobId)));
  s.kickScheduler(onlyPending ? 'dependent' : 'submitted');
  return { jobArn: makeArn(ctx.scope, 'job', id), jobName: input.jobName, jobId: id };
};

const describe: Handler = async (raw, _ctx, s) => {
  const input = raw as unknown as DescribeJobsRequest;
  // An empty id names no job: left out like an unknown one, as AWS does.
  const ids = [...new Set(input.jobs!.filter((j) => j !== '').map(jobIdOf))];
  if (ids.length > 100) throw clientError(`jobs may list at most 100 job ids (got ${ids.length})`);
  const rows = await getJobs(s.db, ids);
  // A multi-node parent reports its main node's attempts, as AWS does.
  const mainOf = new Map(rows.filter((r) => r.num_nodes !== null && r.node_index === null).map((r) => [`${r.id}#${jobSpecOf(r).gang?.mainNode ?? 0}`, r.id]));
  const attempts = (await getAttempts(s.db, [...rows.map((r) => r.id), ...mainOf.keys()])).map((a) => (mainOf.has(a.job_id) ? { ...a, job_id: mainOf.get(a.job_id)! } : a));
  const byJob = new Map<string, AttemptRow[]>();
  for (const a of attempts) (byJob.get(a.job_id) ?? byJob.set(a.job_id, []).get(a.job_id)!).push(a);
  const order = new Map(ids.map((id, i) => [id, i]));
  rows.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  const details: JobDetail[] = [];
  for (const r of rows) details.push(jobDetail(r, byJob.get(r.id) ?? [], isArrayParent(r) ? await arrayStatusSummary(s.db, r) : undefined));
  return { jobs: details };
};

const list: Handler = async (raw, _ctx, s) => {
  const input = raw as unknown as ListJobsRequest;
  const given = [input.jobQueue, input.arrayJobId, input.multiNodeJobId].filter((x) => x !== undefined).length;
  if (given > 1) throw clientError('give only one of jobQueue, arrayJobId and multiNodeJobId');
  if (given === 0 && !input.filters?.length) throw clientError('one of jobQueue, arrayJobId or multiNodeJobId is required');
  const filters = input.filters ?? [];
  if (filters.length > 1) throw clientError('filters may hold only one filter');
  const limit = Math.min(input.maxResults ?? (filters.length ? 100 : 1000), filters.length ? 100 : 1000);
  const afterSeq = decodeToken<number>('ListJobs', input.nextToken, isSeqPosition);
  const queue = input.jobQueue !== undefined ? (await findJobQueue(s.db, input.jobQueue)).name : undefined;
  const f = filters[0];
  const values = f?.values ?? [];
  const filter = {
    queue,
    parentId: input.arrayJobId ?? input.multiNodeJobId,
    statuses: f && f.name !== 'SHARE_IDENTIFIER' ? undefined : [input.jobStatus ?? 'RUNNING'],
    namePattern: f?.name === 'JOB_NAME' ? values[0] : undefined,
    definitionName: f?.name === 'JOB_DEFINITION' && !values[0]?.startsWith('arn:') && !values[0]?.includes(':') ? values[0] : undefined,
    definitionArns: undefined as string[] | undefined,
    createdBefore: f?.name === 'BEFORE_CREATED_AT' ? Number(values[0]) : undefined,
    createdAfter: f?.name === 'AFTER_CREATED_AT' ? Number(values[0]) : undefined,
    sharePattern: f?.name === 'SHARE_IDENTIFIER' ? values[0] : undefined,
    newestFirst: !!f,
    afterSeq,
    limit: limit + 1,
  };
  if (f && !values.length) throw clientError(`filters[0].values must hold a value for ${f.name}`);
  if (f?.name === 'JOB_DEFINITION' && filter.definitionName === undefined) {
    filter.definitionArns = [(await findJobDefinition(s.db, values[0], 'filters[0].values[0]', false)).arn];
  }
  if ((filter.createdBefore !== undefined && !Number.isFinite(filter.createdBefore)) || (filter.createdAfter !== undefined && !Number.isFinite(filter.createdAfter))) {
    throw clientError(`filters[0].values[0] must be a time in epoch milliseconds for ${f!.name}`);
  }
  const rows = await listJobs(s.db, filter);
  const page = rows.slice(0, limit);
  return {
    jobSummaryList: page.map(jobSummary),
    nextToken: rows.length > limit ? encodeToken('ListJobs', page[page.length - 1].seq) : undefined,
  };
};

/** A job's consumable resources by name, each checked to exist. */
async function resolveConsumables(s: Services, list: ConsumableResourceRequirement[] | undefined, member: string): Promise<{ name: string; quantity: number }[]> {
  const out: { name: string; quantity: number }[] = [];
  for (const [i, c] of (list ?? []).entries()) {
    const row = await findConsumableResource(s.db, c.consumableResource ?? '', `${member}.consumableResourceList[${i}].consumableResource`);
    out.push({ name: row.name, quantity: c.quantity ?? 1 });
  }
  return out;
}

/**
 * CancelJob and TerminateJob of a job id that names no job answer 200 `{}` as AWS does (as
 * for a job that already ended): scripts that stop jobs by id, some long gone, rely on it.
 */
async function findJob(s: Services, ref: string): Promise<JobRow | undefined> {
  return getJob(s.db, jobIdOf(ref));
}

const cancel: Handler = async (raw, _ctx, s) => {
  const job = await findJob(s, String(raw.jobId));
  if (!job) return {};
  await s.uow.write(async (tx) => {
    const current = (await getJob(tx.db, job.id))!;
    await cancelJob(tx, current, String(raw.reason), s.clock.now());
  });
  s.kickScheduler();
  return {};
};

const terminate: Handler = async (raw, _ctx, s) => {
  const job = await findJob(s, String(raw.jobId));
  if (!job) return {};
  const outcome = await s.uow.write(async (tx) => {
    const current = (await getJob(tx.db, job.id))!;
    return { result: await terminateJob(tx, current, String(raw.reason), s.clock.now()), instance: current.instance_id };
  });
  if (outcome.result === 'terminating' && outcome.instance) s.notifyInstance(outcome.instance);
  if (typeof outcome.result === 'object') for (const i of outcome.result.instances) s.notifyInstance(i);
  s.kickScheduler();
  return {};
};

/**
 * CancelJobs / TerminateJobs: the same as one call per job, with per-job errors instead of
 * one failure. A job that cannot be found counts as processed, as AWS documents for these
 * bulk operations.
 */
function bulk(one: Handler, verb: string): Handler {
  return async (raw, ctx, s) => {
    const jobs = raw.jobs as string[];
    if (jobs.length === 0 || jobs.length > 50) throw clientError(`jobs must list 1 to 50 job ids (got ${jobs.length})`);
    const successful: string[] = [];
    const errors: { job: string; code: string; message: string }[] = [];
    for (const job of jobs) {
      try {
        if (await getJob(s.db, jobIdOf(job))) await one({ jobId: job, reason: raw.reason }, ctx, s);
        successful.push(job);
      } catch (e) {
        const err = e as { code?: string; message: string };
        errors.push({ job, code: err.code ?? 'ServerException', message: `${verb}: ${err.message}` });
      }
    }
    return { successful, errors };
  };
}

/**
 * GetJobQueueSnapshot: the first 100 RUNNABLE jobs in the order the scheduler's last pass
 * considered them (for fair-share queues that interleaves the shares), and the vCPUs the
 * queue's jobs hold now, in total and per share.
 */
const snapshot: Handler = async (raw, _ctx, s) => {
  const queue = await findJobQueue(s.db, String(raw.jobQueue));
  const order = s.waitingIn(queue.name);
  const ids = order ? order.slice(0, 100).map((w) => w.jobId) : (await runnableHead(s.db, queue.name, 100)).map((j) => j.id);
  const rows = new Map((await getJobs(s.db, ids)).filter((j) => j.status === 'RUNNABLE').map((j) => [j.id, j]));
  const usage = (await runningByShare(s.db)).filter((r) => r.queue === queue.name);
  const now = s.clock.now();
  return {
    frontOfQueue: {
      jobs: ids.filter((id) => rows.has(id)).map((id) => ({ jobArn: rows.get(id)!.arn, earliestTimeAtPosition: rows.get(id)!.runnable_at ?? rows.get(id)!.created_at })),
      lastUpdatedAt: now,
    },
    queueUtilization: {
      totalCapacityUsage: [{ capacityUnit: 'VCPU', quantity: usage.reduce((n, u) => n + u.vcpus, 0) }],
      fairshareUtilization: queue.scheduling_policy_arn
        ? {
            activeShareCount: usage.filter((u) => u.share).length,
            topCapacityUtilization: usage
              .filter((u) => u.share)
              .sort((a, b) => b.vcpus - a.vcpus)
              .slice(0, 20)
              .map((u) => ({ shareIdentifier: u.share!, capacityUsage: [{ capacityUnit: 'VCPU', quantity: u.vcpus }] })),
          }
        : undefined,
      lastUpdatedAt: now,
    },
  };
};

export const jobHandlers: Record<string, Handler> = {
  SubmitJob: submit,
  DescribeJobs: describe,
  ListJobs: list,
  CancelJob: cancel,
  TerminateJob: terminate,
  GetJobQueueSnapshot: snapshot,
  CancelJobs: bulk(cancel, 'cancel'),
  TerminateJobs: bulk(terminate, 'terminate'),
};
