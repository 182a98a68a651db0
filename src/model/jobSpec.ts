/**
 * A job's effective specification: its job definition with SubmitJob's overrides applied,
 * computed once at submission and stored with the job. Execution and DescribeJobs both read
 * it, so the job runs exactly what DescribeJobs shows even if the definition changes later.
 */
import type {
  ContainerOverrides,
  ContainerProperties,
  ResourceRequirement,
  NodeProperties,
  RetryStrategy,
} from '@aws-sdk/client-batch';
import type { ContainerRun, TaskSpec } from './task.js';

export interface JobSpec extends ContainerRun {
  jobDefinitionName: string;
  type: string;
  /** the definition's containerProperties as registered (image, volumes, mountPoints, …) */
  containerProperties: ContainerProperties;
  parameters: Record<string, string>;
  retryStrategy?: RetryStrategy;
  timeout?: { attemptDurationSeconds?: number };
  propagateTags?: boolean;
  platformCapabilities?: string[];
  schedulingPriority?: number;
  containerOverrides?: ContainerOverrides;
  /** the resources used when a job definition names none (documented in docs/compatibility.md) */
  defaultedResources?: string[];
  /** a node of a multi-node job: the index of its gang's main node */
  mainNode?: number;
  /** a multi-node parent: its gang (the parent's other members are the main node's) */
  gang?: GangSpec;
  /**
   * A job of several containers (ecsProperties, eksProperties): each container as resolved.
   * The members above then describe the task's first essential container, and vcpus and
   * memoryMiB the whole task (model/taskSpec.ts).
   */
  task?: TaskSpec;
}

/** openbatch's defaults for a container job that names no vCPU or memory. */
export const DEFAULT_VCPUS = 1;
export const DEFAULT_MEMORY_MIB = 2048;

/** Replaces `Ref::name` tokens with parameter values; tokens with no value stay as written. */
export function substituteParameters(command: readonly string[], parameters: Record<string, string>): string[] {
  return command.map((arg) =>
    arg.replace(/Ref::([A-Za-z0-9_-]+)/g, (token, name: string) =>
      Object.prototype.hasOwnProperty.call(parameters, name) ? parameters[name] : token,
    ),
  );
}

/** `base` with the items of `over` in place of those of the same key (an override list over a definition's). */
export function mergeByKey<T>(base: readonly T[] | undefined, over: readonly T[] | undefined, key: (t: T) => string | undefined): T[] {
  const out = new Map<string | undefined, T>();
  for (const item of base ?? []) out.set(key(item), item);
  for (const item of over ?? []) out.set(key(item), item);
  return [...out.values()];
}

/** The number a resource requirement of `type` names, if the list has one and it is a number. */
export function requirement(list: readonly ResourceRequirement[] | undefined, type: string): number | undefined {
  const r = list?.find((x) => x.type === type);
  if (r?.value === undefined) return undefined;
  const n = Number(r.value);
  return Number.isFinite(n) ? n : undefined;
}

export interface SpecInput {
  definitionName: string;
  definitionType: string;
  containerProperties?: ContainerProperties;
  definitionParameters?: Record<string, string>;
  definitionRetryStrategy?: RetryStrategy;
  definitionTimeout?: { attemptDurationSeconds?: number };
  definitionPropagateTags?: boolean;
  definitionPlatformCapabilities?: string[];
  definitionSchedulingPriority?: number;
  submitParameters?: Record<string, string>;
  containerOverrides?: ContainerOverrides;
  submitRetryStrategy?: RetryStrategy;
  submitTimeout?: { attemptDurationSeconds?: number };
  submitPropagateTags?: boolean;
  schedulingPriorityOverride?: number;
}

export function resolveJobSpec(input: SpecInput): JobSpec {
  const cp = input.containerProperties ?? {};
  const ov = input.containerOverrides ?? {};
  const parameters = { ...(input.definitionParameters ?? {}), ...(input.submitParameters ?? {}) };
  const resourceRequirements = mergeByKey(cp.resourceRequirements, ov.resourceRequirements, (r) => r.type);
  const defaulted: string[] = [];
  let vcpus = requirement(ov.resourceRequirements ?? [], 'VCPU') ?? ov.vcpus ?? requirement(cp.resourceRequirements ?? [], 'VCPU') ?? cp.vcpus;
  let memoryMiB =
    requirement(ov.resourceRequirements ?? [], 'MEMORY') ?? ov.memory ?? requirement(cp.resourceRequirements ?? [], 'MEMORY') ?? cp.memory;
  if (vcpus === undefined) {
    vcpus = DEFAULT_VCPUS;
    defaulted.push('VCPU');
  }
  if (memoryMiB === undefined) {
    memoryMiB = DEFAULT_MEMORY_MIB;
    defaulted.push('MEMORY');
  }
  const gpus = requirement(resourceRequirements, 'GPU') ?? 0;
  const command = substituteParameters(ov.command ?? cp.command ?? [], parameters);
  return {
    jobDefinitionName: input.definitionName,
    type: input.definitionType,
    containerProperties: cp,
    command,
    environment: mergeByKey(cp.environment, ov.environment, (e) => e.name),
    resourceRequirements,
    vcpus,
    memoryMiB,
    gpus,
    parameters,
    retryStrategy: input.submitRetryStrategy ?? input.definitionRetryStrategy,
    timeout: input.submitTimeout ?? input.definitionTimeout,
    propagateTags: input.submitPropagateTags ?? input.definitionPropagateTags,
    platformCapabilities: input.definitionPlatformCapabilities,
    schedulingPriority: input.schedulingPriorityOverride ?? input.definitionSchedulingPriority,
    containerOverrides: input.containerOverrides,
    defaultedResources: defaulted.length ? defaulted : undefined,
  };
}

/** The gang as stored with the parent: AWS's nodeProperties after overrides, and each node's spec by group. */
export interface GangSpec {
  numNodes: number;
  mainNode: number;
  /** nodeProperties as DescribeJobs reports them (numNodes after the override) */
  nodeProperties: NodeProperties;
  /** consecutive nodes [from, to] sharing one effective spec */
  groups: { from: number; to: number; spec: JobSpec }[];
}
