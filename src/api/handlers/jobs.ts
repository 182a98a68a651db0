/** SubmitJob, DescribeJobs, ListJobs, CancelJob, TerminateJob, GetJobQueueSnapshot. */
import type {
  AttemptDetail,
  CancelJobRequest,
  CancelJobsRequest,
  ContainerDetail,
  DescribeJobsRequest,
  EcsTaskProperties,
  GetJobQueueSnapshotRequest,
  JobDetail,
  JobSummary,
  ListJobsRequest,
  SubmitJobRequest,
  TerminateJobRequest,
  TerminateJobsRequest,
} from '@aws-sdk/client-batch';
import { clientError } from '../../model/errors.js';
import { ecsArns, jobIdOf, scopeOfArn } from '../../model/arn.js';
import { containerLogStream } from '../../model/taskSpec.js';
import { jobKind } from '../../model/jobKind.js';
import type { JobSpec } from '../../model/jobSpec.js';
import { attemptContainersOf, arrayStatusSummary, attemptsHolderOf, getAttempts, getJobs, jobSpecOf, listJobs, runnableHead, runningByShare, type AttemptRow, type JobRow, consumablesOf, dependsOnOf } from '../../store/jobs.js';
import { decodeToken, encodeToken, isSeqPosition } from '../../store/pagination.js';
import { typed, type Handler } from '../context.js';
import { findJobDefinition, findJobQueue } from '../../domain/resolve.js';
import { cancelJob, cancelJobs, submitJob, terminateJob, terminateJobs } from '../../domain/jobs.js';
import { tagsOf } from '../../store/tags.js';
import { USAGE_MEMBER, usageMember } from '../usage.js';

function containerInstanceArn(job: JobRow, instanceId: string | null): string | undefined {
  return instanceId ? ecsArns.containerInstance(scopeOfArn(job.arn), instanceId) : undefined;
}

function taskArn(job: JobRow, logStreamName: string | null): string | undefined {
  return logStreamName ? ecsArns.task(scopeOfArn(job.arn), logStreamName) : undefined;
}

/** A task's containers as an attempt left them: each container of the spec, with its exit where one was reported. */
function containerEnds(job: JobRow, spec: JobSpec, a: AttemptRow | undefined): { name: string; exitCode?: number; reason?: string; logStreamName?: string }[] {
  const ends = a ? attemptContainersOf(a) : null;
  return spec.task!.containers.map((c) => {
    // An attempt that ended before its containers were made (a secret not found): its reason is each one's.
    const e = ends ? ends.find((x) => x.name === c.name) : a?.reason ? { exitCode: null, reason: a.reason } : undefined;
    const stream = a?.log_stream_name ?? job.log_stream_name;
    return {
      name: c.name,
      ...(e?.exitCode !== null && e?.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
      ...(e?.reason ? { reason: e.reason } : {}),
      ...(stream ? { logStreamName: containerLogStream(stream, c.name) } : {}),
    };
  });
}

/** An EKS pod's name (AWS: `aws-batch.<uuid>`) from the attempt's task id. */
function podName(logStreamName: string | null): string | undefined {
  return logStreamName ? `aws-batch.${logStreamName.split('/').pop()}` : undefined;
}

/** One ended attempt, as DescribeJobs shows it; `spec` is the job's, decoded once by the caller. */
function attemptDetail(job: JobRow, spec: JobSpec, a: AttemptRow): AttemptDetail {
  if (spec.task?.orchestration === 'ECS') {
    return {
      startedAt: a.started_at ?? undefined,
      stoppedAt: a.stopped_at ?? undefined,
      statusReason: a.status_reason ?? (a.status === 'SUCCEEDED' ? 'Essential container in task exited' : undefined),
      taskProperties: [
        {
          containerInstanceArn: containerInstanceArn(job, a.instance_id),
          taskArn: taskArn(job, a.log_stream_name),
          containers: containerEnds(job, spec, a).map((c) => ({ name: c.name, exitCode: c.exitCode, reason: c.reason, logStreamName: c.logStreamName })),
        },
      ],
    };
  }
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
    attempts: attempts.filter((a) => a.status === 'SUCCEEDED' || a.status === 'FAILED').map((a) => attemptDetail(job, spec, a)),
    statusReason: job.status_reason ?? undefined,
    createdAt: job.created_at,
    retryStrategy: spec.retryStrategy,
    startedAt: job.started_at ?? undefined,
    stoppedAt: job.stopped_at ?? undefined,
    dependsOn: dependsOnOf(job),
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
      ? { consumableResourceList: consumablesOf(job).map((c) => ({ consumableResource: c.name, quantity: c.quantity })) }
      : undefined,
  };
  if (spec.task) taskDetail(detail, job, spec, attempts, current);
  const kind = jobKind(job);
  if (kind === 'gangParent') {
    // A multi-node parent: its nodeProperties instead of a container; attempts, times and exit are the main node's (given by the caller).
    detail.nodeProperties = spec.gang?.nodeProperties;
    delete detail.container;
  } else if (kind === 'node') {
    detail.nodeDetails = { nodeIndex: job.node_index!, isMainNode: job.node_index === spec.mainNode };
  }
  if (kind === 'arrayParent') {
    // The parent never runs: it has no container outcome and no attempts of its own.
    detail.attempts = [];
    delete detail.container!.exitCode;
    delete detail.container!.logStreamName;
  }
  return detail;
}

/**
 * A job of several containers as AWS describes it: no `container`, but its ecsProperties
 * (each container with its exit, reason and log stream) and attempts with taskProperties; or
 * its eksProperties (with the pod's and node's names) and eksAttempts.
 */
function taskDetail(detail: JobDetail, job: JobRow, spec: JobSpec, attempts: AttemptRow[], current: AttemptRow | undefined): void {
  const task = spec.task!;
  delete detail.container;
  const ends = new Map(containerEnds(job, spec, current).map((c) => [c.name, c]));
  const outcome = (name: string | undefined) => {
    const e = ends.get(name ?? '');
    return { ...(e?.exitCode !== undefined ? { exitCode: e.exitCode } : {}), ...(e?.reason ? { reason: e.reason } : {}) };
  };
  if (task.orchestration === 'ECS') {
    const tp: EcsTaskProperties = task.ecsProperties?.taskProperties?.[0] ?? { containers: [] };
    detail.ecsProperties = {
      taskProperties: [
        {
          ...tp,
          containerInstanceArn: containerInstanceArn(job, current?.instance_id ?? null),
          taskArn: taskArn(job, job.log_stream_name),
          containers: (tp.containers ?? []).map((c) => ({ ...c, ...outcome(c.name), ...(ends.get(c.name ?? '')?.logStreamName ? { logStreamName: ends.get(c.name ?? '')!.logStreamName } : {}) })),
        },
      ],
    };
    return;
  }
  const pod = task.eksProperties?.podProperties ?? {};
  const ended = attempts.filter((a) => a.status === 'SUCCEEDED' || a.status === 'FAILED');
  detail.eksProperties = {
    podProperties: {
      ...pod,
      containers: (pod.containers ?? []).map((c) => ({ ...c, ...outcome(c.name) })),
      ...(pod.initContainers ? { initContainers: pod.initContainers.map((c) => ({ ...c, ...outcome(c.name) })) } : {}),
      podName: podName(job.log_stream_name),
      nodeName: current?.instance_id ?? undefined,
    },
  };
  detail.attempts = [];
  detail.eksAttempts = ended.map((a) => {
    const byName = new Map(containerEnds(job, spec, a).map((c) => [c.name, c]));
    const one = (name: string) => ({ name, exitCode: byName.get(name)?.exitCode, reason: byName.get(name)?.reason });
    return {
      containers: task.containers.filter((c) => !c.init).map((c) => one(c.name)),
      initContainers: task.containers.filter((c) => c.init).map((c) => one(c.name)),
      podName: podName(a.log_stream_name),
      podNamespace: pod.metadata?.namespace ?? 'default',
      nodeName: a.instance_id,
      startedAt: a.started_at ?? undefined,
      stoppedAt: a.stopped_at ?? undefined,
      statusReason: a.status_reason ?? (a.status === 'SUCCEEDED' ? 'Essential container in task exited' : undefined),
    };
  });
}

function arrayProperties(job: JobRow, statusSummary?: Record<string, number>): JobDetail['arrayProperties'] {
  const kind = jobKind(job);
  if (kind === 'arrayChild' || kind === 'node') return { index: job.array_index ?? undefined };
  if (kind !== 'arrayParent') return undefined;
  return { size: job.array_size!, statusSummary, statusSummaryLastUpdatedAt: job.updated_at };
}

function jobSummary(job: JobRow): JobSummary {
  const kind = jobKind(job);
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
    arrayProperties: kind === 'arrayChild' ? { index: job.array_index ?? undefined } : kind === 'arrayParent' ? { size: job.array_size! } : undefined,
    nodeProperties:
      kind === 'gangParent'
        ? { numNodes: job.num_nodes! }
        : kind === 'node'
          ? { numNodes: job.num_nodes!, nodeIndex: job.node_index!, isMainNode: job.node_index === jobSpecOf(job).mainNode }
          : undefined,
    jobDefinition: job.definition_arn,
  };
}

const submit = typed<SubmitJobRequest>((input, ctx, s) => submitJob(s, ctx.scope, input));

const describe = typed<DescribeJobsRequest>(async (input, _ctx, s) => {
  // An empty id names no job: left out like an unknown one, as AWS does.
  const ids = [...new Set(input.jobs!.filter((j) => j !== '').map(jobIdOf))];
  if (ids.length > 100) throw clientError(`jobs may list at most 100 job ids (got ${ids.length})`);
  const rows = await getJobs(s.db, ids);
  // A multi-node parent reports its main node's attempts, as AWS does.
  const mainOf = new Map(rows.filter((r) => jobKind(r) === 'gangParent').map((r) => [attemptsHolderOf(r), r.id]));
  const attempts = (await getAttempts(s.db, [...rows.map((r) => r.id), ...mainOf.keys()])).map((a) => (mainOf.has(a.job_id) ? { ...a, job_id: mainOf.get(a.job_id)! } : a));
  const byJob = new Map<string, AttemptRow[]>();
  for (const a of attempts) (byJob.get(a.job_id) ?? byJob.set(a.job_id, []).get(a.job_id)!).push(a);
  const order = new Map(ids.map((id, i) => [id, i]));
  rows.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  const details: JobDetail[] = [];
  for (const r of rows) details.push(jobDetail(r, byJob.get(r.id) ?? [], jobKind(r) === 'arrayParent' ? await arrayStatusSummary(s.db, r) : undefined));
  // What the jobs used: an extension member beside AWS's own, which SDKs drop (api/usage.ts).
  return { jobs: details, [USAGE_MEMBER]: usageMember(rows, byJob) };
});

const list = typed<ListJobsRequest>(async (input, _ctx, s) => {
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
});

/**
 * GetJobQueueSnapshot: the first 100 RUNNABLE jobs in the order the scheduler's last pass
 * considered them (for fair-share queues that interleaves the shares), and the vCPUs the
 * queue's jobs hold now, in total and per share.
 */
const snapshot = typed<GetJobQueueSnapshotRequest>(async (input, _ctx, s) => {
  const queue = await findJobQueue(s.db, input.jobQueue!);
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
});

export const jobHandlers: Record<string, Handler> = {
  SubmitJob: submit,
  DescribeJobs: describe,
  ListJobs: list,
  CancelJob: typed<CancelJobRequest>((input, _ctx, s) => cancelJob(s, input)),
  TerminateJob: typed<TerminateJobRequest>((input, _ctx, s) => terminateJob(s, input)),
  GetJobQueueSnapshot: snapshot,
  CancelJobs: typed<CancelJobsRequest>((input, _ctx, s) => cancelJobs(s, input)),
  TerminateJobs: typed<TerminateJobsRequest>((input, _ctx, s) => terminateJobs(s, input)),
};
