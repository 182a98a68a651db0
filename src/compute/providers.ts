/**
 * The compute providers the scheduler loop scales: each CE belongs to the first provider
 * that manages it (Slurm's before the local one, which takes every other MANAGED CE).
 *
 * A pass asks them, in order: `beforePass` (what happened to their instances meanwhile),
 * `launchable`/`largest` (what a CE could ever hold: the scheduler's NEVER_FITS),
 * `scalingView` (their CEs and instances for planScaling, on the pass's snapshot), and after
 * the pass's commit `reconcile` (carry out the scaling plan).
 */
import type { Resources } from '../model/resources.js';
import type { ComputeEnvironmentRow } from '../store/computeEnvironments.js';
import type { FarmState } from '../store/drain.js';
import type { InstanceRow } from '../store/instances.js';
import type { JobQueueRow } from '../store/jobQueues.js';
import type { InstanceUsage } from '../store/jobs.js';
import type { ScalingPlan, ScalingSnapshot } from './planScaling.js';

/** The CE tag that hands a CE to a provider other than the local one (`openbatch:provider=slurm`). */
export const PROVIDER_TAG = 'openbatch:provider';

/** Jobs STARTING or RUNNING on an instance, and what they use (the store's reading). */
export type { InstanceUsage } from '../store/jobs.js';

/** What a pass read, for a provider to describe its part of it to planScaling. */
export interface PassRows {
  ces: ComputeEnvironmentRow[];
  queues: JobQueueRow[];
  /** every instance not yet TERMINATED */
  instances: InstanceRow[];
  /** by instance, after the pass's placements */
  usage: Map<string, InstanceUsage>;
  /** the farm's drain (`openbatch drain`) */
  farm: FarmState;
  /** the last pass's scaling plan: claims (heldFor) and drains carry over */
  last?: ScalingPlan;
}

/** A provider's part of planScaling's snapshot (the waiting work and the time are the loop's). */
export type ScalingView = Omit<ScalingSnapshot, 'demand' | 'now'>;

/** What the scheduler loop asks of a provider. */
export interface CapacityProvider {
  /** whether this provider supplies the CE's capacity */
  manages(ce: ComputeEnvironmentRow): boolean;
  /** the largest job the CE could ever run; null when unknown */
  largest(ce: ComputeEnvironmentRow): Resources | null;
  /** the instance shapes the CE could ever launch and the room for them together (model/packing.ts); undefined when not known so */
  launchable?(ce: ComputeEnvironmentRow): { shapes: Resources[]; room: Resources } | undefined;
  /** before a pass: what happened to its instances meanwhile (lost agents, Spot notices ending…) */
  beforePass?(): Promise<void>;
  /** its CEs and instances as planScaling sees them; undefined when it scales by rules of its own */
  scalingView?(rows: PassRows, now: number): ScalingView | undefined;
  /** after a scheduler pass's commit: carry out its part of the scaling plan */
  reconcile(plan: ScalingPlan | undefined, usage: Map<string, InstanceUsage>): Promise<void>;
  /** whether an instance takes one job in its life (a Fargate task) */
  takesOneJob?(inst: InstanceRow): boolean;
}

export class Providers implements CapacityProvider {
  constructor(private readonly list: CapacityProvider[]) {}

  private of(ce: ComputeEnvironmentRow): CapacityProvider | undefined {
    return this.list.find((p) => p.manages(ce));
  }

  manages(ce: ComputeEnvironmentRow): boolean {
    return this.list.some((p) => p.manages(ce));
  }

  largest(ce: ComputeEnvironmentRow): Resources | null {
    return this.of(ce)?.largest(ce) ?? null;
  }

  launchable(ce: ComputeEnvironmentRow): { shapes: Resources[]; room: Resources } | undefined {
    return this.of(ce)?.launchable?.(ce);
  }

  async beforePass(): Promise<void> {
    for (const p of this.list) await p.beforePass?.();
  }

  /** One provider plans with planScaling (the local one): the host is its account. */
  scalingView(rows: PassRows, now: number): ScalingView | undefined {
    for (const p of this.list) {
      const view = p.scalingView?.(rows, now);
      if (view) return view;
    }
    return undefined;
  }

  async reconcile(plan: ScalingPlan | undefined, usage: Map<string, InstanceUsage>): Promise<void> {
    for (const p of this.list) await p.reconcile(plan, usage);
  }

  takesOneJob(inst: InstanceRow): boolean {
    return this.list.some((p) => p.takesOneJob?.(inst) ?? false);
  }
}
