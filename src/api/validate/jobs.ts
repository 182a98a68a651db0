/**
 * Semantic rules of the job operations: submission, listing, description, cancel, terminate.
 *
 * A submission names its queue and definition (existence is the store's check) and may
 * override the definition's settings; overrides get the checks of the settings they replace,
 * except rules that depend on the definition's platform, which the store applies once it has
 * resolved the definition.
 */
import {
  ArrayJobDependency,
  JobStatus,
  type CancelJobCommandInput,
  type CancelJobsCommandInput,
  type ContainerOverrides,
  type DescribeJobsCommandInput,
  type EcsPropertiesOverride,
  type EksPropertiesOverride,
  type KeyValuesPair,
  type ListJobsCommandInput,
  type NodeOverrides,
  type SubmitJobCommandInput,
  type TerminateJobCommandInput,
  type TerminateJobsCommandInput,
} from '@aws-sdk/client-batch';
import { clientError } from '../../model/errors.js';
import { checkConsumableResourceProperties } from './consumableResources.js';
import {
  checkCommandOverride,
  checkEnvironment,
  checkParameters,
  checkResourceRequirements,
  checkRetryStrategy,
  checkTargetNodes,
  checkTimeout,
  SCHEDULING_PRIORITY,
} from './jobDefinitions.js';
import { PAGE_SIZE, validatePage } from './pagination.js';
import { checkShareIdentifier } from './schedulingPolicies.js';
import {
  eachNonEmpty,
  enumOf,
  filterList,
  intRange,
  jobDefinitionRef,
  jobName,
  listLength,
  matches,
  nameOrArn,
  nonEmpty,
  present,
  show,
  stringLength,
  tagMap,
  type Maybe,
} from './rules.js';

const ARRAY_SIZE = { min: 2, max: 10000 };
const MAX_DEPENDENCIES = 20;
const MAX_JOBS_PER_DESCRIBE = 100;
/** CancelJobs and TerminateJobs act on up to 50 jobs at once (model). */
const MAX_JOBS_PER_BULK_STOP = 50;
/** The reason of a cancel or terminate becomes the job's statusReason. */
const REASON_LENGTH = { min: 1, max: 1024 };

// The model types ListJobs filter names as free strings (documented in prose), so the SDK
// has no enum object for them.
const LIST_JOBS_FILTERS = ['JOB_NAME', 'JOB_DEFINITION', 'BEFORE_CREATED_AT', 'AFTER_CREATED_AT', 'SHARE_IDENTIFIER'] as const;
const EPOCH_MILLIS = /^[0-9]+$/;

// ---------------------------------------------------------------------------------------
// SubmitJob

/**
 * An array job has a size of 2-10000. `arrayProperties: {}` without a size is a single job,
 * as AWS takes it: Airflow's BatchOperator sends exactly that for every job it submits.
 */
function arrayProperties(input: SubmitJobCommandInput): void {
  intRange('arrayProperties.size', input.arrayProperties?.size, ARRAY_SIZE);
}

/** True when the submission is an array job (arrayProperties with a size). */
function isArrayJob(input: SubmitJobCommandInput): boolean {
  return present(input.arrayProperties?.size);
}

/**
 * Up to 20 dependencies, each on a job id. N_TO_N relates the children of two arrays, so it
 * needs an array job; a SEQUENTIAL entry without a job id makes an array's children run in
 * order, so it needs one too. A SEQUENTIAL entry with a job id is a plain dependency on that
 * job, which AWS accepts on any job (scripts written for arrays submit it to single jobs).
 */
function dependsOn(input: SubmitJobCommandInput): void {
  const list = input.dependsOn;
  listLength('dependsOn', list, { max: MAX_DEPENDENCIES });
  list?.forEach((dependency, i) => {
    const at = `dependsOn[${i}]`;
    enumOf(`${at}.type`, dependency.type, ArrayJobDependency);
    if (present(dependency.jobId)) nonEmpty(`${at}.jobId`, dependency.jobId);
    else if (dependency.type !== ArrayJobDependency.SEQUENTIAL)
      throw clientError(`${at}.jobId is required (only a SEQUENTIAL dependency of an array job may omit it)`);
    const arrayOnly = dependency.type === ArrayJobDependency.N_TO_N || (dependency.type === ArrayJobDependency.SEQUENTIAL && !present(dependency.jobId));
    if (arrayOnly && !isArrayJob(input))
      throw clientError(
        dependency.type === ArrayJobDependency.N_TO_N
          ? `${at}.type N_TO_N needs an array job: add arrayProperties.size, or remove the type`
          : `${at}: a SEQUENTIAL dependency without a jobId orders the children of an array job: add arrayProperties.size, or give the jobId of the job to wait for`,
      );
  });
}

function containerOverrides(path: string, overrides: Maybe<ContainerOverrides>): void {
  if (!present(overrides)) return;
  intRange(`${path}.vcpus`, overrides.vcpus, { min: 1 });
  intRange(`${path}.memory`, overrides.memory, { min: 4 });
  checkCommandOverride(`${path}.command`, overrides.command);
  checkEnvironment(`${path}.environment`, overrides.environment);
  checkResourceRequirements(`${path}.resourceRequirements`, overrides.resourceRequirements, 'ANY');
}

function ecsPropertiesOverride(path: string, overrides: Maybe<EcsPropertiesOverride>): void {
  if (!present(overrides)) return;
  // A job has one ECS task, so there is at most one to override.
  listLength(`${path}.taskProperties`, overrides.taskProperties, { max: 1 });
  overrides.taskProperties?.forEach((task, t) =>
    task.containers?.forEach((c, i) => {
      const at = `${path}.taskProperties[${t}].containers[${i}]`;
      checkCommandOverride(`${at}.command`, c.command);
      checkEnvironment(`${at}.environment`, c.environment);
      checkResourceRequirements(`${at}.resourceRequirements`, c.resourceRequirements, 'ANY');
    }),
  );
}

function eksPropertiesOverride(path: string, overrides: Maybe<EksPropertiesOverride>): void {
  const pod = overrides?.podProperties;
  if (!present(pod)) return;
  for (const member of ['containers', 'initContainers'] as const)
    pod[member]?.forEach((c, i) => checkEnvironment(`${path}.podProperties.${member}[${i}].env`, c.env));
}

function nodeOverrides(path: string, overrides: Maybe<NodeOverrides>): void {
  if (!present(overrides)) return;
  intRange(`${path}.numNodes`, overrides.numNodes, { min: 1 });
  // Without numNodes here, the node count is the definition's: the store checks the ranges against it.
  const numNodes = overrides.numNodes ?? undefined;
  overrides.nodePropertyOverrides?.forEach((node, i) => {
    const at = `${path}.nodePropertyOverrides[${i}]`;
    checkTargetNodes(`${at}.targetNodes`, node.targetNodes ?? '', numNodes);
    containerOverrides(`${at}.containerOverrides`, node.containerOverrides);
    ecsPropertiesOverride(`${at}.ecsPropertiesOverride`, node.ecsPropertiesOverride);
    eksPropertiesOverride(`${at}.eksPropertiesOverride`, node.eksPropertiesOverride);
    listLength(`${at}.instanceTypes`, node.instanceTypes, { max: 1 });
    checkConsumableResourceProperties(`${at}.consumableResourcePropertiesOverride`, node.consumableResourcePropertiesOverride);
  });
}

/**
 * SubmitJob: job name, queue and definition references, array size 2-10000, up to 20
 * dependencies, share identifier and priority, and the overrides' rules.
 */
export function validateSubmitJob(input: SubmitJobCommandInput): void {
  jobName('jobName', input.jobName);
  nameOrArn('jobQueue', input.jobQueue);
  jobDefinitionRef('jobDefinition', input.jobDefinition, 'optional');
  checkShareIdentifier('shareIdentifier', input.shareIdentifier);
  intRange('schedulingPriorityOverride', input.schedulingPriorityOverride, SCHEDULING_PRIORITY);
  arrayProperties(input);
  dependsOn(input);
  checkParameters('parameters', input.parameters);
  containerOverrides('containerOverrides', input.containerOverrides);
  nodeOverrides('nodeOverrides', input.nodeOverrides);
  ecsPropertiesOverride('ecsPropertiesOverride', input.ecsPropertiesOverride);
  eksPropertiesOverride('eksPropertiesOverride', input.eksPropertiesOverride);
  checkRetryStrategy('retryStrategy', input.retryStrategy);
  checkTimeout('timeout', input.timeout);
  checkConsumableResourceProperties('consumableResourcePropertiesOverride', input.consumableResourcePropertiesOverride);
  tagMap('tags', input.tags);
}

// ---------------------------------------------------------------------------------------
// reading jobs

/** DescribeJobs: 1-100 job ids; an empty one names no job and is left out of the answer, as AWS does. */
export function validateDescribeJobs(input: DescribeJobsCommandInput): void {
  listLength('jobs', input.jobs, { min: 1, max: MAX_JOBS_PER_DESCRIBE });
}

const LIST_SOURCES = ['jobQueue', 'arrayJobId', 'multiNodeJobId'] as const;

/** Value rules per ListJobs filter, beyond being non-empty. */
function listJobsFilterValues(filter: KeyValuesPair, path: string): void {
  filter.values?.forEach((value, j) => {
    const at = `${path}.values[${j}]`;
    switch (filter.name) {
      case 'BEFORE_CREATED_AT':
      case 'AFTER_CREATED_AT':
        matches(at, value, EPOCH_MILLIS, 'use a time in milliseconds since the epoch, e.g. 1700000000000');
        break;
      case 'JOB_DEFINITION':
        if (value.startsWith('arn:') && value.includes('*'))
          throw clientError(`${at} ${show(value)} is invalid: '*' matches job definition names only, not ARNs`);
        break;
    }
  });
}

/**
 * ListJobs: exactly one of jobQueue, arrayJobId, multiNodeJobId; one filter at a time; page
 * size 1-1000. A jobStatus given with a filter is accepted: AWS ignores it (except with
 * SHARE_IDENTIFIER), and the store does the same.
 */
export function validateListJobs(input: ListJobsCommandInput): void {
  const given = LIST_SOURCES.filter((k) => present(input[k]));
  if (given.length !== 1)
    throw clientError(
      given.length === 0
        ? `one of ${LIST_SOURCES.join(', ')} is required (got none)`
        : `only one of ${LIST_SOURCES.join(', ')} may be given (got ${given.join(' and ')})`,
    );
  nameOrArn('jobQueue', input.jobQueue);
  nonEmpty('arrayJobId', input.arrayJobId);
  nonEmpty('multiNodeJobId', input.multiNodeJobId);
  enumOf('jobStatus', input.jobStatus, JobStatus);
  listLength('filters', input.filters, { max: 1 });
  filterList('filters', input.filters, LIST_JOBS_FILTERS);
  input.filters?.forEach((f, i) => listJobsFilterValues(f, `filters[${i}]`));
  validatePage(input, PAGE_SIZE.listJobs);
}

// ---------------------------------------------------------------------------------------
// stopping jobs

/** CancelJob: a job id and a reason of 1-1024 characters. */
export function validateCancelJob(input: CancelJobCommandInput): void {
  nonEmpty('jobId', input.jobId);
  stringLength('reason', input.reason, REASON_LENGTH);
}

/** TerminateJob: a job id and a reason of 1-1024 characters. */
export function validateTerminateJob(input: TerminateJobCommandInput): void {
  nonEmpty('jobId', input.jobId);
  stringLength('reason', input.reason, REASON_LENGTH);
}

/** CancelJobs / TerminateJobs: 1-50 job ids and one reason of 1-1024 characters for all of them. */
function bulkStop(input: CancelJobsCommandInput | TerminateJobsCommandInput): void {
  listLength('jobs', input.jobs, { min: 1, max: MAX_JOBS_PER_BULK_STOP });
  eachNonEmpty('jobs', input.jobs);
  stringLength('reason', input.reason, REASON_LENGTH);
}

/** CancelJobs: 1-50 job ids and a reason of 1-1024 characters. */
export function validateCancelJobs(input: CancelJobsCommandInput): void {
  bulkStop(input);
}

/** TerminateJobs: 1-50 job ids and a reason of 1-1024 characters. */
export function validateTerminateJobs(input: TerminateJobsCommandInput): void {
  bulkStop(input);
}
