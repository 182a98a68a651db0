/**
 * The resolved form of a job of several containers (an ECS task or an EKS pod), as
 * model/taskSpec.ts makes it at submission and model/jobSpec.ts's `task` keeps it.
 */
import type { ContainerProperties, EcsProperties, EksProperties, KeyValuePair, ResourceRequirement } from '@aws-sdk/client-batch';

export type DependencyCondition = 'START' | 'COMPLETE' | 'SUCCESS';

/**
 * What runs in one container, resolved: a job's (model/jobSpec.ts) or one container's of a
 * task. Command after overrides and Ref:: substitution (EKS: command then args, `$(VAR)`
 * expanded at the start); environment with overrides merged by name (no AWS_BATCH_*
 * variables); vcpus, memoryMiB and gpus reserved for it (a task's container: 0 when it names
 * none, as it runs within the task's total).
 */
export interface ContainerRun {
  command: string[];
  environment: KeyValuePair[];
  resourceRequirements: ResourceRequirement[];
  vcpus: number;
  memoryMiB: number;
  gpus: number;
}

/** One container of a task or pod, resolved. */
export interface TaskContainerSpec extends ContainerRun {
  name: string;
  /** ECS: its exit ends the task (AWS's default: true); EKS: every container is */
  essential: boolean;
  /** an EKS init container: runs before the containers, to completion and success */
  init?: boolean;
  dependsOn: { containerName: string; condition: DependencyCondition }[];
  /** in containerProperties' terms: image, user, privileged, volumes (the task's), mountPoints, linuxParameters, ulimits, secrets, logConfiguration */
  properties: ContainerProperties;
  /** ECS stopTimeout: its grace between SIGTERM and SIGKILL when the task stops */
  stopTimeoutSeconds?: number;
}

/** An EKS `secret` volume: the secret's value, as files, read-only. */
export interface SecretVolumeSpec {
  name: string;
  secretName: string;
  optional: boolean;
}

export interface TaskSpec {
  orchestration: 'ECS' | 'EKS';
  /** init containers first (EKS), then the containers, in the definition's order */
  containers: TaskContainerSpec[];
  /** as DescribeJobs shows it: the definition's ecsProperties or eksProperties with the overrides applied */
  ecsProperties?: EcsProperties;
  eksProperties?: EksProperties;
  /** EKS secret volumes, filled from the secret store when an attempt is handed out */
  secretVolumes?: SecretVolumeSpec[];
  /** vCPUs and MiB the task holds: its containers' sums, or the defaults when none names any */
  vcpus: number;
  memoryMiB: number;
  gpus: number;
  /** the resources openbatch gave the task because no container named them */
  defaultedResources?: string[];
}
