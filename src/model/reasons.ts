/**
 * statusReason strings, as AWS Batch users see them and match them in evaluateOnExit rules.
 * One place, so that a retry rule written against AWS matches here too.
 */
export const REASONS = {
  /** a compute environment's statusReason when nothing is capped, held or impaired */
  healthy: 'ComputeEnvironment Healthy',
  essentialContainerExited: 'Essential container in task exited',
  /** the job's process never started: image not pulled, container not made or started, command not found, secrets not resolved */
  taskFailedToStart: 'Task failed to start',
  dependentJobFailed: 'Dependent Job failed',
  /** an array parent with a failed child, once all children have ended */
  arrayChildFailed: 'Array Child Job failed',
  timeout: 'Job attempt duration exceeded timeout',
  hostTerminated: (instanceId: string) => `Host EC2 (instance ${instanceId}) terminated.`,
  /** a compute environment's statusReason while some of its instances cannot run jobs (IMPAIRED): the first one's why */
  instancesImpaired: (count: number, first: { id: string; reason: string }) => `${count} instance${count === 1 ? '' : 's'} cannot run jobs: ${first.id}: ${first.reason}`,
  /** a node of a multi-node job stopped because its main node ended */
  mainNodeExited: 'Stopped: the main node of the multi-node parallel job exited',
} as const;

/**
 * Why a job FAILED, as a code from a fixed set: the statusReason openbatch writes, folded;
 * anything else (the free text of a CancelJob or TerminateJob, …) is `other`. Metrics label
 * failures with it, so that no caller can make their label values, and series, unbounded.
 */
export const FAILURE_CODES = ['essential_container_exited', 'task_failed_to_start', 'dependent_job_failed', 'array_child_failed', 'timeout', 'host_terminated', 'main_node_exited', 'other'] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

export function failureCode(statusReason: string | null): FailureCode {
  switch (statusReason) {
    case REASONS.essentialContainerExited:
      return 'essential_container_exited';
    case REASONS.taskFailedToStart:
      return 'task_failed_to_start';
    case REASONS.dependentJobFailed:
      return 'dependent_job_failed';
    case REASONS.arrayChildFailed:
      return 'array_child_failed';
    case REASONS.timeout:
      return 'timeout';
    case REASONS.mainNodeExited:
      return 'main_node_exited';
  }
  return statusReason !== null && /^Host EC2 \(instance [^)]*\) terminated\.$/.test(statusReason) ? 'host_terminated' : 'other';
}

/** RUNNABLE wait reasons (statusReason of a RUNNABLE job), with AWS's prefixes. */
export const WAIT_REASONS = {
  neverFits: 'MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement (vCPU/memory/GPU) is higher than that can be met by the CE(s) attached to the job queue.',
  noCapacity: 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested for instance type.',
  noConsumable: 'RESOURCE:CONSUMABLE_RESOURCE - Waiting for consumable resources required by the job to become available.',
  noEnabledCe: 'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) associated with the job queue are disabled or have no capacity.',
  /** openbatch's own: the operator drains the farm (`openbatch drain`) */
  draining: 'MAINTENANCE:DRAINING - The farm is being drained (openbatch drain): no job starts until it is resumed (openbatch drain --resume).',
} as const;
