/**
 * The compute providers the scheduler loop scales: each CE belongs to the first provider
 * that manages it (Slurm's before the local one, which takes every other MANAGED CE).
 */
import type { Demand, Resources } from '../model/resources.js';
import type { ComputeEnvironmentRow } from '../store/computeEnvironments.js';
import type { InstanceRow } from '../store/instances.js';
import type { FarmState } from '../store/drain.js';

/** The CE tag that hands a CE to a provider other than the local one (`openbatch:provider=slurm`). */
export const PROVIDER_TAG = 'openbatch:provider';

/** What the scheduler loop asks of a provider. */
export interface CapacityProvider {
  /** whether this provider supplies the CE's capacity */
  manages(ce: ComputeEnvironmentRow): boolean;
  /** the largest job the CE could ever run; null when unknown */
  largest(ce: ComputeEnvironmentRow): Resources | null;
  /** after a scheduler pass: scale to the plan's demand; in a drain (farm.draining), retire what is idle (with stopJobs: everything) */
  reconcile(demand: Demand[], usage: Map<string, { jobs: number }>, farm: FarmState): Promise<void>;
  /** whether an instance takes one job in its life (a Fargate task) */
  takesOneJob?(inst: InstanceRow): boolean;
}

export class Providers implements CapacityProvider {
  constructor(private readonly list: CapacityProvider[]) {}

  manages(ce: ComputeEnvironmentRow): boolean {
    return this.list.some((p) => p.manages(ce));
  }

  largest(ce: ComputeEnvironmentRow): Resources | null {
    return this.list.find((p) => p.manages(ce))?.largest(ce) ?? null;
  }

  async reconcile(demand: Demand[], usage: Map<string, { jobs: number }>, farm: FarmState): Promise<void> {
    for (const p of this.list) await p.reconcile(demand, usage, farm);
  }

  takesOneJob(inst: InstanceRow): boolean {
    return this.list.some((p) => p.takesOneJob?.(inst) ?? false);
  }
}
