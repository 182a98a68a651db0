/**
 * The sizes Fargate runs: its vCPU sizes and, for each, the memory sizes (MiB) it allows, as
 * the AWS Batch model documents them for resourceRequirements. Job definition validation
 * (api/validate/jobDefinitions.ts) holds Fargate jobs to them; right-sizing advice
 * (model/usage.ts) suggests only sizes among them.
 */

/** True for the compute environment types FARGATE and FARGATE_SPOT, which have no instances. */
export function isFargate(type: string | null | undefined): boolean {
  return type === 'FARGATE' || type === 'FARGATE_SPOT';
}

function steps(from: number, to: number, by: number): number[] {
  const out: number[] = [];
  for (let n = from; n <= to; n += by) out.push(n);
  return out;
}

/** Fargate's vCPU sizes and the memory sizes (MiB) each allows, smallest first. */
export const FARGATE_MEMORY_BY_VCPU: ReadonlyMap<number, readonly number[]> = new Map([
  [0.25, [512, 1024, 2048]],
  [0.5, steps(1024, 4096, 1024)],
  [1, steps(2048, 8192, 1024)],
  [2, steps(4096, 16384, 1024)],
  [4, steps(8192, 30720, 1024)],
  [8, steps(16384, 61440, 4096)],
  [16, steps(32768, 122880, 8192)],
]);

/** Fargate's vCPU sizes, smallest first. */
export const FARGATE_VCPUS: readonly number[] = [...FARGATE_MEMORY_BY_VCPU.keys()];

/** Every memory size Fargate takes (MiB), smallest first: 512, 1,024, 2,048, 3,072, … 122,880. */
export const FARGATE_MEMORY: readonly number[] = [...new Set([...FARGATE_MEMORY_BY_VCPU.values()].flat())].sort((a, b) => a - b);
