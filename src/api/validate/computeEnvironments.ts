/**
 * Semantic rules of the compute environment operations.
 *
 * A MANAGED environment describes its capacity in `computeResources`, whose rules depend on
 * its type: EC2 and SPOT scale instances between minvCpus and maxvCpus; FARGATE and
 * FARGATE_SPOT have no instances, so every instance-level member is refused rather than
 * silently ignored. Networking members (subnets, security groups, roles, AMIs) mean nothing
 * to openbatch and are checked for shape only, so scripts written for AWS keep working.
 */
import {
  CEState,
  CEType,
  CRAllocationStrategy,
  CRType,
  CRUpdateAllocationStrategy,
  type ComputeResource,
  type ComputeResourceUpdate,
  type ComputeScalingPolicy,
  type CreateComputeEnvironmentCommandInput,
  type DeleteComputeEnvironmentCommandInput,
  type DescribeComputeEnvironmentsCommandInput,
  type LaunchTemplateSpecification,
  type UpdateComputeEnvironmentCommandInput,
} from '@aws-sdk/client-batch';
import { clientError } from '../../model/errors.js';
import { validatePage } from './pagination.js';
import { checkExecutorTag, checkPrefetchTag, checkSandboxTags, checkVcpuLimitTag } from '../../compute/executorChoice.js';
import { INSTANCE_BUNDLES, unknownInstanceType } from '../../compute/instanceTypes.js';
import {
  eachNonEmpty,
  enumOf,
  forbidMember,
  intRange,
  listLength,
  matches,
  nameOrArn,
  nonEmpty,
  present,
  requireMember,
  resourceName,
  tagMap,
  type EnumOptions,
  unique,
  type Maybe,
} from './rules.js';
import { isFargate } from '../../model/fargateSizes.js';

const CR_TYPE_OPTIONS: EnumOptions = {
  unsupported: [CRType.ECS_MANAGED_INSTANCES],
  because: 'ECS Managed Instances are not implemented',
};

// The SDK knows strategies added after the Batch API version openbatch implements.
const NEWER_STRATEGIES: EnumOptions = {
  unsupported: [CRAllocationStrategy.BEST_FIT_PROGRESSIVE_ORDERED, CRAllocationStrategy.SPOT_CAPACITY_OPTIMIZED_PRIORITIZED],
  because: 'not in the Batch API version openbatch implements',
};


const SPOT_ONLY_STRATEGIES: readonly string[] = [
  CRAllocationStrategy.SPOT_CAPACITY_OPTIMIZED,
  CRAllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED,
];

/** Members of computeResources that describe EC2 instances, which Fargate does not have. */
const NOT_ON_FARGATE = [
  'minvCpus',
  'desiredvCpus',
  'instanceTypes',
  'allocationStrategy',
  'imageId',
  'ec2KeyPair',
  'instanceRole',
  'launchTemplate',
  'placementGroup',
  'bidPercentage',
  'spotIamFleetRole',
  'ec2Configuration',
  'tags',
  'scalingPolicy',
] as const;

/** Fargate limits the model documents for its network members. */
const FARGATE_MAX_SUBNETS = 16;
const FARGATE_MAX_SECURITY_GROUPS = 5;

/** A family or a type as AWS spells them (the catalog then decides whether openbatch knows it). */
const INSTANCE_TYPE = /^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+)?$/;

/** minScaleDownDelayMinutes: 0 turns the delay off, otherwise 20 minutes to a week. */
const SCALE_DOWN_DELAY = { min: 20, max: 10080 };


/** Each entry a bundle (optimal…), a family or a type of the instance-type catalog, each once. */
function instanceTypes(path: string, list: Maybe<readonly string[]>): void {
  list?.forEach((t, i) => {
    if (t in INSTANCE_BUNDLES) return;
    matches(`${path}[${i}]`, t, INSTANCE_TYPE, `use ${Object.keys(INSTANCE_BUNDLES).join(', ')}, an instance family such as m5, or an instance type such as m5.large`);
    const unknown = unknownInstanceType(t);
    if (unknown) throw clientError(`${path}[${i}] ${unknown}`);
  });
  unique(path, list, (t) => t);
}

/** Refuses every instance-level member on a Fargate environment. */
function noInstanceMembers(path: string, cr: ComputeResource | ComputeResourceUpdate, type: string): void {
  const record = cr as Record<string, unknown>;
  for (const member of NOT_ON_FARGATE)
    forbidMember(`${path}.${member}`, record[member], `is not supported by ${type} compute resources: remove it`);
}

function fargateNetwork(path: string, cr: ComputeResource | ComputeResourceUpdate): void {
  listLength(`${path}.subnets`, cr.subnets, { max: FARGATE_MAX_SUBNETS });
  listLength(`${path}.securityGroupIds`, cr.securityGroupIds, { max: FARGATE_MAX_SECURITY_GROUPS });
}

/** minvCpus <= desiredvCpus <= maxvCpus, each a non-negative whole number, over whichever are given. */
function vCpuBounds(path: string, cr: { minvCpus?: Maybe<number>; maxvCpus?: Maybe<number>; desiredvCpus?: Maybe<number> }): void {
  intRange(`${path}.minvCpus`, cr.minvCpus, { min: 0 });
  intRange(`${path}.maxvCpus`, cr.maxvCpus, { min: 0 });
  intRange(`${path}.desiredvCpus`, cr.desiredvCpus, { min: 0 });
  const { minvCpus: min, maxvCpus: max, desiredvCpus: desired } = cr;
  if (present(min) && present(max) && max < min)
    throw clientError(`${path}.maxvCpus must be >= minvCpus (got maxvCpus=${max}, minvCpus=${min})`);
  if (present(desired) && ((present(min) && desired < min) || (present(max) && desired > max)))
    throw clientError(
      `${path}.desiredvCpus must be between minvCpus and maxvCpus (got desiredvCpus=${desired}` +
        (present(min) ? `, minvCpus=${min}` : '') +
        (present(max) ? `, maxvCpus=${max}` : '') +
        ')',
    );
}

function spotOnly(path: string, cr: ComputeResource | ComputeResourceUpdate, type: string): void {
  if (type === CRType.SPOT) return;
  forbidMember(`${path}.bidPercentage`, cr.bidPercentage, `only applies to SPOT compute resources (type is ${type}): remove it`);
  const strategy = cr.allocationStrategy;
  if (present(strategy) && SPOT_ONLY_STRATEGIES.includes(strategy))
    throw clientError(
      `${path}.allocationStrategy ${strategy} is only available for SPOT compute resources (type is ${type}): use BEST_FIT_PROGRESSIVE`,
    );
}

function launchTemplate(path: string, lt: Maybe<LaunchTemplateSpecification>): void {
  if (!present(lt)) return;
  const byId = present(lt.launchTemplateId);
  const byName = present(lt.launchTemplateName);
  if (byId === byName)
    throw clientError(`${path} must give either launchTemplateId or launchTemplateName (got ${byId ? 'both' : 'neither'})`);
}

function scalingPolicy(path: string, policy: Maybe<ComputeScalingPolicy>): void {
  const delay = policy?.minScaleDownDelayMinutes;
  if (present(delay) && delay !== 0) intRange(`${path}.minScaleDownDelayMinutes`, delay, SCALE_DOWN_DELAY);
}

/**
 * Members AWS requires of EC2 and SPOT compute resources beyond the model's required ones
 * (type, maxvCpus, subnets): the instance profile and minvCpus always, and for SPOT under
 * BEST_FIT (the default strategy) the Spot Fleet role. openbatch launches no EC2 instances
 * and uses none of them, but a definition that works here must work on AWS too.
 */
function instanceMembers(path: string, cr: ComputeResource, type: string): void {
  requireMember(
    `${path}.instanceRole`,
    cr.instanceRole,
    `is required for ${type} compute resources: the ECS instance profile, e.g. ecsInstanceRole or arn:aws:iam::123456789012:instance-profile/ecsInstanceRole (openbatch does not use it)`,
  );
  nonEmpty(`${path}.instanceRole`, cr.instanceRole);
  requireMember(`${path}.minvCpus`, cr.minvCpus, `is required for ${type} compute resources: the vCPUs kept launched when idle, e.g. 0`);
  const strategy = cr.allocationStrategy ?? CRAllocationStrategy.BEST_FIT;
  if (type === CRType.SPOT && strategy === CRAllocationStrategy.BEST_FIT)
    requireMember(
      `${path}.spotIamFleetRole`,
      cr.spotIamFleetRole,
      'is required for SPOT compute resources with the BEST_FIT allocation strategy (the default): give the Spot Fleet role ARN, or use SPOT_CAPACITY_OPTIMIZED or SPOT_PRICE_CAPACITY_OPTIMIZED',
    );
}

function createComputeResources(cr: ComputeResource): void {
  const path = 'computeResources';
  enumOf(`${path}.type`, cr.type, CRType, CR_TYPE_OPTIONS);
  const type = cr.type ?? CRType.EC2;
  requireMember(`${path}.maxvCpus`, cr.maxvCpus, 'is required');
  // Required by the model openbatch implements; subnet ids mean nothing here, so any list will do.
  requireMember(`${path}.subnets`, cr.subnets, 'is required (openbatch does not use subnets: an empty list will do)');
  eachNonEmpty(`${path}.subnets`, cr.subnets);
  eachNonEmpty(`${path}.securityGroupIds`, cr.securityGroupIds);
  if (isFargate(type)) {
    noInstanceMembers(path, cr, type);
    requireMember(
      `${path}.securityGroupIds`,
      cr.securityGroupIds,
      `is required for ${type} compute resources: at least one security group id, e.g. ["sg-0123456789abcdef0"] (openbatch does not use it)`,
    );
    listLength(`${path}.securityGroupIds`, cr.securityGroupIds, { min: 1 });
    fargateNetwork(path, cr);
    intRange(`${path}.maxvCpus`, cr.maxvCpus, { min: 0 });
    return;
  }
  instanceMembers(path, cr, type);
  vCpuBounds(path, cr);
  requireMember(
    `${path}.instanceTypes`,
    cr.instanceTypes,
    `is required for ${type} compute resources: use optimal, a family such as m5, or a type such as m5.large`,
  );
  listLength(`${path}.instanceTypes`, cr.instanceTypes, { min: 1 });
  instanceTypes(`${path}.instanceTypes`, cr.instanceTypes);
  enumOf(`${path}.allocationStrategy`, cr.allocationStrategy, CRAllocationStrategy, NEWER_STRATEGIES);
  spotOnly(path, cr, type);
  intRange(`${path}.bidPercentage`, cr.bidPercentage, { min: 0, max: 100 });
  launchTemplate(`${path}.launchTemplate`, cr.launchTemplate);
  listLength(`${path}.ec2Configuration`, cr.ec2Configuration, { max: 2 });
  scalingPolicy(`${path}.scalingPolicy`, cr.scalingPolicy);
  tagMap(`${path}.tags`, cr.tags);
}

/**
 * The compute resources an update leaves a MANAGED environment with (its current ones with the
 * update's members laid over them), checked by the rules of their type as at creation. An
 * update alone cannot be checked against rules that depend on a type it does not name.
 */
export function checkUpdatedComputeResources(cr: ComputeResource): void {
  createComputeResources(cr);
}

/** CreateComputeEnvironment: name, type/state enums, and the computeResources rules of its type. */
export function validateCreateComputeEnvironment(input: CreateComputeEnvironmentCommandInput): void {
  resourceName('computeEnvironmentName', input.computeEnvironmentName);
  enumOf('type', input.type, CEType);
  enumOf('state', input.state, CEState);
  tagMap('tags', input.tags);
  checkExecutorTag('tags', input.tags);
  checkSandboxTags('tags', input.tags);
  checkPrefetchTag('tags', input.tags);
  checkVcpuLimitTag('tags', input.tags);
  if (input.type === CEType.MANAGED) {
    requireMember('computeResources', input.computeResources, 'is required when type is MANAGED');
    forbidMember('unmanagedvCpus', input.unmanagedvCpus, 'is only allowed when type is UNMANAGED: remove it');
    createComputeResources(input.computeResources);
  } else {
    forbidMember(
      'computeResources',
      input.computeResources,
      'is only allowed when type is MANAGED: an UNMANAGED environment gets its capacity from the agents that join it',
    );
    intRange('unmanagedvCpus', input.unmanagedvCpus, { min: 0 });
  }
}

function updateComputeResources(cr: ComputeResourceUpdate): void {
  const path = 'computeResources';
  enumOf(`${path}.type`, cr.type, CRType, CR_TYPE_OPTIONS);
  vCpuBounds(path, cr);
  eachNonEmpty(`${path}.subnets`, cr.subnets);
  eachNonEmpty(`${path}.securityGroupIds`, cr.securityGroupIds);
  // BEST_FIT is not in the update enum: AWS cannot switch an environment to it.
  if ((cr.allocationStrategy as string | undefined) === CRAllocationStrategy.BEST_FIT)
    throw clientError(
      `${path}.allocationStrategy BEST_FIT cannot be set by an update: use BEST_FIT_PROGRESSIVE, or create a new environment`,
    );
  enumOf(`${path}.allocationStrategy`, cr.allocationStrategy, CRUpdateAllocationStrategy, NEWER_STRATEGIES);
  intRange(`${path}.bidPercentage`, cr.bidPercentage, { min: 0, max: 100 });
  instanceTypes(`${path}.instanceTypes`, cr.instanceTypes);
  listLength(`${path}.ec2Configuration`, cr.ec2Configuration, { max: 2 });
  scalingPolicy(`${path}.scalingPolicy`, cr.scalingPolicy);
  tagMap(`${path}.tags`, cr.tags);
  // Rules that depend on the type can only be checked here when the update names the type;
  // otherwise the store checks them against the environment's current type.
  if (!present(cr.type)) return;
  if (isFargate(cr.type)) {
    noInstanceMembers(path, cr, cr.type);
    fargateNetwork(path, cr);
  } else {
    spotOnly(path, cr, cr.type);
  }
}

/** UpdateComputeEnvironment: state enum, updatePolicy bounds and computeResources ranges. */
export function validateUpdateComputeEnvironment(input: UpdateComputeEnvironmentCommandInput): void {
  nameOrArn('computeEnvironment', input.computeEnvironment);
  enumOf('state', input.state, CEState);
  intRange('unmanagedvCpus', input.unmanagedvCpus, { min: 0 });
  if (present(input.unmanagedvCpus) && present(input.computeResources))
    throw clientError(
      'unmanagedvCpus applies only to UNMANAGED compute environments and computeResources only to MANAGED ones: give one of them',
    );
  if (present(input.computeResources)) updateComputeResources(input.computeResources);
  intRange('updatePolicy.jobExecutionTimeoutMinutes', input.updatePolicy?.jobExecutionTimeoutMinutes, { min: 1, max: 360 });
}

/** DeleteComputeEnvironment: a name or ARN. */
export function validateDeleteComputeEnvironment(input: DeleteComputeEnvironmentCommandInput): void {
  nameOrArn('computeEnvironment', input.computeEnvironment);
}

/** DescribeComputeEnvironments: up to 100 names or ARNs, page size 1-100. */
export function validateDescribeComputeEnvironments(input: DescribeComputeEnvironmentsCommandInput): void {
  listLength('computeEnvironments', input.computeEnvironments, { max: 100 });
  input.computeEnvironments?.forEach((ce, i) => nameOrArn(`computeEnvironments[${i}]`, ce));
  validatePage(input);
}
