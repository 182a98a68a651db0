/**
 * What an attempt costs. The price table is server configuration (`prices`, see
 * docs/cost.md):
 *
 *   {
 *     "currency": "USD",
 *     "instanceTypes": { "m5.large": { "onDemand": 0.096, "spot": 0.036 }, … },
 *     "fargate":     { "vcpuHour": 0.04048, "gibHour": 0.004445 },
 *     "fargateSpot": { "vcpuHour": 0.01291, "gibHour": 0.001418 },
 *     "default":     { "vcpuHour": 0.04, "gibHour": 0.005, "gpuHour": 0.9 }
 *   }
 *
 * The rate of an attempt is fixed when it is placed, from the prices in force then:
 *   - Fargate (FARGATE / FARGATE_SPOT CEs): vCPUs × vcpuHour + GiB × gibHour, at the Spot
 *     rates on FARGATE_SPOT when given;
 *   - an instance whose type the table prices: the type's Spot price on a SPOT CE (on-demand
 *     when no Spot price is given), times the share of the instance the attempt reserved —
 *     the largest of its vCPU, memory and GPU fractions, since what it leaves of the most
 *     contended resource is what others can no longer use;
 *   - otherwise (local instances, unpriced types): the `default` per-resource rates.
 * No table, no rate: costs are 0 and reported as unpriced.
 *
 * Cost = rate × hours reserved, from placement (STARTING) to the attempt's end: capacity is
 * held from placement, whether or not the process has started.
 */

export interface ResourceRates {
  vcpuHour?: number;
  gibHour?: number;
  gpuHour?: number;
}

export interface PriceTable {
  currency?: string;
  instanceTypes?: Record<string, { onDemand?: number; spot?: number }>;
  fargate?: ResourceRates;
  fargateSpot?: ResourceRates;
  default?: ResourceRates;
}

export interface Reserved {
  vcpus: number;
  memoryMiB: number;
  gpus: number;
}

export interface PlacedOn {
  /** the CE's computeResources.type: EC2, SPOT, FARGATE, FARGATE_SPOT (null: unmanaged) */
  capacityType: string | null;
  instanceType: string;
  /** the instance's whole capacity */
  instance: Reserved;
}

export interface Rate {
  perHour: number;
  /** where the rate came from: `spot:<type>`, `ondemand:<type>`, `fargate`, `fargate-spot`, `default` */
  pricing: string | null;
}

/** Checks the `prices` setting's shape; throws an Error naming the member. */
export function parsePriceTable(value: unknown): PriceTable | null {
  if (value === null || value === undefined || (typeof value === 'object' && Object.keys(value).length === 0)) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error('prices must be a JSON object: {"instanceTypes": {...}, "fargate": {...}, "default": {...}}');
  const t = value as Record<string, unknown>;
  const known = ['currency', 'instanceTypes', 'fargate', 'fargateSpot', 'default'];
  for (const k of Object.keys(t)) if (!known.includes(k)) throw new Error(`prices.${k} is not a price setting (use ${known.join(', ')})`);
  const price = (path: string, v: unknown) => {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) throw new Error(`${path} must be a non-negative number (price per hour)`);
  };
  const rates = (path: string, v: unknown) => {
    if (v === undefined) return;
    if (typeof v !== 'object' || v === null) throw new Error(`${path} must be an object {vcpuHour, gibHour, gpuHour}`);
    for (const [k, x] of Object.entries(v)) {
      if (!['vcpuHour', 'gibHour', 'gpuHour'].includes(k)) throw new Error(`${path}.${k} is not a rate (use vcpuHour, gibHour, gpuHour)`);
      price(`${path}.${k}`, x);
    }
  };
  if (t.currency !== undefined && typeof t.currency !== 'string') throw new Error('prices.currency must be a string such as "USD"');
  if (t.instanceTypes !== undefined) {
    if (typeof t.instanceTypes !== 'object' || t.instanceTypes === null) throw new Error('prices.instanceTypes must map instance types to {onDemand, spot}');
    for (const [type, p] of Object.entries(t.instanceTypes)) {
      if (typeof p !== 'object' || p === null) throw new Error(`prices.instanceTypes.${type} must be {onDemand, spot}`);
      for (const [k, x] of Object.entries(p)) {
        if (k !== 'onDemand' && k !== 'spot') throw new Error(`prices.instanceTypes.${type}.${k} is not a price (use onDemand, spot)`);
        price(`prices.instanceTypes.${type}.${k}`, x);
      }
    }
  }
  rates('prices.fargate', t.fargate);
  rates('prices.fargateSpot', t.fargateSpot);
  rates('prices.default', t.default);
  return t as PriceTable;
}

function byResource(r: ResourceRates, reserved: Reserved): number {
  return reserved.vcpus * (r.vcpuHour ?? 0) + (reserved.memoryMiB / 1024) * (r.gibHour ?? 0) + reserved.gpus * (r.gpuHour ?? 0);
}

/** The hourly rate of an attempt reserving `reserved` on `on` (see the file comment). */
export function hourlyRate(table: PriceTable | null, on: PlacedOn, reserved: Reserved): Rate {
  if (!table) return { perHour: 0, pricing: null };
  if (on.capacityType === 'FARGATE' || on.capacityType === 'FARGATE_SPOT') {
    const spot = on.capacityType === 'FARGATE_SPOT' && table.fargateSpot;
    const rates = spot ? table.fargateSpot : table.fargate;
    if (rates) return { perHour: byResource(rates, reserved), pricing: spot ? 'fargate-spot' : 'fargate' };
  }
  const typed = table.instanceTypes?.[on.instanceType];
  const spot = on.capacityType === 'SPOT' && typed?.spot !== undefined;
  const price = spot ? typed!.spot : typed?.onDemand;
  if (price !== undefined) {
    const frac = (a: number, b: number) => (b > 0 ? Math.min(a / b, 1) : a > 0 ? 1 : 0);
    const share = Math.max(frac(reserved.vcpus, on.instance.vcpus), frac(reserved.memoryMiB, on.instance.memoryMiB), frac(reserved.gpus, on.instance.gpus));
    return { perHour: price * share, pricing: `${spot ? 'spot' : 'ondemand'}:${on.instanceType}` };
  }
  if (table.default) return { perHour: byResource(table.default, reserved), pricing: 'default' };
  return { perHour: 0, pricing: null };
}

/** An attempt's statusReason when its host went away under it (Spot interruption, agent loss): its work is lost. */
export function isLostWork(statusReason: string | null): boolean {
  return !!statusReason && (statusReason.startsWith('Host EC2 (instance') || statusReason.startsWith('Job attempt lost'));
}

/** One group of a cost report (store/cost.ts sums attempts into them). */
export interface CostRow {
  key: string;
  /** a name for the key where there is one (job names) */
  name?: string;
  attempts: number;
  vcpuSeconds: number;
  gibSeconds: number;
  gpuSeconds: number;
  cost: number;
  /** the cost of attempts lost to interruptions */
  lostCost: number;
  lostAttempts: number;
  /** attempts that had no price */
  unpriced: number;
  /**
   * Used against asked (model/usage.ts): the attempts whose use was measured, the CPU seconds
   * they used and the vCPU-seconds they reserved while their processes ran, their peak memory
   * (GiB) times the time they ran and the GiB-seconds they reserved meanwhile — each within
   * the report's range (a figure of an attempt that straddles it in proportion to its time inside).
   */
  measuredAttempts: number;
  cpuSecondsUsed: number;
  vcpuSecondsWhileRunning: number;
  peakGibSeconds: number;
  gibSecondsWhileRunning: number;
}
