/**
 * Semantic rules of the job queue operations.
 *
 * A queue feeds up to three compute environments, tried in ascending `order`. openbatch
 * has no SageMaker service environments, so `serviceEnvironmentOrder`, the
 * SAGEMAKER_TRAINING queue type and the TERMINATE time-limit action (which AWS allows only
 * for those) are refused with a message saying so rather than accepted and ignored.
 */
import {
  JobQueueType,
  JobStateTimeLimitActionsAction,
  JobStateTimeLimitActionsState,
  JQState,
  type ComputeEnvironmentOrder,
  type CreateJobQueueCommandInput,
  type DeleteJobQueueCommandInput,
  type DescribeJobQueuesCommandInput,
  type GetJobQueueSnapshotCommandInput,
  type JobStateTimeLimitAction,
  type UpdateJobQueueCommandInput,
} from '@aws-sdk/client-batch';
import { validatePage } from './pagination.js';
import {
  arn,
  enumOf,
  forbidMember,
  intRange,
  listLength,
  nameOrArn,
  nonEmpty,
  requireMember,
  resourceName,
  tagMap,
  unique,
  type EnumOptions,
  type Maybe,
} from './rules.js';

/** Queue priority; higher wins where queues share a compute environment (CloudFormation's documented bounds). */
const PRIORITY = { min: 0, max: 1000 };
/** A queue draws on at most three compute environments. */
const MAX_COMPUTE_ENVIRONMENTS = 3;
/** How long a job may sit at the head of the queue before its time-limit action: 10 minutes to 24 hours. */
const TIME_LIMIT_SECONDS = { min: 600, max: 86400 };
const MAX_TIME_LIMIT_ACTIONS = 5;

const NO_SERVICE_ENVIRONMENTS = 'SageMaker Training service environments are not implemented';

const QUEUE_TYPE_OPTIONS: EnumOptions = {
  unsupported: [JobQueueType.SAGEMAKER_TRAINING, JobQueueType.ECS_MANAGED_INSTANCES],
  because: 'SageMaker Training service environments and ECS Managed Instances are not implemented',
};

const TIME_LIMIT_ACTION_OPTIONS: EnumOptions = {
  unsupported: [JobStateTimeLimitActionsAction.TERMINATE],
  because: 'AWS allows TERMINATE only for SageMaker Training service environments',
};

function computeEnvironmentOrder(list: Maybe<readonly ComputeEnvironmentOrder[]>, min: number): void {
  const path = 'computeEnvironmentOrder';
  listLength(path, list, { min, max: MAX_COMPUTE_ENVIRONMENTS });
  list?.forEach((entry, i) => {
    intRange(`${path}[${i}].order`, entry.order, { min: 0 });
    nameOrArn(`${path}[${i}].computeEnvironment`, entry.computeEnvironment);
  });
  unique(path, list, (e) => e.order, 'order');
  unique(path, list, (e) => e.computeEnvironment, 'computeEnvironment');
}

function jobStateTimeLimitActions(list: Maybe<readonly JobStateTimeLimitAction[]>): void {
  const path = 'jobStateTimeLimitActions';
  listLength(path, list, { max: MAX_TIME_LIMIT_ACTIONS });
  list?.forEach((action, i) => {
    nonEmpty(`${path}[${i}].reason`, action.reason);
    enumOf(`${path}[${i}].state`, action.state, JobStateTimeLimitActionsState);
    intRange(`${path}[${i}].maxTimeSeconds`, action.maxTimeSeconds, TIME_LIMIT_SECONDS);
    enumOf(`${path}[${i}].action`, action.action, JobStateTimeLimitActionsAction, TIME_LIMIT_ACTION_OPTIONS);
  });
}

function noServiceEnvironments(value: unknown): void {
  forbidMember(
    'serviceEnvironmentOrder',
    value,
    `is not supported by openbatch (${NO_SERVICE_ENVIRONMENTS}): use computeEnvironmentOrder`,
  );
}

/** CreateJobQueue: name, priority 0-1000, 1-3 distinct compute environments, time-limit actions. */
export function validateCreateJobQueue(input: CreateJobQueueCommandInput): void {
  resourceName('jobQueueName', input.jobQueueName);
  intRange('priority', input.priority, PRIORITY);
  enumOf('state', input.state, JQState);
  arn('schedulingPolicyArn', input.schedulingPolicyArn);
  enumOf('jobQueueType', input.jobQueueType, JobQueueType, QUEUE_TYPE_OPTIONS);
  noServiceEnvironments(input.serviceEnvironmentOrder);
  requireMember('computeEnvironmentOrder', input.computeEnvironmentOrder, 'is required: list 1-3 compute environments with their order');
  computeEnvironmentOrder(input.computeEnvironmentOrder, 1);
  jobStateTimeLimitActions(input.jobStateTimeLimitActions);
  tagMap('tags', input.tags);
}

/** UpdateJobQueue: as CreateJobQueue for the members given; an empty computeEnvironmentOrder detaches all. */
export function validateUpdateJobQueue(input: UpdateJobQueueCommandInput): void {
  nameOrArn('jobQueue', input.jobQueue);
  intRange('priority', input.priority, PRIORITY);
  enumOf('state', input.state, JQState);
  // A fair-share policy can be replaced but never removed, so an empty ARN is refused too.
  arn('schedulingPolicyArn', input.schedulingPolicyArn);
  noServiceEnvironments(input.serviceEnvironmentOrder);
  computeEnvironmentOrder(input.computeEnvironmentOrder, 0);
  jobStateTimeLimitActions(input.jobStateTimeLimitActions);
}

/** DeleteJobQueue: a name or ARN. */
export function validateDeleteJobQueue(input: DeleteJobQueueCommandInput): void {
  nameOrArn('jobQueue', input.jobQueue);
}

/** DescribeJobQueues: up to 100 names or ARNs, page size 1-100. */
export function validateDescribeJobQueues(input: DescribeJobQueuesCommandInput): void {
  listLength('jobQueues', input.jobQueues, { max: 100 });
  input.jobQueues?.forEach((q, i) => nameOrArn(`jobQueues[${i}]`, q));
  validatePage(input);
}

/** GetJobQueueSnapshot: a name or ARN. */
export function validateGetJobQueueSnapshot(input: GetJobQueueSnapshotCommandInput): void {
  nameOrArn('jobQueue', input.jobQueue);
}
