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

export interface Demand extends Resources {
  ceName: string;
  jobs: number;
  /** the largest single job waiting for this CE: an instance launched for the demand must hold it */
  largestJob: Resources;
  /** the first waiting jobs' sizes, in dispatch order (Fargate launches one task instance per job) */
  sizes: Resources[];
}
