/**
 * Semantic validation of AWS Batch requests, one function per operation, run after the
 * structural `shapeCheck`. Each throws a ClientException naming the offending member.
 *
 * `validators` maps an operation name to its validator, for the router.
 */
import {
  validateCreateComputeEnvironment,
  validateDeleteComputeEnvironment,
  validateDescribeComputeEnvironments,
  validateUpdateComputeEnvironment,
} from './computeEnvironments.js';
import {
  validateCreateConsumableResource,
  validateDeleteConsumableResource,
  validateDescribeConsumableResource,
  validateListConsumableResources,
  validateListJobsByConsumableResource,
  validateUpdateConsumableResource,
} from './consumableResources.js';
import {
  validateDeregisterJobDefinition,
  validateDescribeJobDefinitions,
  validateRegisterJobDefinition,
} from './jobDefinitions.js';
import {
  validateCreateJobQueue,
  validateDeleteJobQueue,
  validateDescribeJobQueues,
  validateGetJobQueueSnapshot,
  validateUpdateJobQueue,
} from './jobQueues.js';
import {
  validateCancelJob,
  validateCancelJobs,
  validateDescribeJobs,
  validateListJobs,
  validateSubmitJob,
  validateTerminateJob,
  validateTerminateJobs,
} from './jobs.js';
import {
  validateCreateSchedulingPolicy,
  validateDeleteSchedulingPolicy,
  validateDescribeSchedulingPolicies,
  validateListSchedulingPolicies,
  validateUpdateSchedulingPolicy,
} from './schedulingPolicies.js';
import { validateListTagsForResource, validateTagResource, validateUntagResource } from './tags.js';

export {
  validateCancelJob,
  validateCancelJobs,
  validateCreateComputeEnvironment,
  validateCreateConsumableResource,
  validateCreateJobQueue,
  validateCreateSchedulingPolicy,
  validateDeleteComputeEnvironment,
  validateDeleteConsumableResource,
  validateDeleteJobQueue,
  validateDeleteSchedulingPolicy,
  validateDeregisterJobDefinition,
  validateDescribeComputeEnvironments,
  validateDescribeConsumableResource,
  validateDescribeJobDefinitions,
  validateDescribeJobQueues,
  validateDescribeJobs,
  validateDescribeSchedulingPolicies,
  validateGetJobQueueSnapshot,
  validateListConsumableResources,
  validateListJobs,
  validateListJobsByConsumableResource,
  validateListSchedulingPolicies,
  validateListTagsForResource,
  validateRegisterJobDefinition,
  validateSubmitJob,
  validateTagResource,
  validateTerminateJob,
  validateTerminateJobs,
  validateUntagResource,
  validateUpdateComputeEnvironment,
  validateUpdateConsumableResource,
  validateUpdateJobQueue,
  validateUpdateSchedulingPolicy,
};

/** The semantic validator of each operation, by its AWS operation name. */
export const validators = {
  CancelJob: validateCancelJob,
  CancelJobs: validateCancelJobs,
  CreateComputeEnvironment: validateCreateComputeEnvironment,
  CreateConsumableResource: validateCreateConsumableResource,
  CreateJobQueue: validateCreateJobQueue,
  CreateSchedulingPolicy: validateCreateSchedulingPolicy,
  DeleteComputeEnvironment: validateDeleteComputeEnvironment,
  DeleteConsumableResource: validateDeleteConsumableResource,
  DeleteJobQueue: validateDeleteJobQueue,
  DeleteSchedulingPolicy: validateDeleteSchedulingPolicy,
  DeregisterJobDefinition: validateDeregisterJobDefinition,
  DescribeComputeEnvironments: validateDescribeComputeEnvironments,
  DescribeConsumableResource: validateDescribeConsumableResource,
  DescribeJobDefinitions: validateDescribeJobDefinitions,
  DescribeJobQueues: validateDescribeJobQueues,
  DescribeJobs: validateDescribeJobs,
  DescribeSchedulingPolicies: validateDescribeSchedulingPolicies,
  GetJobQueueSnapshot: validateGetJobQueueSnapshot,
  ListConsumableResources: validateListConsumableResources,
  ListJobs: validateListJobs,
  ListJobsByConsumableResource: validateListJobsByConsumableResource,
  ListSchedulingPolicies: validateListSchedulingPolicies,
  ListTagsForResource: validateListTagsForResource,
  RegisterJobDefinition: validateRegisterJobDefinition,
  SubmitJob: validateSubmitJob,
  TagResource: validateTagResource,
  TerminateJob: validateTerminateJob,
  TerminateJobs: validateTerminateJobs,
  UntagResource: validateUntagResource,
  UpdateComputeEnvironment: validateUpdateComputeEnvironment,
  UpdateConsumableResource: validateUpdateConsumableResource,
  UpdateJobQueue: validateUpdateJobQueue,
  UpdateSchedulingPolicy: validateUpdateSchedulingPolicy,
} as const;

/** An operation that has a semantic validator. */
export type ValidatedOperation = keyof typeof validators;

/**
 * Runs the semantic validator of `operation` on a request whose structure was checked against
 * the operation's shape (shapeCheck.ts); an operation without one passes.
 */
export function validateRequest(operation: string, input: Record<string, unknown>): void {
  const byName: Record<string, ((input: never) => void) | undefined> = validators;
  byName[operation]?.(input as never);
}
