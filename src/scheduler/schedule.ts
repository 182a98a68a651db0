/**
 * One scheduling pass, as a pure function: a snapshot of runnable work and free capacity in,
 * a plan out. The caller reads the snapshot and commits the plan in one transaction, so the
 * plan can never act on capacity that changed underneath it.
 *
 * The cycle:
 *   1. Order the queues: higher priority first; equal priority by name, so passes are stable.
 *   2. For each queue, walk the head of its RUNNABLE jobs in submission order (the snapshot
 *      holds only heads, never every queued job).
 *   3. For each job, try the queue's compute environments in computeEnvironmentOrder; in a
 *      CE, take the instance where the job fits most tightly (best fit keeps large holes
 *      for large jobs).
 *   4. A job that fits nowhere now waits, with a reason made here, where the decision is:
 *      NEVER_FITS when no ENABLED CE of its queue could ever hold it (model/packing.ts: its units
 *      in instances of one shape the CE may launch, within its maxvCpus and the host's
 *      budget), NO_ENABLED_CE when none of its CEs is enabled, NO_CAPACITY otherwise. A job
 *      waiting for capacity becomes demand, in the order considered here, with the CEs that
 *      could hold it: planScaling (compute/planScaling.ts) launches for it with these priorities.
 *   5. Smaller jobs behind a waiting one may still be placed (backfill): a big job at the
 *      head never idles capacity that smaller jobs could use now.
 *   6. A job that needs consumable resources (licenses…) is placed only when every one has
 *      enough free units; it then takes them for the rest of the pass. Waiting for a
 *      consumable is NO_CONSUMABLE and creates no demand: more instances would not help.
 *
 *   7. A multi-node job (a gang) is placed all or nothing: every node finds room in one CE of
 *      the queue in this pass — nodes may spread over that CE's instances, each best fit — or
 *      no node is placed and nothing of the pass's capacity is held for it. Its wait code and
 *      demand are a plain job's, with its nodes (NEVER_FITS when its nodes pack into no
 *      instances the CE could ever have together).
 *   8. A job that found no free capacity may still be placed on an instance that keeps a
 *      queue (its CE's `openbatch:prefetch` tag): the instance's agent holds it and starts
 *      it the moment capacity frees there, with no round trip to the control plane on that
 *      path. Only plain jobs that fit the instance's whole size, and only while the
 *      instance has fewer STARTING jobs than its queue allows. A queued job is placed, so it
 *      adds no demand; that is the trade the CE's owner makes (docs/compute.md).
 *   9. Jobs already queued on an agent and not yet started (`queuedOn`) come in their queue's
 *      order like the others. Such a job stays where it is unless a job that should run
 *      before it — of a higher-priority queue, or earlier in its own queue's order (FIFO, or
 *      fair share) — was placed on the same instance earlier in this pass: that one would
 *      start after it there, so it is taken back (`withdrawals`: the agent gives it up if it
 *      has not started it, and it waits RUNNABLE for a later pass). Equal-priority queues do
 *      not displace each other's queued work. A kept job keeps its place in its instance's
 *      queue room (`queue.room` counts the listed queued jobs as free, so that a job placed
 *      ahead of them finds room); it is already counted in the instance's usage, its share's
 *      and its queue's cap, and takes nothing of those.
 *
 * A farm being drained (`openbatch drain`, snapshot.draining) starts nothing: every job of
 * every head waits with DRAINING and asks for no capacity, so that the providers retire what
 * goes idle instead of launching more; jobs queued on agents are taken back.
 *
 * A fair-share queue walks its shares instead of one head: each time, the share with the
 * lowest weighted usage — (recent average vCPUs in use + vCPUs placed in this pass) ×
 * weightFactor — offers its next job (its own order: schedulingPriority, then submission).
 * A lower weightFactor therefore earns more capacity, as AWS defines it. A queue may also
 * carry a vCPU cap (what its computeReservation leaves to shares not yet active); a job held
 * by the cap waits NO_CAPACITY but is no demand: more instances would not start it.
 *
 * An instance whose automatic queue is stale (its jobs overran: `stale`, queueDepth.ts) keeps
 * nothing queued: what waits on its agent is taken back and waits RUNNABLE, asking for capacity
 * like any job that found none.
 *
 * An instance that planScaling drains (`draining`: its CE's work gives way to work of a
 * higher priority elsewhere on the host) takes nothing new in the pass, and what waits queued
 * on its agent, not started, is taken back.
 */

import { couldPack } from '../model/packing.js';
import { fits, type Demand, type Resources } from '../model/resources.js';

export interface JobView extends Resources {
  id: string;
  seq: number;
  /** consumable resources the job must hold while it runs */
  consumables?: { name: string; quantity: number }[];
  /**
   * a multi-node job: each node's needs, by node index. The job's own vcpus/memoryMiB/gpus
   * are then the gang's totals.
   */
  nodes?: Resources[];
  /** already placed: queued, not yet started, on this instance's agent (step 9) */
  queuedOn?: string;
}

export interface ShareView {
  id: string;
  /** weightFactor: lower gets more */
  weight: number;
  /** the share's recent average vCPUs in use (decayed over shareDecaySeconds) */
  usage: number;
  /** its first RUNNABLE jobs: schedulingPriority first, then submission order */
  head: JobView[];
}

export interface QueueView {
  name: string;
  priority: number;
  /** CE names in computeEnvironmentOrder */
  ceOrder: string[];
  /** the first RUNNABLE jobs in submission order (FIFO queues) */
  head: JobView[];
  /** fair-share queues: the active shares, each with its own head */
  shares?: ShareView[];
  /** vCPUs this queue may still start in this pass (computeReservation); unlimited when absent */
  vcpuCap?: number;
}

export interface CeView {
  name: string;
  /** state ENABLED and status VALID */
  enabled: boolean;
  /** the largest instance this CE could ever have; null when unknown (capacity joins from outside) */
  largest: Resources | null;
  /** the most vCPUs this CE could ever have in all (maxvCpus); absent when unknown */
  maxVcpus?: number;
  /**
   * what the CE could ever launch (local instances): the shapes of its instance types and the
   * room for all of them together (maxvCpus and the host's budget). A job whose units do not
   * pack into instances of one shape within the room never fits (model/packing.ts).
   */
  launchable?: { shapes: Resources[]; room: Resources };
}

export interface InstanceView {
  id: string;
  ceName: string;
  free: Resources;
  /** takes one job in its life (a Fargate task): nothing more is placed on it once it has one */
  oneJob?: boolean;
  /**
   * an instance that queues work on its agent (step 8): how many more jobs may be placed on
   * it beyond its free capacity, the queued jobs listed in the heads (step 9) counted as free
   * room, and its whole size (what a queued job must fit)
   */
  queue?: { room: number; size: Resources };
  /**
   * drained for waiting work of another compute environment (planScaling): it takes no new
   * work, and gives way once its jobs end
   */
  draining?: boolean;
  /**
   * its automatic queue is stale: the jobs it runs overran what its compute environment's jobs
   * take lately (scheduler/queueDepth.ts). What waits queued on its agent is taken back, to
   * wait RUNNABLE for any instance; its free capacity is placed on as usual.
   */
  stale?: boolean;
}

export interface Snapshot {
  queues: QueueView[];
  ces: CeView[];
  instances: InstanceView[];
  /** units free now of each consumable resource, by name */
  consumables?: Record<string, number>;
  /** the farm is being drained: nothing starts */
  draining?: boolean;
}

export type WaitCode = 'NEVER_FITS' | 'NO_ENABLED_CE' | 'NO_CAPACITY' | 'NO_CONSUMABLE' | 'DRAINING';

export interface Placement {
  jobId: string;
  instanceId: string;
  ceName: string;
  /** a node of a multi-node job: which one (the gang's placements share the jobId) */
  nodeIndex?: number;
}

export interface Waiting {
  jobId: string;
  code: WaitCode;
  /** NO_CAPACITY held back by its queue's vCPU cap (computeReservation), not by capacity: no demand */
  reserved?: true;
}

/** A queued job to take back from its instance's agent (step 9). */
export interface Withdrawal {
  jobId: string;
  instanceId: string;
}

export interface Plan {
  placements: Placement[];
  waiting: Waiting[];
  demand: Demand[];
  withdrawals: Withdrawal[];
}


export function schedule(snapshot: Snapshot): Plan {
  const ces = new Map(snapshot.ces.map((c) => [c.name, c]));
  // A draining instance takes nothing new: no free capacity, no room in its queue.
  const free = new Map(snapshot.instances.map((i) => [i.id, i.draining ? { vcpus: 0, memoryMiB: 0, gpus: 0 } : { ...i.free }]));
  const room = new Map(snapshot.instances.filter((i) => i.queue && !i.draining).map((i) => [i.id, i.queue!.room]));
  const draining = new Set(snapshot.instances.filter((i) => i.draining).map((i) => i.id));
  const stale = new Set(snapshot.instances.filter((i) => i.stale).map((i) => i.id));
  const instancesByCe = new Map<string, InstanceView[]>();
  for (const i of snapshot.instances) (instancesByCe.get(i.ceName) ?? instancesByCe.set(i.ceName, []).get(i.ceName)!).push(i);

  const plan: Plan = { placements: [], waiting: [], demand: [], withdrawals: [] };
  const consumables = new Map(Object.entries(snapshot.consumables ?? {}));
  const queues = [...snapshot.queues].sort((a, b) => b.priority - a.priority || a.name.localeCompare(b.name));

  if (snapshot.draining) {
    for (const queue of queues) {
      const order = dispatchOrder(queue);
      for (let next = order.next(false); !next.done; next = order.next(false)) {
        const job = next.value;
        if (job.queuedOn !== undefined) plan.withdrawals.push({ jobId: job.id, instanceId: job.queuedOn });
        else plan.waiting.push({ jobId: job.id, code: 'DRAINING' });
      }
    }
    return plan;
  }

  /** per instance, what was placed on it in this pass: the queues, and the highest priority among them (step 9) */
  const placedOn = new Map<string, { queues: Set<string>; priority: number }>();
  const notePlaced = (instanceId: string, queue: QueueView) => {
    const n = placedOn.get(instanceId);
    if (!n) placedOn.set(instanceId, { queues: new Set([queue.name]), priority: queue.priority });
    else {
      n.queues.add(queue.name);
      n.priority = Math.max(n.priority, queue.priority);
    }
  };

  for (const queue of queues) {
    const enabled = queue.ceOrder.map((n) => ces.get(n)).filter((c): c is CeView => !!c && c.enabled);
    let cap = queue.vcpuCap ?? Infinity;
    const order = dispatchOrder(queue);
    let placedLast = false;
    for (let next = order.next(placedLast); !next.done; next = order.next(placedLast)) {
      const job = next.value;
      placedLast = false;
      if (job.queuedOn !== undefined) {
        const before = placedOn.get(job.queuedOn);
        // On an instance being drained it would only hold the drain up; behind jobs that overran, it would wait on them for no one knows how long: taken back too.
        if (draining.has(job.queuedOn) || stale.has(job.queuedOn) || (before && (before.queues.has(queue.name) || before.priority > queue.priority))) plan.withdrawals.push({ jobId: job.id, instanceId: job.queuedOn });
        else if (room.has(job.queuedOn)) room.set(job.queuedOn, room.get(job.queuedOn)! - 1);
        continue;
      }
      if (enabled.length === 0) {
        plan.waiting.push({ jobId: job.id, code: 'NO_ENABLED_CE' });
        continue;
      }
      const needs = job.consumables ?? [];
      if (needs.some((c) => (consumables.get(c.name) ?? 0) < c.quantity)) {
        plan.waiting.push({ jobId: job.id, code: 'NO_CONSUMABLE' });
        continue;
      }
      const placed =
        job.vcpus <= cap + 1e-9
          ? job.nodes
            ? placeGang(job, job.nodes, enabled, instancesByCe, free)
            : (place(job, enabled, instancesByCe, free) ?? placeQueued(job, enabled, instancesByCe, room))
          : undefined;
      placedLast = !!placed;
      if (placed) {
        cap -= job.vcpus;
        for (const c of needs) consumables.set(c.name, consumables.get(c.name)! - c.quantity);
        if (Array.isArray(placed)) {
          plan.placements.push(...placed);
          for (const p of placed) notePlaced(p.instanceId, queue);
        } else {
          plan.placements.push({ jobId: job.id, ...placed });
          notePlaced(placed.instanceId, queue);
          // every placement is STARTING until its agent starts it, and counts against the queue
          const r = room.get(placed.instanceId);
          if (r !== undefined) room.set(placed.instanceId, r - 1);
        }
        continue;
      }
      const homes = enabled.filter((c) => couldEverHold(job, c));
      if (homes.length === 0) {
        plan.waiting.push({ jobId: job.id, code: 'NEVER_FITS' });
        continue;
      }
      // Held back by the queue's vCPU cap (computeReservation), not by capacity: more instances would not help.
      if (job.vcpus > cap + 1e-9) {
        plan.waiting.push({ jobId: job.id, code: 'NO_CAPACITY', reserved: true });
        continue;
      }
      plan.waiting.push({ jobId: job.id, code: 'NO_CAPACITY' });
      plan.demand.push({
        jobId: job.id,
        queue: queue.name,
        priority: queue.priority,
        ceNames: homes.map((c) => c.name),
        need: { vcpus: job.vcpus, memoryMiB: job.memoryMiB, gpus: job.gpus },
        nodes: job.nodes,
      });
    }
  }
  return plan;
}

/**
 * The order in which a queue offers its jobs. FIFO queues: the head as given. Fair-share
 * queues: a generator that asks, before each job, which share is furthest below its share —
 * so a placement made now counts against that share for the rest of the pass.
 */
function* dispatchOrder(queue: QueueView): Generator<JobView, void, boolean> {
  if (!queue.shares) {
    for (const job of queue.head) yield job;
    return;
  }
  const state = queue.shares.map((s) => ({ share: s, next: 0, placed: 0 }));
  for (;;) {
    let best: (typeof state)[number] | undefined;
    let bestKey = Infinity;
    for (const st of state) {
      if (st.next >= st.share.head.length) continue;
      const key = (st.share.usage + st.placed) * st.share.weight;
      if (key < bestKey || (key === bestKey && best && st.share.id < best.share.id)) {
        best = st;
        bestKey = key;
      }
    }
    if (!best) return;
    const job = best.share.head[best.next++];
    // The caller answers whether the job was placed; only a placement counts against the share.
    if (yield job) best.placed += job.vcpus;
  }
}

/**
 * Whether a CE could ever run the job: its units (the job, or each node of a gang) pack into
 * instances of one shape the CE may launch, within all it could ever have. Without those
 * shapes (Fargate tasks, capacity that joins from outside): a plain job fits its largest
 * instance; a gang also fits its maxvCpus.
 */
export function couldEverHold(job: JobView, ce: CeView): boolean {
  if (ce.launchable) return couldPack(job.nodes ?? [job], ce.launchable.shapes, ce.launchable.room);
  if (ce.largest === null) return true;
  if (!job.nodes) return fits(job, ce.largest);
  return job.nodes.every((n) => fits(n, ce.largest!)) && (ce.maxVcpus === undefined || job.vcpus <= ce.maxVcpus + 1e-9);
}

/**
 * All nodes of a gang in one CE, or none: each node takes the best-fit instance of the free
 * capacity left by the nodes before it; a CE where some node finds no room gives every unit
 * back before the next CE is tried.
 */
function placeGang(
  job: JobView,
  nodes: Resources[],
  ces: CeView[],
  instancesByCe: Map<string, InstanceView[]>,
  free: Map<string, Resources>,
): Placement[] | undefined {
  for (const ce of ces) {
    const taken: Placement[] = [];
    for (let i = 0; i < nodes.length; i++) {
      const at = place(nodes[i], [ce], instancesByCe, free);
      if (!at) break;
      taken.push({ jobId: job.id, nodeIndex: i, ...at });
    }
    if (taken.length === nodes.length) return taken;
    for (const p of taken) {
      const f = free.get(p.instanceId)!;
      f.vcpus += nodes[p.nodeIndex!].vcpus;
      f.memoryMiB += nodes[p.nodeIndex!].memoryMiB;
      f.gpus += nodes[p.nodeIndex!].gpus;
    }
  }
  return undefined;
}

/**
 * Step 8: a queued placement on the instance (of the first CE that has one) with the most
 * room left, so that a queue fills evenly over the instances that keep one.
 */
function placeQueued(job: Resources, ces: CeView[], instancesByCe: Map<string, InstanceView[]>, room: Map<string, number>): { instanceId: string; ceName: string } | undefined {
  if (room.size === 0) return undefined;
  for (const ce of ces) {
    let best: InstanceView | undefined;
    for (const inst of instancesByCe.get(ce.name) ?? []) {
      const left = room.get(inst.id) ?? 0;
      if (left <= 0 || !inst.queue || !fits(job, inst.queue.size)) continue;
      if (!best || left > room.get(best.id)!) best = inst;
    }
    if (best) return { instanceId: best.id, ceName: ce.name };
  }
  return undefined;
}

function place(
  job: Resources,
  ces: CeView[],
  instancesByCe: Map<string, InstanceView[]>,
  free: Map<string, Resources>,
): { instanceId: string; ceName: string } | undefined {
  for (const ce of ces) {
    let best: InstanceView | undefined;
    let bestLeft = Infinity;
    for (const inst of instancesByCe.get(ce.name) ?? []) {
      const f = free.get(inst.id)!;
      if (!fits(job, f)) continue;
      const left = f.vcpus - job.vcpus;
      if (left < bestLeft) {
        best = inst;
        bestLeft = left;
      }
    }
    if (best) {
      const f = free.get(best.id)!;
      f.vcpus -= job.vcpus;
      f.memoryMiB -= job.memoryMiB;
      f.gpus -= job.gpus;
      if (best.oneJob) Object.assign(f, { vcpus: 0, memoryMiB: 0, gpus: 0 });
      return { instanceId: best.id, ceName: ce.name };
    }
  }
  return undefined;
}
