/**
 * SubmitJob's decision, made once and purely: from the request and what it names, resolved
 * (the queue, the job definition, the jobs it depends on, the consumable resources), the job
 * that comes into being — or the rule the request breaks. The operation around it
 * (domain/jobs.ts) looks things up before and writes the job after; the store turns a NewJob
 * into its row (store/jobs.ts submittedJobRow).
 *
 * The request's own shape (sizes, names, lists) is checked before, by api/validate/jobs.ts;
 * what is checked here needs the stored resources: an override the definition's type does
 * not take, a share the queue does or does not want, a dependency that does not exist or
 * cannot be N_TO_N.
 */
import type { RegisterJobDefinitionRequest, SubmitJobRequest } from '@aws-sdk/client-batch';
import { Conflict, Invalid, NotFound } from './errors.js';
import type { JobKind } from './jobKind.js';
import { resolveJobSpec, type JobSpec } from './jobSpec.js';
import { nodeSpec, resolveGang } from './multinode.js';
import { resolveEcsTask, resolveEksPod } from './taskSpec.js';
import type { Resources } from './resources.js';
import { jobIdOf } from './arn.js';

/** A job definition's settings as RegisterJobDefinition took them (its stored spec): everything but its name, type and tags. */
export type DefinitionSpec = Partial<Omit<RegisterJobDefinitionRequest, 'jobDefinitionName' | 'type' | 'tags'>>;

/** What a submission is decided from. */
export interface SubmissionFacts {
  /** the request, its shape already checked */
  request: SubmitJobRequest;
  /** the new job's id and ARN, and the time of the submission */
  id: string;
  arn: string;
  now: number;
  queue: { name: string; arn: string; enabled: boolean; fairShare: boolean };
  definition: { name: string; revision: number; arn: string; type: string; spec: DefinitionSpec; tags: Record<string, string> };
  /** the jobs dependsOn names, by id, as found; a job not found is absent */
  dependencies: ReadonlyMap<string, { kind: JobKind; arraySize: number | null }>;
  /** the consumable resources the job holds while it runs, resolved to their names */
  consumables: { name: string; quantity: number }[];
}

/** A job as SubmitJob makes it, in the domain's terms. */
export interface NewJob {
  id: string;
  arn: string;
  name: string;
  queue: string;
  queueArn: string;
  definitionArn: string;
  createdAt: number;
  /** the effective specification: the definition with the submission's overrides */
  spec: JobSpec;
  /** dependsOn as sent (DescribeJobs shows it so) */
  dependsOn: NonNullable<SubmitJobRequest['dependsOn']>;
  /** the jobs it waits on: one edge each (N_TO_N binds children to children) */
  edges: { jobId: string; type: 'N_TO_N' | null }[];
  /** what it holds while it runs; a multi-node job's are its nodes' totals */
  resources: Resources;
  shareIdentifier: string | null;
  schedulingPriority: number;
  consumables: { name: string; quantity: number }[];
  maxAttempts: number;
  timeoutSeconds: number | null;
  /** an array job's size */
  arraySize: number | null;
  numNodes: number | null;
  tags: Record<string, string>;
}

/** The job a submission makes, or the rule it breaks (Invalid, Conflict, NotFound). */
export function planSubmission(f: SubmissionFacts): NewJob {
  const { request: input, queue, definition: def } = f;
  const arraySize = input.arrayProperties?.size ?? null;
  const multinode = def.type === 'multinode';
  const named = `jobDefinition '${def.name}:${def.revision}'`;
  if (!queue.enabled) throw new Conflict(`jobQueue '${queue.name}' is DISABLED and does not accept new jobs`);
  if (input.nodeOverrides && !multinode) throw new Invalid(`nodeOverrides applies only to multi-node parallel jobs: ${named} is of type ${def.type}`);
  if (multinode && arraySize !== null) throw new Invalid('arrayProperties is not allowed with a multinode job definition: multi-node parallel jobs cannot be array jobs');
  if (multinode && input.containerOverrides) throw new Invalid('containerOverrides is not allowed with a multinode job definition: use nodeOverrides.nodePropertyOverrides');
  if (queue.fairShare && !input.shareIdentifier) throw new Invalid(`shareIdentifier is required: jobQueue '${queue.name}' has a fair-share scheduling policy`);
  if (!queue.fairShare && input.shareIdentifier) throw new Invalid(`shareIdentifier is not allowed: jobQueue '${queue.name}' has no scheduling policy (FIFO)`);
  const taskKind = def.spec.ecsProperties ? 'ecsProperties' : def.spec.eksProperties ? 'eksProperties' : undefined;
  if (!def.spec.containerProperties && !multinode && !taskKind) throw new Invalid(`${named} has no containerProperties, ecsProperties or eksProperties to run`);
  if (taskKind && input.containerOverrides) throw new Invalid(`containerOverrides does not apply to ${named}, which has ${taskKind}: use ${taskKind === 'ecsProperties' ? 'ecsPropertiesOverride' : 'eksPropertiesOverride'}`);
  if (input.ecsPropertiesOverride && taskKind !== 'ecsProperties') throw new Invalid(`ecsPropertiesOverride applies only to a job definition with ecsProperties: ${named} has ${taskKind ?? (multinode ? 'nodeProperties' : 'containerProperties')}`);
  if (input.eksPropertiesOverride && taskKind !== 'eksProperties') throw new Invalid(`eksPropertiesOverride applies only to a job definition with eksProperties: ${named} has ${taskKind ?? (multinode ? 'nodeProperties' : 'containerProperties')}`);

  const common = {
    definitionName: def.name,
    definitionParameters: def.spec.parameters,
    definitionRetryStrategy: def.spec.retryStrategy,
    definitionTimeout: def.spec.timeout,
    definitionPropagateTags: def.spec.propagateTags,
    definitionPlatformCapabilities: def.spec.platformCapabilities,
    definitionSchedulingPriority: def.spec.schedulingPriority,
    submitParameters: input.parameters,
    submitRetryStrategy: input.retryStrategy,
    submitTimeout: input.timeout,
    submitPropagateTags: input.propagateTags,
    schedulingPriorityOverride: input.schedulingPriorityOverride,
  };
  let spec: JobSpec;
  let resources: Resources;
  if (multinode) {
    const gang = resolveGang(def.spec.nodeProperties!, input.nodeOverrides, common);
    spec = { ...nodeSpec(gang, gang.mainNode), type: 'multinode', gang };
    // The parent stands for the whole gang: its resources are the nodes' totals (queue caps, fair share, demand).
    resources = { vcpus: 0, memoryMiB: 0, gpus: 0 };
    for (const g of gang.groups) {
      const n = g.to - g.from + 1;
      resources.vcpus += g.spec.vcpus * n;
      resources.memoryMiB += g.spec.memoryMiB * n;
      resources.gpus += g.spec.gpus * n;
    }
  } else if (taskKind) {
    const parameters = { ...(def.spec.parameters ?? {}), ...(input.parameters ?? {}) };
    const task = def.spec.ecsProperties ? resolveEcsTask(def.spec.ecsProperties, input.ecsPropertiesOverride, parameters) : resolveEksPod(def.spec.eksProperties!, input.eksPropertiesOverride);
    // The task's first essential container stands for it where one container is read (its log group, its image).
    const primary = task.containers.find((c) => c.essential && !c.init) ?? task.containers[0];
    const base = resolveJobSpec({ ...common, definitionType: def.type, containerProperties: primary.properties });
    spec = {
      ...base,
      command: primary.command,
      environment: primary.environment,
      resourceRequirements: [],
      vcpus: task.vcpus,
      memoryMiB: task.memoryMiB,
      gpus: task.gpus,
      defaultedResources: task.defaultedResources,
      task,
    };
    resources = { vcpus: task.vcpus, memoryMiB: task.memoryMiB, gpus: task.gpus };
  } else {
    spec = resolveJobSpec({ ...common, definitionType: def.type, containerProperties: def.spec.containerProperties, containerOverrides: input.containerOverrides });
    resources = { vcpus: spec.vcpus, memoryMiB: spec.memoryMiB, gpus: spec.gpus };
  }

  const edges = (input.dependsOn ?? []).flatMap((d, i): NewJob['edges'] => {
    if (d.type === 'SEQUENTIAL' && !d.jobId) return []; // children wait on each other, not on a job
    if (!d.jobId) throw new Invalid(`dependsOn[${i}].jobId is required`);
    const jobId = jobIdOf(d.jobId);
    const found = f.dependencies.get(jobId);
    if (!found) throw new NotFound(`dependsOn[${i}].jobId`, jobId);
    if (d.type !== 'N_TO_N') return [{ jobId, type: null }]; // SEQUENTIAL with a job id is a plain dependency on that job
    if (found.kind !== 'arrayParent' || found.arraySize !== arraySize) {
      throw new Invalid(`dependsOn[${i}]: an N_TO_N dependency needs an array job of the same size (${arraySize}); '${jobId}' is ${found.arraySize === null ? 'not an array job' : `an array of ${found.arraySize}`}`);
    }
    return [{ jobId, type: 'N_TO_N' }];
  });

  return {
    id: f.id,
    arn: f.arn,
    name: input.jobName!,
    queue: queue.name,
    queueArn: queue.arn,
    definitionArn: def.arn,
    createdAt: f.now,
    spec,
    dependsOn: input.dependsOn ?? [],
    edges,
    resources,
    shareIdentifier: input.shareIdentifier ?? null,
    schedulingPriority: spec.schedulingPriority ?? 0,
    consumables: f.consumables,
    maxAttempts: spec.retryStrategy?.attempts ?? 1,
    timeoutSeconds: spec.timeout?.attemptDurationSeconds ?? null,
    arraySize,
    numNodes: spec.gang?.numNodes ?? null,
    tags: { ...(spec.propagateTags ? def.tags : {}), ...(input.tags ?? {}) },
  };
}
