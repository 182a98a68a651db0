/**
 * Semantic rules of the job definition operations, and the checkers for the job settings a
 * definition holds and a submission may override (retry strategy, timeout, environment,
 * resource requirements, node ranges), shared with `jobs.ts`.
 *
 * Resource rules depend on the platform: on EC2 a job reserves whole vCPUs and at least
 * 4 MiB; on Fargate vCPU and memory must form one of Fargate's sizes and GPUs do not exist.
 * At submission the platform is the job definition's, which only the store knows, so
 * overrides get the rules common to both (`'ANY'`).
 */
import {
  JobDefinitionType,
  PlatformCapability,
  ResourceType,
  RetryAction,
  type ContainerProperties,
  type DeregisterJobDefinitionCommandInput,
  type DescribeJobDefinitionsCommandInput,
  type EcsProperties,
  type EksProperties,
  type EvaluateOnExit,
  type JobTimeout,
  type MountPoint,
  type NodeProperties,
  type RegisterJobDefinitionCommandInput,
  type ResourceRequirement,
  type RetryStrategy,
  type Ulimit,
  type Volume,
} from '@aws-sdk/client-batch';
import { clientError } from '../../model/errors.js';
import { CONTAINER_NAME, checkDependencies } from '../../model/taskSpec.js';
import type { DependencyCondition } from '../../model/task.js';
import { FARGATE_MEMORY, FARGATE_MEMORY_BY_VCPU, FARGATE_VCPUS } from '../../model/fargateSizes.js';
import { checkConsumableResourceProperties } from './consumableResources.js';
import { validatePage } from './pagination.js';
import {
  eachNonEmpty,
  enumOf,
  forbidMember,
  intRange,
  jobDefinitionRef,
  listLength,
  matches,
  nonEmpty,
  present,
  requireMember,
  resourceName,
  show,
  tagMap,
  unique,
  type EnumOptions,
  type Maybe,
} from './rules.js';

/** The platform whose resource rules apply; `ANY` when it is not known yet (overrides at submission). */
export type Platform = 'EC2' | 'FARGATE' | 'ANY';

const PLATFORM_OPTIONS: EnumOptions = {
  unsupported: [PlatformCapability.MANAGED_INSTANCES],
  because: 'ECS Managed Instances are not implemented',
};

/** Scheduling priority of jobs within a fair-share queue. */
export const SCHEDULING_PRIORITY = { min: 0, max: 9999 };

// ---------------------------------------------------------------------------------------
// retry strategy and timeout

const ATTEMPTS = { min: 1, max: 10 };
const MAX_EVALUATE_ON_EXIT = 5;
const MAX_PATTERN = 512;
/** Exit-code globs: digits, optionally ending in `*` (a prefix match). */
const EXIT_CODE_GLOB = /^[0-9]*\*?$/;
/** Reason globs: letters, digits, periods, colons and white space, optionally ending in `*`. */
const REASON_GLOB = /^[A-Za-z0-9.: \t]*\*?$/;

function glob(path: string, value: Maybe<string>, pattern: RegExp, rule: string): void {
  if (!present(value)) return;
  nonEmpty(path, value);
  matches(path, value, pattern, rule);
  if (value.length > MAX_PATTERN) throw clientError(`${path} must be at most ${MAX_PATTERN} characters long (got ${value.length})`);
}

function evaluateOnExit(path: string, rule: EvaluateOnExit): void {
  // AWS compares the action case-insensitively.
  enumOf(`${path}.action`, rule.action, RetryAction, { ignoreCase: true });
  glob(`${path}.onExitCode`, rule.onExitCode, EXIT_CODE_GLOB, "use digits, optionally ending in '*' (e.g. 137 or 1*)");
  const reasonRule = "use letters, digits, periods (.), colons (:) and spaces, optionally ending in '*' (e.g. Host EC2*)";
  glob(`${path}.onReason`, rule.onReason, REASON_GLOB, reasonRule);
  glob(`${path}.onStatusReason`, rule.onStatusReason, REASON_GLOB, reasonRule);
}

/** retryStrategy: 1-10 attempts; up to 5 evaluateOnExit rules, which need attempts. */
export function checkRetryStrategy(path: string, strategy: Maybe<RetryStrategy>): void {
  if (!present(strategy)) return;
  intRange(`${path}.attempts`, strategy.attempts, ATTEMPTS);
  const rules = strategy.evaluateOnExit;
  listLength(`${path}.evaluateOnExit`, rules, { max: MAX_EVALUATE_ON_EXIT });
  if (present(rules) && rules.length > 0)
    requireMember(`${path}.attempts`, strategy.attempts, 'is required when evaluateOnExit is given');
  rules?.forEach((rule, i) => evaluateOnExit(`${path}.evaluateOnExit[${i}]`, rule));
}

/** timeout: attemptDurationSeconds of at least 60. */
export function checkTimeout(path: string, timeout: Maybe<JobTimeout>): void {
  intRange(`${path}.attemptDurationSeconds`, timeout?.attemptDurationSeconds, { min: 60 });
}

// ---------------------------------------------------------------------------------------
// container settings

/** The prefix of the variables Batch injects (AWS_BATCH_JOB_ID, …); users may not set them. */
const RESERVED_ENV_PREFIX = 'AWS_BATCH';

/** Environment variables: each named, and not in the AWS_BATCH namespace. */
export function checkEnvironment(path: string, variables: Maybe<readonly { name?: Maybe<string> }[]>): void {
  variables?.forEach((variable, i) => {
    const at = `${path}[${i}].name`;
    requireMember(at, variable.name, 'is required');
    nonEmpty(at, variable.name);
    if (variable.name.startsWith(RESERVED_ENV_PREFIX))
      throw clientError(`${at} ${show(variable.name)} is reserved: names starting with ${RESERVED_ENV_PREFIX} are set by Batch`);
  });
}

/** Ref::name substitution parameters: each needs a name. */
export function checkParameters(path: string, parameters: Maybe<Record<string, string>>): void {
  if (present(parameters) && Object.hasOwn(parameters, ''))
    throw clientError(`${path} has a parameter with an empty name: give each parameter a name`);
}

/** A command given as an override: the model forbids empty strings in it. */
export function checkCommandOverride(path: string, command: Maybe<readonly string[]>): void {
  eachNonEmpty(path, command);
}

const FARGATE_MEMORY_SIZES = new Set(FARGATE_MEMORY);

const DECIMAL = /^([0-9]+(\.[0-9]+)?|\.[0-9]+)$/;
const MIN_MEMORY_MIB = 4;

/** Parses a requirement value; `what` says what the number counts, for the message. */
function quantity(path: string, value: string, what: string, whole: boolean): number {
  const pattern = whole ? /^[0-9]+$/ : DECIMAL;
  if (!pattern.test(value)) throw clientError(`${path} ${show(value)} is invalid: use ${what}`);
  return Number(value);
}

function vcpuValue(path: string, value: string, platform: Platform): number {
  const n = quantity(path, value, 'a number of vCPUs such as 1 or 0.5', false);
  if (platform === 'FARGATE') {
    if (!FARGATE_VCPUS.includes(n))
      throw clientError(`${path} ${show(value)} is not a vCPU size Fargate supports: use one of ${FARGATE_VCPUS.join(', ')}`);
  } else if (platform === 'EC2') {
    if (!Number.isInteger(n) || n < 1)
      throw clientError(
        `${path} ${show(value)} is invalid: EC2 jobs reserve whole vCPUs, at least 1 (fractions such as 0.25 are for Fargate)`,
      );
  } else if (n <= 0) {
    throw clientError(`${path} must be greater than 0 (got ${show(value)})`);
  }
  return n;
}

function memoryValue(path: string, value: string, platform: Platform): number {
  const n = quantity(path, value, 'a whole number of MiB such as 2048', true);
  if (platform === 'FARGATE') {
    if (!FARGATE_MEMORY_SIZES.has(n))
      throw clientError(
        `${path} ${show(value)} is not a memory size Fargate supports: use 512, a multiple of 1024 up to 30720, ` +
          'of 4096 up to 61440, or of 8192 up to 122880 (MiB), as the VCPU value allows',
      );
  } else if (n < MIN_MEMORY_MIB) {
    throw clientError(`${path} must be at least ${MIN_MEMORY_MIB} MiB (got ${show(value)})`);
  }
  return n;
}

function gpuValue(path: string, value: string): number {
  const n = quantity(path, value, 'a whole number of GPUs such as 1', true);
  if (n < 1) throw clientError(`${path} must be at least 1 (got ${show(value)})`);
  return n;
}

/**
 * resourceRequirements: each type once, with a value valid for it on the platform; on Fargate
 * the vCPU and memory must also be one of Fargate's combinations.
 */
export function checkResourceRequirements(path: string, list: Maybe<readonly ResourceRequirement[]>, platform: Platform): void {
  if (!present(list)) return;
  unique(path, list, (r) => r.type, 'type');
  let vcpu: number | undefined;
  let memory: { n: number; at: string } | undefined;
  list.forEach((requirement, i) => {
    const at = `${path}[${i}]`;
    enumOf(`${at}.type`, requirement.type, ResourceType);
    const value = requirement.value ?? '';
    switch (requirement.type) {
      case ResourceType.VCPU:
        vcpu = vcpuValue(`${at}.value`, value, platform);
        break;
      case ResourceType.MEMORY:
        memory = { n: memoryValue(`${at}.value`, value, platform), at: `${at}.value` };
        break;
      case ResourceType.GPU:
        if (platform === 'FARGATE') throw clientError(`${at}.type GPU is not available on Fargate: remove the GPU requirement`);
        gpuValue(`${at}.value`, value);
        break;
    }
  });
  if (platform !== 'FARGATE' || vcpu === undefined || memory === undefined) return;
  const allowed = FARGATE_MEMORY_BY_VCPU.get(vcpu)!;
  if (!allowed.includes(memory.n))
    throw clientError(
      `${memory.at} '${memory.n}' does not fit VCPU ${vcpu} on Fargate: with ${vcpu} vCPU use ` +
        (allowed.length <= 4 ? allowed.join(', ') : `${allowed[0]}-${allowed[allowed.length - 1]} in steps of ${allowed[1] - allowed[0]}`) +
        ' MiB',
    );
}

const VOLUME_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const ULIMIT_NAMES = [
  'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice',
  'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack',
] as const;
const IMAGE = /^[A-Za-z0-9_.:/#@-]{1,255}$/;

function volumes(path: string, list: Maybe<readonly Volume[]>): void {
  list?.forEach((volume, i) =>
    matches(`${path}[${i}].name`, volume.name, VOLUME_NAME, 'use 1-255 letters, digits, hyphens (-) and underscores (_)'),
  );
  unique(path, list, (v) => v.name, 'name');
}

/** Each mount point names a volume of the same container or task and a path to mount it at. */
function mountPoints(path: string, list: Maybe<readonly MountPoint[]>, volumeList: Maybe<readonly Volume[]>): void {
  const names = new Set((volumeList ?? []).map((v) => v.name));
  list?.forEach((mount, i) => {
    const at = `${path}[${i}]`;
    requireMember(`${at}.containerPath`, mount.containerPath, 'is required');
    nonEmpty(`${at}.containerPath`, mount.containerPath);
    requireMember(`${at}.sourceVolume`, mount.sourceVolume, 'is required: the name of one of the volumes');
    if (!names.has(mount.sourceVolume))
      throw clientError(`${at}.sourceVolume ${show(mount.sourceVolume)} names no volume: add it to volumes or use one of its names`);
  });
}

function ulimits(path: string, list: Maybe<readonly Ulimit[]>): void {
  list?.forEach((limit, i) => {
    const at = `${path}[${i}]`;
    enumOf(`${at}.name`, limit.name, ULIMIT_NAMES);
    intRange(`${at}.softLimit`, limit.softLimit, { min: -1 });
    intRange(`${at}.hardLimit`, limit.hardLimit, { min: -1 });
    // -1 means unlimited to Docker.
    const { softLimit: soft, hardLimit: hard } = limit;
    if (present(soft) && present(hard) && hard !== -1 && (soft === -1 || soft > hard))
      throw clientError(`${at}.softLimit must be <= hardLimit (got softLimit=${soft}, hardLimit=${hard})`);
  });
  unique(path, list, (l) => l.name, 'name');
}

function image(path: string, value: Maybe<string>): void {
  requireMember(path, value, 'is required: the container image to run, e.g. public.ecr.aws/docker/library/busybox:latest');
  matches(path, value, IMAGE, 'use up to 255 letters, digits, and - _ . : / # @ (e.g. repository-url/image:tag)');
}

/** containerProperties of a job definition or node range. */
function containerProperties(path: string, c: ContainerProperties, platform: Platform): void {
  image(`${path}.image`, c.image);
  if (platform === 'FARGATE') {
    const rule = 'is not supported on Fargate: use resourceRequirements with type VCPU and MEMORY';
    forbidMember(`${path}.vcpus`, c.vcpus, rule);
    forbidMember(`${path}.memory`, c.memory, rule);
  }
  intRange(`${path}.vcpus`, c.vcpus, { min: 1 });
  intRange(`${path}.memory`, c.memory, { min: MIN_MEMORY_MIB });
  checkResourceRequirements(`${path}.resourceRequirements`, c.resourceRequirements, platform);
  checkEnvironment(`${path}.environment`, c.environment);
  volumes(`${path}.volumes`, c.volumes);
  mountPoints(`${path}.mountPoints`, c.mountPoints, c.volumes);
  ulimits(`${path}.ulimits`, c.ulimits);
  intRange(`${path}.ephemeralStorage.sizeInGiB`, c.ephemeralStorage?.sizeInGiB, { min: 21, max: 200 });
  intRange(`${path}.linuxParameters.swappiness`, c.linuxParameters?.swappiness, { min: 0, max: 100 });
  intRange(`${path}.linuxParameters.maxSwap`, c.linuxParameters?.maxSwap, { min: 0 });
  platformMembers(path, c, platform);
}

const FARGATE_PLATFORM_VERSIONS = ['LATEST', '1.4.0', '1.3.0'] as const;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[\w+=,.@\/-]{1,512}$/;

/**
 * Members that exist only on one platform. Fargate needs an execution role, both VCPU and
 * MEMORY requirements, and takes no privileged mode, ulimits, instance type or devices;
 * fargatePlatformConfiguration and networkConfiguration are for Fargate only.
 */
function platformMembers(path: string, c: ContainerProperties, platform: Platform): void {
  if (platform !== 'FARGATE') {
    const rule = 'is only for Fargate jobs: add FARGATE to platformCapabilities, or remove it';
    forbidMember(`${path}.fargatePlatformConfiguration`, c.fargatePlatformConfiguration, rule);
    forbidMember(`${path}.networkConfiguration`, c.networkConfiguration, rule);
    return;
  }
  const notOnFargate = 'is not applicable to jobs on Fargate resources: remove it';
  forbidMember(`${path}.ulimits`, c.ulimits, notOnFargate);
  forbidMember(`${path}.instanceType`, c.instanceType, notOnFargate);
  forbidMember(`${path}.linuxParameters.devices`, c.linuxParameters?.devices, notOnFargate);
  if (c.privileged === true) throw clientError(`${path}.privileged must be false or absent on Fargate (got true)`);
  enumOf(`${path}.fargatePlatformConfiguration.platformVersion`, c.fargatePlatformConfiguration?.platformVersion, FARGATE_PLATFORM_VERSIONS);
  enumOf(`${path}.networkConfiguration.assignPublicIp`, c.networkConfiguration?.assignPublicIp, ['ENABLED', 'DISABLED']);
  const types = new Set((c.resourceRequirements ?? []).map((r) => r.type));
  for (const t of ['VCPU', 'MEMORY'])
    if (!types.has(t as ResourceType))
      throw clientError(`${path}.resourceRequirements must include a ${t} requirement on Fargate: a Fargate task is sized by both VCPU and MEMORY`);
  requireMember(
    `${path}.executionRoleArn`,
    c.executionRoleArn,
    'is required on Fargate: the IAM role that pulls the image and sends logs, e.g. arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
  );
  matches(`${path}.executionRoleArn`, c.executionRoleArn, ROLE_ARN, 'use an IAM role ARN such as arn:aws:iam::123456789012:role/ecsTaskExecutionRole');
}

const MAX_TASK_CONTAINERS = 10;

function ecsProperties(path: string, ecs: EcsProperties, platform: Platform): void {
  // The model limits a job to one task (of up to ten containers).
  listLength(`${path}.taskProperties`, ecs.taskProperties, { min: 1, max: 1 });
  ecs.taskProperties?.forEach((task, t) => {
    const tp = `${path}.taskProperties[${t}]`;
    listLength(`${tp}.containers`, task.containers, { min: 1, max: MAX_TASK_CONTAINERS });
    volumes(`${tp}.volumes`, task.volumes);
    intRange(`${tp}.ephemeralStorage.sizeInGiB`, task.ephemeralStorage?.sizeInGiB, { min: 21, max: 200 });
    task.containers?.forEach((c, i) => {
      const cp = `${tp}.containers[${i}]`;
      if (c.name !== undefined && !CONTAINER_NAME.test(c.name)) throw clientError(`${cp}.name '${String(c.name).slice(0, 80)}' is invalid: up to 255 letters, digits, hyphens, underscores and dots, starting with a letter or digit`);
      image(`${cp}.image`, c.image);
      checkEnvironment(`${cp}.environment`, c.environment);
      checkResourceRequirements(`${cp}.resourceRequirements`, c.resourceRequirements, platform);
      mountPoints(`${cp}.mountPoints`, c.mountPoints, task.volumes);
      ulimits(`${cp}.ulimits`, c.ulimits);
    });
    unique(`${tp}.containers`, task.containers, (c) => c.name, 'name');
    if (task.containers?.length && task.containers.every((c) => c.essential === false))
      throw clientError(`${tp}.containers must include an essential container: set essential to true on at least one`);
    checkDependencies(
      (task.containers ?? []).map((c, i) => ({
        name: c.name ?? (i === 0 ? 'default' : `container-${i}`),
        essential: c.essential ?? true,
        dependsOn: (c.dependsOn ?? []).map((d) => ({ containerName: d.containerName ?? '', condition: (d.condition ?? '') as DependencyCondition })),
      })),
      `${tp}.containers`,
    );
  });
}

const MAX_POD_CONTAINERS = 10;

function eksProperties(path: string, eks: EksProperties): void {
  const pod = eks.podProperties;
  if (!present(pod) || !pod.containers?.length) throw clientError(`${path}.podProperties.containers must hold at least one container`);
  for (const member of ['containers', 'initContainers'] as const) {
    const list = pod[member];
    listLength(`${path}.podProperties.${member}`, list, { min: member === 'containers' ? 1 : 0, max: MAX_POD_CONTAINERS });
    list?.forEach((c, i) => {
      const cp = `${path}.podProperties.${member}[${i}]`;
      if (c.name !== undefined && !CONTAINER_NAME.test(c.name)) throw clientError(`${cp}.name '${String(c.name).slice(0, 80)}' is invalid: up to 255 letters, digits, hyphens, underscores and dots, starting with a letter or digit`);
      nonEmpty(`${cp}.image`, c.image);
      checkEnvironment(`${cp}.env`, c.env);
    });
  }
}

// ---------------------------------------------------------------------------------------
// node ranges of multi-node parallel jobs

/** `start:end`, `:end` (from 0), `start:` (to the last node), `:` (all), or one index. */
const TARGET_NODES = /^([0-9]*):([0-9]*)$|^([0-9]+)$/;

/** A node range as indexes; `to` is undefined for an open end. */
export interface NodeRange {
  from: number;
  to: number | undefined;
}

/** Parses `targetNodes`; with `numNodes` known, the range must lie within 0..numNodes-1. */
export function checkTargetNodes(path: string, value: string, numNodes?: number): NodeRange {
  const m = TARGET_NODES.exec(value);
  if (!m) throw clientError(`${path} ${show(value)} is invalid: use start:end, start:, :end or : with node indexes (e.g. 0:3)`);
  const range: NodeRange =
    m[3] !== undefined
      ? { from: Number(m[3]), to: Number(m[3]) }
      : { from: m[1] === '' ? 0 : Number(m[1]), to: m[2] === '' ? undefined : Number(m[2]) };
  if (range.to !== undefined && range.to < range.from)
    throw clientError(`${path} ${show(value)} is invalid: the start ${range.from} is after the end ${range.to}`);
  if (present(numNodes) && Math.max(range.from, range.to ?? 0) >= numNodes)
    throw clientError(`${path} ${show(value)} reaches past the last node: numNodes is ${numNodes} (indexes 0-${numNodes - 1})`);
  return range;
}

function nodeProperties(path: string, np: NodeProperties): void {
  intRange(`${path}.numNodes`, np.numNodes, { min: 1 });
  const numNodes = np.numNodes ?? 1;
  intRange(`${path}.mainNode`, np.mainNode, { min: 0, max: numNodes - 1 });
  const rangesPath = `${path}.nodeRangeProperties`;
  listLength(rangesPath, np.nodeRangeProperties, { min: 1 });
  const ranges: NodeRange[] = [];
  np.nodeRangeProperties?.forEach((range, i) => {
    const at = `${rangesPath}[${i}]`;
    ranges.push(checkTargetNodes(`${at}.targetNodes`, range.targetNodes ?? '', numNodes));
    if (present(range.container)) containerProperties(`${at}.container`, range.container, 'EC2');
    if (present(range.ecsProperties)) ecsProperties(`${at}.ecsProperties`, range.ecsProperties, 'EC2');
    if (present(range.eksProperties)) eksProperties(`${at}.eksProperties`, range.eksProperties);
    // The model limits a node range to one instance type for now.
    listLength(`${at}.instanceTypes`, range.instanceTypes, { max: 1 });
    checkConsumableResourceProperties(`${at}.consumableResourceProperties`, range.consumableResourceProperties);
  });
  const gap = firstUncovered(ranges, numNodes);
  if (gap !== undefined && ranges.length > 0)
    throw clientError(`${rangesPath} must cover every node 0-${numNodes - 1}: node ${gap} is in no targetNodes range`);
}

/** The lowest node index in 0..numNodes-1 that no range covers (ranges may nest or overlap). */
function firstUncovered(ranges: readonly NodeRange[], numNodes: number): number | undefined {
  let next = 0;
  for (const r of [...ranges].sort((a, b) => a.from - b.from)) {
    if (r.from > next) return next;
    next = Math.max(next, (r.to ?? numNodes - 1) + 1);
  }
  return next < numNodes ? next : undefined;
}

// ---------------------------------------------------------------------------------------
// operations

const CONTAINER_KINDS = ['containerProperties', 'ecsProperties', 'eksProperties'] as const;

/** The type decides which properties member describes the job: exactly one of them. */
function propertiesForType(input: RegisterJobDefinitionCommandInput, fargate: boolean): void {
  const given = CONTAINER_KINDS.filter((k) => present(input[k]));
  if (input.type === JobDefinitionType.Multinode) {
    requireMember('nodeProperties', input.nodeProperties, 'is required when type is multinode');
    if (fargate)
      throw clientError("type multinode is not supported on Fargate: remove FARGATE from platformCapabilities or use type 'container'");
    for (const k of given)
      forbidMember(k, input[k], 'is not allowed when type is multinode: describe containers in nodeProperties.nodeRangeProperties');
    return;
  }
  forbidMember('nodeProperties', input.nodeProperties, "is only allowed when type is multinode: set type to 'multinode' or remove it");
  if (given.length === 0)
    throw clientError(`one of ${CONTAINER_KINDS.join(', ')} is required when type is container (got none)`);
  if (given.length > 1)
    throw clientError(`only one of ${CONTAINER_KINDS.join(', ')} may be given (got ${given.join(' and ')})`);
}

/** Members AWS refuses on EKS job definitions (they configure ECS tasks). */
function eksRules(input: RegisterJobDefinitionCommandInput): void {
  if (!present(input.eksProperties)) return;
  const rule = 'is not allowed with eksProperties: remove it';
  forbidMember('platformCapabilities', input.platformCapabilities, rule);
  forbidMember('propagateTags', input.propagateTags, rule);
}

/**
 * RegisterJobDefinition: name, type with its matching properties member, retry strategy,
 * timeout, scheduling priority, and container settings under the platform's resource rules.
 */
export function validateRegisterJobDefinition(input: RegisterJobDefinitionCommandInput): void {
  resourceName('jobDefinitionName', input.jobDefinitionName);
  enumOf('type', input.type, JobDefinitionType);
  input.platformCapabilities?.forEach((p, i) => enumOf(`platformCapabilities[${i}]`, p, PlatformCapability, PLATFORM_OPTIONS));
  unique('platformCapabilities', input.platformCapabilities, (p) => p);
  const fargate = input.platformCapabilities?.includes(PlatformCapability.FARGATE) ?? false;
  const platform: Platform = fargate ? 'FARGATE' : 'EC2';
  propertiesForType(input, fargate);
  eksRules(input);
  if (present(input.containerProperties)) containerProperties('containerProperties', input.containerProperties, platform);
  if (present(input.ecsProperties)) ecsProperties('ecsProperties', input.ecsProperties, platform);
  if (present(input.eksProperties)) eksProperties('eksProperties', input.eksProperties);
  if (present(input.nodeProperties)) nodeProperties('nodeProperties', input.nodeProperties);
  checkParameters('parameters', input.parameters);
  intRange('schedulingPriority', input.schedulingPriority, SCHEDULING_PRIORITY);
  checkRetryStrategy('retryStrategy', input.retryStrategy);
  checkTimeout('timeout', input.timeout);
  checkConsumableResourceProperties('consumableResourceProperties', input.consumableResourceProperties);
  tagMap('tags', input.tags);
}

/** DeregisterJobDefinition: one revision, as `name:revision` or its ARN. */
export function validateDeregisterJobDefinition(input: DeregisterJobDefinitionCommandInput): void {
  jobDefinitionRef('jobDefinition', input.jobDefinition, 'required');
}

/** DescribeJobDefinitions: up to 100 definitions, which exclude the name and status filters; page size 1-100. */
export function validateDescribeJobDefinitions(input: DescribeJobDefinitionsCommandInput): void {
  const list = input.jobDefinitions;
  listLength('jobDefinitions', list, { max: 100 });
  list?.forEach((d, i) => jobDefinitionRef(`jobDefinitions[${i}]`, d, 'optional'));
  if (present(list) && list.length > 0) {
    const rule = 'cannot be combined with jobDefinitions: list the definitions, or filter by name and status';
    forbidMember('jobDefinitionName', input.jobDefinitionName, rule);
    forbidMember('status', input.status, rule);
  }
  resourceName('jobDefinitionName', input.jobDefinitionName);
  validatePage(input);
}
