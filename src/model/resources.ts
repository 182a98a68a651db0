/**
 * What a job asks of an instance, and what the scheduler's plan asks of a compute
 * environment's capacity: the vocabulary the scheduler (scheduler/schedule.ts) and the compute
 * providers (compute/) share.
 */

/** vCPUs, memory (MiB) and GPUs: a job's needs, or an instance's room. */
export interface Resources {
  vcpus: number;
  memoryMiB: number;
  gpus: number;
}

/**
 * Whether `need` fits in `room`: the one rule the scheduler (placement, "never fits") and
 * planScaling (what to launch) share. vCPUs are fractional (0.25 steps add up with rounding
 * error), so they get a hair of allowance.
 */
export function fits(need: Resources, room: Resources): boolean {
  return need.vcpus <= room.vcpus + 1e-9 && need.memoryMiB <= room.memoryMiB && need.gpus <= room.gpus;
}

/**
 * A job the scheduler left waiting for capacity (NO_CAPACITY), in the order its pass
 * considered it (queue priority, then the queue's dispatch order): what planScaling
 * (compute/planScaling.ts) launches for, with the same priorities as the scheduler's.
 */
export interface Demand {
  jobId: string;
  queue: string;
  /** its queue's priority */
  priority: number;
  /** the enabled CEs of its queue that could ever hold it, in computeEnvironmentOrder */
  ceNames: string[];
  /** a plain job's needs; a multi-node job's totals */
  need: Resources;
  /** a multi-node job: each node's needs */
  nodes?: Resources[];
}
