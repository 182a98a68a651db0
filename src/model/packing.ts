/**
 * Packing a job's units (the job itself, or each node of a multi-node job) into instances of
 * one shape. The scheduler asks it whether a compute environment could ever hold a job
 * (NEVER_FITS when not), planScaling what to launch for one: the same answer both ways, so a
 * job the scheduler keeps waiting is always one the providers can launch for.
 */
import { fits, type Resources } from './resources.js';

/**
 * How many instances of `shape` hold every unit, placing units largest first on the first
 * instance with room left (first-fit decreasing). Undefined when a unit fits no instance of it.
 */
export function instancesToHold(units: readonly Resources[], shape: Resources): number | undefined {
  const bins: Resources[] = [];
  const sorted = [...units].sort((a, b) => b.vcpus - a.vcpus || b.memoryMiB - a.memoryMiB || b.gpus - a.gpus);
  for (const u of sorted) {
    if (!fits(u, shape)) return undefined;
    const target = bins.find((b) => fits(u, b)) ?? bins[bins.push({ ...shape }) - 1];
    target.vcpus -= u.vcpus;
    target.memoryMiB -= u.memoryMiB;
    target.gpus -= u.gpus;
  }
  return bins.length;
}

/**
 * Whether instances of one of `shapes` could hold every unit within `room` (all of them
 * together): a compute environment's instance shapes, each capped to the most it could ever
 * have (its maxvCpus and the host's budget), and that most as the room.
 */
export function couldPack(units: readonly Resources[], shapes: readonly Resources[], room: Resources): boolean {
  return shapes.some((shape) => {
    const n = instancesToHold(units, shape);
    return n !== undefined && n * shape.vcpus <= room.vcpus + 1e-9 && n * shape.memoryMiB <= room.memoryMiB && n * shape.gpus <= room.gpus;
  });
}
