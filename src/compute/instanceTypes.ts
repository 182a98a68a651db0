/**
 * The instance-type catalog and the allocation strategies that choose from it.
 *
 * The catalog holds AWS-like types (family.size) with their vCPUs, memory, GPUs and an
 * on-demand price per hour (in "price units": only ratios matter, for the price-aware Spot
 * strategy). A CE's `instanceTypes` names types (`m5.large`), families (`m5`: every size) or
 * bundles Batch picks itself:
 *   optimal, default_x86_64   the c, m and r families of the current generation (c5, m5, r5),
 *                             as AWS picks "optimal" from the compute, general and memory
 *                             families
 *   default_arm64             the Graviton families c6g, m6g, r6g
 *
 * Choosing what to launch is a pure function of the allowed types, the demand and the room
 * left (the CE's maxvCpus and the host budget), one rule per allocation strategy:
 *   BEST_FIT                       the smallest type that holds the largest waiting job; only
 *                                  that type, and only within maxvCpus (AWS: waits rather
 *                                  than picks another type).
 *   BEST_FIT_PROGRESSIVE           the smallest type that holds all the waiting work, else
 *                                  the largest that fits the room; falls back to smaller
 *                                  types when larger ones do not fit.
 *   SPOT_CAPACITY_OPTIMIZED        the smallest type that holds the largest job: work spread
 *                                  over small instances loses the least to one interruption.
 *   SPOT_PRICE_CAPACITY_OPTIMIZED  the cheapest type that holds the largest job (the c
 *                                  family when memory allows), then the smallest.
 *
 * A type larger than the room (the host budget or what maxvCpus leaves) is never launched
 * with capacity the host does not have: when the strategy's type does not fit the room, the
 * smallest type that holds the largest job is launched *capped* to the room (its capacity is
 * the room's, and the instance says so). AWS would wait for room, or exceed maxvCpus by one
 * instance; on one host, room that is not there never comes, and maxvCpus is kept.
 */
import type { Resources } from '../model/resources.js';
import { instancesToHold } from '../model/packing.js';

export interface InstanceType extends Resources {
  name: string;
  family: string;
  /** on-demand price per hour, in arbitrary units (ratios only) */
  price: number;
}

interface Family {
  /** MiB of memory per vCPU */
  memPerVcpu: number;
  /** price per vCPU-hour (ratios only) */
  pricePerVcpu: number;
  sizes: readonly string[];
  arch: 'x86_64' | 'arm64';
  /** GPUs of every size (accelerated families) */
  gpus?: number;
}

const SIZE_VCPUS: Record<string, number> = {
  medium: 1,
  large: 2,
  xlarge: 4,
  '2xlarge': 8,
  '4xlarge': 16,
  '8xlarge': 32,
  '9xlarge': 36,
  '10xlarge': 40,
  '12xlarge': 48,
  '16xlarge': 64,
  '18xlarge': 72,
  '24xlarge': 96,
  '32xlarge': 128,
};

const X86 = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge'] as const;
const C5 = ['large', 'xlarge', '2xlarge', '4xlarge', '9xlarge', '12xlarge', '18xlarge', '24xlarge'] as const;
const C4 = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge'] as const;
const M4 = ['large', 'xlarge', '2xlarge', '4xlarge', '10xlarge', '16xlarge'] as const;
const ARM = ['medium', 'large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'] as const;

const FAMILIES: Record<string, Family> = {
  c4: { memPerVcpu: 1920, pricePerVcpu: 0.05, sizes: C4, arch: 'x86_64' },
  m4: { memPerVcpu: 4096, pricePerVcpu: 0.05, sizes: M4, arch: 'x86_64' },
  r4: { memPerVcpu: 7808, pricePerVcpu: 0.0665, sizes: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge'], arch: 'x86_64' },
  c5: { memPerVcpu: 2048, pricePerVcpu: 0.0425, sizes: C5, arch: 'x86_64' },
  m5: { memPerVcpu: 4096, pricePerVcpu: 0.048, sizes: X86, arch: 'x86_64' },
  r5: { memPerVcpu: 8192, pricePerVcpu: 0.063, sizes: X86, arch: 'x86_64' },
  c6i: { memPerVcpu: 2048, pricePerVcpu: 0.0425, sizes: [...X86, '32xlarge'], arch: 'x86_64' },
  m6i: { memPerVcpu: 4096, pricePerVcpu: 0.048, sizes: [...X86, '32xlarge'], arch: 'x86_64' },
  r6i: { memPerVcpu: 8192, pricePerVcpu: 0.063, sizes: [...X86, '32xlarge'], arch: 'x86_64' },
  c6g: { memPerVcpu: 2048, pricePerVcpu: 0.034, sizes: ARM, arch: 'arm64' },
  m6g: { memPerVcpu: 4096, pricePerVcpu: 0.0385, sizes: ARM, arch: 'arm64' },
  r6g: { memPerVcpu: 8192, pricePerVcpu: 0.0504, sizes: ARM, arch: 'arm64' },
  g4dn: { memPerVcpu: 4096, pricePerVcpu: 0.1315, sizes: ['xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge'], arch: 'x86_64', gpus: 1 },
};

/** Bundles of families that Batch resolves itself. */
export const INSTANCE_BUNDLES: Readonly<Record<string, readonly string[]>> = {
  optimal: ['c5', 'm5', 'r5'],
  default_x86_64: ['c5', 'm5', 'r5'],
  default_arm64: ['c6g', 'm6g', 'r6g'],
};

function makeType(family: string, size: string): InstanceType {
  const f = FAMILIES[family];
  const vcpus = SIZE_VCPUS[size];
  return { name: `${family}.${size}`, family, vcpus, memoryMiB: vcpus * f.memPerVcpu, gpus: f.gpus ?? 0, price: Math.round(vcpus * f.pricePerVcpu * 10_000) / 10_000 };
}

/** Every type of the catalog, by name. */
export const CATALOG: ReadonlyMap<string, InstanceType> = new Map(
  Object.entries(FAMILIES).flatMap(([family, f]) => f.sizes.map((size) => [`${family}.${size}`, makeType(family, size)] as const)),
);

export const FAMILY_NAMES: readonly string[] = Object.keys(FAMILIES);

/** Why an instanceTypes entry is not in the catalog, or undefined when it is. */
export function unknownInstanceType(entry: string): string | undefined {
  if (entry in INSTANCE_BUNDLES || entry in FAMILIES || CATALOG.has(entry)) return undefined;
  const family = entry.split('.')[0];
  if (family in FAMILIES) {
    return `'${entry}' is not a size of the ${family} family: use one of ${FAMILIES[family].sizes.map((s) => `${family}.${s}`).join(', ')}`;
  }
  return `'${entry}' is not an instance type openbatch knows: use ${Object.keys(INSTANCE_BUNDLES).join(', ')}, a family (${FAMILY_NAMES.join(', ')}) or one of its types such as m5.large`;
}

/** The types a CE's instanceTypes allow, smallest first (unknown entries are skipped: validation refuses them). */
export function expandInstanceTypes(entries: readonly string[] | undefined): InstanceType[] {
  const names = new Set<string>();
  for (const e of entries?.length ? entries : ['optimal']) {
    const families = INSTANCE_BUNDLES[e] ?? (e in FAMILIES ? [e] : undefined);
    if (families) for (const f of families) for (const s of FAMILIES[f].sizes) names.add(`${f}.${s}`);
    else if (CATALOG.has(e)) names.add(e);
  }
  return [...names].map((n) => CATALOG.get(n)!).sort(bySize);
}

function bySize(a: InstanceType, b: InstanceType): number {
  return a.vcpus - b.vcpus || a.memoryMiB - b.memoryMiB || a.price - b.price || a.name.localeCompare(b.name);
}

function holds(t: Resources, need: Resources): boolean {
  return t.vcpus >= need.vcpus && t.memoryMiB >= need.memoryMiB && t.gpus >= need.gpus;
}

export type AllocationStrategy = 'BEST_FIT' | 'BEST_FIT_PROGRESSIVE' | 'SPOT_CAPACITY_OPTIMIZED' | 'SPOT_PRICE_CAPACITY_OPTIMIZED';

export interface LaunchChoice {
  type: InstanceType;
  /** the capacity the instance gets: the type's, or less when capped to the room */
  capacity: Resources;
  capped: boolean;
}

/**
 * What to launch for waiting work (see the file comment). `largestJob` must fit the
 * instance; `total` is all the work waiting; `room` is what the CE's maxvCpus and the host
 * budget still allow. Undefined: nothing can be launched now.
 */
export function chooseLaunch(
  allowed: readonly InstanceType[],
  strategy: AllocationStrategy,
  want: { largestJob: Resources; total: Resources },
  room: Resources,
): LaunchChoice | undefined {
  const holding = allowed.filter((t) => holds(t, want.largestJob));
  if (holding.length === 0) return undefined;
  const fitting = holding.filter((t) => holds(room, t));
  const exact = (type: InstanceType): LaunchChoice => ({ type, capacity: { vcpus: type.vcpus, memoryMiB: type.memoryMiB, gpus: type.gpus }, capped: false });
  let chosen: InstanceType | undefined;
  switch (strategy) {
    case 'BEST_FIT':
      // Only the best type, never another.
      chosen = fitting[0] === holding[0] ? holding[0] : undefined;
      break;
    case 'BEST_FIT_PROGRESSIVE':
      chosen = fitting.find((t) => holds(t, want.total)) ?? fitting[fitting.length - 1];
      break;
    case 'SPOT_CAPACITY_OPTIMIZED':
      chosen = fitting[0];
      break;
    case 'SPOT_PRICE_CAPACITY_OPTIMIZED':
      chosen = [...fitting].sort((a, b) => a.price - b.price || bySize(a, b))[0];
      break;
  }
  if (chosen) return exact(chosen);
  // Nothing fits the room whole: the smallest type that holds the job, capped to the room.
  const capacity = {
    vcpus: Math.min(holding[0].vcpus, Math.floor(room.vcpus)),
    memoryMiB: Math.min(holding[0].memoryMiB, room.memoryMiB),
    gpus: Math.min(holding[0].gpus, room.gpus),
  };
  return holds(capacity, want.largestJob) && capacity.vcpus >= 1 ? { type: holding[0], capacity, capped: true } : undefined;
}

/**
 * The largest capacity a CE's instance could ever have here: the allowed types bounded by
 * the room a whole CE and host could give (componentwise). The scheduler uses it to tell a
 * job that can never run (NEVER_FITS) from one that waits for capacity.
 */
export function largestCapacity(allowed: readonly InstanceType[], bound: Resources): Resources {
  const out = { vcpus: 0, memoryMiB: 0, gpus: 0 };
  for (const t of allowed) {
    out.vcpus = Math.max(out.vcpus, Math.min(t.vcpus, bound.vcpus));
    out.memoryMiB = Math.max(out.memoryMiB, Math.min(t.memoryMiB, bound.memoryMiB));
    out.gpus = Math.max(out.gpus, Math.min(t.gpus, bound.gpus));
  }
  return out;
}

/** A type capped to `room` componentwise (whole vCPUs), and whether that took anything from it. */
function capTo(t: InstanceType, room: Resources): { capacity: Resources; capped: boolean } {
  const capacity = { vcpus: Math.min(t.vcpus, Math.floor(room.vcpus + 1e-9)), memoryMiB: Math.min(t.memoryMiB, room.memoryMiB), gpus: Math.min(t.gpus, room.gpus) };
  return { capacity, capped: capacity.vcpus < t.vcpus || capacity.memoryMiB < t.memoryMiB || capacity.gpus < t.gpus };
}

export interface GangLaunch {
  type: InstanceType;
  /** the capacity of each instance: the type's, or less when capped to the room */
  capacity: Resources;
  capped: boolean;
  /** how many instances of it */
  count: number;
}

/**
 * Instances of one type that together hold every unit within `room` (the CE's maxvCpus and
 * the host's budget), the types tried in the allocation strategy's order: smallest first
 * (BEST_FIT, BEST_FIT_PROGRESSIVE, SPOT_CAPACITY_OPTIMIZED) or cheapest first
 * (SPOT_PRICE_CAPACITY_OPTIMIZED). A type larger than the room is tried capped to it, as
 * chooseLaunch caps. The scheduler asks it with the whole room a CE could ever have
 * (a job for which it answers undefined never fits); planScaling with the room there is.
 */
export function packLaunch(units: readonly Resources[], allowed: readonly InstanceType[], strategy: AllocationStrategy, room: Resources): GangLaunch | undefined {
  const order = strategy === 'SPOT_PRICE_CAPACITY_OPTIMIZED' ? [...allowed].sort((a, b) => a.price - b.price || bySize(a, b)) : allowed;
  for (const type of order) {
    const { capacity, capped } = capTo(type, room);
    if (capacity.vcpus < 1) continue;
    const count = instancesToHold(units, capacity);
    if (count === undefined) continue;
    if (count * capacity.vcpus <= room.vcpus + 1e-9 && count * capacity.memoryMiB <= room.memoryMiB && count * capacity.gpus <= room.gpus) return { type, capacity, capped, count };
  }
  return undefined;
}

/**
 * The shapes a compute environment could ever launch here: each allowed type capped to the
 * most the CE could have (its maxvCpus and the host's budget), smallest first. With that
 * room they are what the scheduler packs a job into to tell whether it could ever run.
 */
export function launchShapes(allowed: readonly InstanceType[], room: Resources): Resources[] {
  return allowed.map((t) => capTo(t, room).capacity).filter((c) => c.vcpus >= 1);
}
