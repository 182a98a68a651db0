/**
 * The scheduler loop: reads a snapshot, asks `schedule()` for a plan and `planScaling()` for
 * the capacity the waiting work gets, commits both in the same write transaction (placements,
 * why each job waits with its capacity account, each CE's desiredvCpus and statusReason),
 * then lets the compute providers carry out the scaling plan.
 *
 * Passes run one at a time. `kick()` asks for a pass soon; kicks during a pass coalesce into
 * one more pass after it. A slow timer runs passes too, for what depends on time alone
 * (scale-down delays).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock, IdSource, Timer, Timers } from '../model/ids.js';
import type { KickReason } from '../core.js';
import { WAIT_REASONS } from '../model/reasons.js';
import { allComputeEnvironments, updateComputeEnvironment, type ComputeEnvironmentRow, computeResourcesOf } from '../store/computeEnvironments.js';
import { allJobQueues, type JobQueueRow, ceOrderOf, timeLimitActionsOf } from '../store/jobQueues.js';
import { getSchedulingPolicyByArn, fairsharePolicyOf } from '../store/schedulingPolicies.js';
import { availableQuantities, consumeNonReplenishable } from '../store/consumableResources.js';
import { ShareUsage, reservedFraction, weightOf } from './fairShare.js';
import { liveInstances, type InstanceRow } from '../store/instances.js';
import { farmState, type FarmState } from '../store/drain.js';
import { storeUnavailable } from '../store/failures.js';
import { hourlyRate, type PriceTable } from '../model/cost.js';
import { activeShares, recordWait, getJobs, runningByShare, shareHead, jobSpecOf, runnableHead, usageByInstance, type HeadRow, type JobRow, consumablesOf } from '../store/jobs.js';
import { admitSubmitted } from '../store/admission.js';
import { expandArrays } from '../store/arrays.js';
import { cancelJob } from '../store/cancellation.js';
import { placementRows, startAttempts, type Placement, type PlacedJob, type PlacementRow } from '../store/placement.js';
import type { JobSpec } from '../model/jobSpec.js';
import type { Tx, UnitOfWork } from '../store/unitOfWork.js';
import type { CapacityProvider } from '../compute/providers.js';
import { planScaling, type CapacityAccount, type ScalingPlan } from '../compute/planScaling.js';
import { fits } from '../model/resources.js';
import { schedule, type CeView, type JobView, type Plan, type Snapshot, type WaitCode } from './schedule.js';
import type { Resources } from '../model/resources.js';
import { gangOf, isGangParent, startGang, type NodePlacement } from '../store/gangs.js';
import { nodeSpec } from '../model/multinode.js';
import { ceSettings, type CeDefaults } from '../compute/executorChoice.js';
import { recentRunTimes, startingOn, type RunTimes, type StartingJob } from '../store/agentQueues.js';
import { withdrawQueued } from '../store/withdrawals.js';
import { autoDepth, overran, RUN_TIME_REFRESH_MS, RUN_TIME_SAMPLES, RUN_TIME_WINDOW_MS } from './queueDepth.js';

/** Each node's needs of a multi-node parent, by node index. */
function gangResources(parent: JobRow): Resources[] {
  const gang = gangOf(parent);
  const out: Resources[] = [];
  for (const g of gang.groups) for (let i = g.from; i <= g.to; i++) out.push({ vcpus: g.spec.vcpus, memoryMiB: g.spec.memoryMiB, gpus: g.spec.gpus });
  return out;
}

function nodeResources(parent: JobRow, node: number): { vcpus: number; memory_mib: number; gpus: number } {
  const spec = nodeSpec(gangOf(parent), node);
  return { vcpus: spec.vcpus, memory_mib: spec.memoryMiB, gpus: spec.gpus };
}

type PlacedRow = PlacementRow | JobRow;

/** How many RUNNABLE jobs of each queue a pass looks at. */
const HEAD_SIZE = 256;
/** SUBMITTED jobs admitted per pass; more wait for the next pass, which follows at once. */
const ADMIT_BATCH = 5_000;
const TICK_MS = 1_000;
/** a store that cannot serve is said at most this often */
const UNAVAILABLE_WARN_MS = 30_000;
/**
 * How long a job submitted behind unfinished dependencies may stay SUBMITTED when nothing
 * else runs a pass: its admission (to PENDING) places nothing, so it rides whichever pass
 * comes next (an exit's, another submission's), and a script submitting a chain one
 * SubmitJob at a time costs one commit per job instead of two.
 */
const DEPENDENT_ADMIT_MS = 50;

/** The wait detail of a job its queue's computeReservation holds back (why.ts reads it): no capacity account, none is planned. */
const RESERVED = JSON.stringify({ waitFor: 'RESERVED' });

const WAIT_STATUS_REASON: Record<WaitCode, string | null> = {
  NEVER_FITS: WAIT_REASONS.neverFits,
  NO_ENABLED_CE: WAIT_REASONS.noEnabledCe,
  NO_CAPACITY: null,
  NO_CONSUMABLE: WAIT_REASONS.noConsumable,
  DRAINING: WAIT_REASONS.draining,
};


export interface SchedulerLoopOptions {
  uow: UnitOfWork;
  clock: Clock;
  timers: Timers;
  ids: IdSource;
  logger: Logger;
  provider: CapacityProvider;
  /** jobStateTimeLimitActions count time this many times faster (ServerConfig.timeDilation) */
  timeDilation: number;
  /** the server's settings for CEs without openbatch tags (compute/executorChoice.ts) */
  ceDefaults: CeDefaults;
  /** the price table: each attempt's hourly rate is fixed when it is placed (model/cost.ts) */
  prices?: PriceTable | null;
  /** placements were committed for these instances */
  onPlaced(instanceIds: Set<string>): void;
  /** housekeeping after each pass, with the usage by instance after it and the farm's state (declaring silent joined agents lost, retiring them in a drain) */
  afterPass?(usage: Map<string, { jobs: number }>, farm: FarmState): Promise<void>;
  /** each pass's duration in ms (metrics) */
  onPass?(ms: number): void;
}

export class SchedulerLoop {
  private running = false;
  private again = false;
  private scheduled = false;
  private timer?: Timer;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  private resolveIdle?: () => void;
  /** last pass's duration in ms, for metrics */
  lastPassMs = 0;
  /** when the store's unavailability was last said, and how many passes failed for it since */
  private unavailableSaidAt = -Infinity;
  private failedPasses = 0;
  private readonly usage = new ShareUsage();
  /** per queue, the RUNNABLE jobs the last pass left waiting, in the order it considered them */
  private waitingOrder = new Map<string, { jobId: string; code: WaitCode }[]>();
  /** writes that ride in the next pass's transaction (see `withNextPass`) */
  private riders: { fn: (tx: Tx) => Promise<unknown>; resolve(v: unknown): void; reject(e: unknown): void }[] = [];
  /**
   * Something other than new submissions asked for a pass since the last one began (an exit,
   * an instance, a setting, the timer). A pass kicked only by SubmitJob admits, and schedules
   * only if a job became RUNNABLE: a job submitted behind unfinished dependencies (a chain,
   * one SubmitJob at a time) changes nothing the scheduler could act on.
   */
  private scheduleWanted = true;
  /** a pass promised to jobs submitted behind unfinished dependencies (DEPENDENT_ADMIT_MS) */
  private dependentTimer?: Timer;

  /**
   * Runs `fn` at the start of the next pass, in the pass's own transaction, and resolves with
   * its result once that transaction has committed. This is how agents' exit reports are
   * applied: the capacity they free is placed again in the same commit, so a job's end and
   * the next job's start cost one transaction (one fsync) between them, not two, and the reports
   * of many agents share it. `fn` must not fail for its own reasons (check those first): a
   * failure rolls back the whole pass, and every rider with it.
   */
  withNextPass<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.riders.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      this.kick();
    });
  }

  /** the last pass's scaling plan: its claims and drains carry over to the next snapshot */
  private lastScaling: ScalingPlan | undefined;
  /** the capacity account last written for each job waiting for capacity (jobs.wait_detail) */
  private recordedAccount = new Map<string, string>();
  /** recent run times by compute environment, for automatic queue depths (queueDepth.ts), and when they were read */
  private runTimes = new Map<string, RunTimes>();
  private runTimesAt = -Infinity;

  /** the CEs as the last pass saw them (largest possible instance, maxvCpus): why-pending explains with them */
  private ces = new Map<string, CeView>();

  /** A CE as the last pass saw it, if one did. */
  ceView(name: string): CeView | undefined {
    return this.ces.get(name);
  }

  /** The last pass's dispatch order of a queue's waiting jobs (GetJobQueueSnapshot), if a pass saw the queue. */
  waitingIn(queue: string): { jobId: string; code: WaitCode }[] | undefined {
    return this.waitingOrder.get(queue);
  }

  constructor(private readonly o: SchedulerLoopOptions) {}

  start(): void {
    this.timer = this.o.timers.every(TICK_MS, () => this.kick());
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.clear();
    this.dependentTimer?.clear();
    await this.idle;
    for (const r of this.riders.splice(0)) r.reject(new Error('the scheduler has stopped'));
  }

  /**
   * Resolves once no pass runs and none is asked for: what has been kicked so far has been
   * done. (The in-process test harness waits on it; the server never needs to.)
   */
  async settled(): Promise<void> {
    for (;;) {
      if (this.running) await this.idle;
      else if (this.scheduled) await new Promise<void>((r) => setImmediate(r));
      else return;
    }
  }

  /**
   * Asks for a pass soon (coalesced). `submitted`: only new SUBMITTED jobs wait to be
   * admitted. `dependent`: only a job whose dependencies are all unfinished: the next pass,
   * or one within DEPENDENT_ADMIT_MS.
   */
  kick(why?: KickReason): void {
    if (this.stopped) return;
    if (why === 'dependent') {
      this.dependentTimer ??= this.o.timers.after(DEPENDENT_ADMIT_MS, () => {
        this.dependentTimer = undefined;
        this.kick('submitted');
      });
      return;
    }
    if (why !== 'submitted') this.scheduleWanted = true;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.runPasses();
    });
  }

  private async runPasses(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    this.idle = new Promise((r) => (this.resolveIdle = r));
    try {
      do {
        this.again = false;
        const t0 = performance.now();
        const more = await this.pass();
        if (this.unavailableSaidAt !== -Infinity) {
          this.o.logger.warn('the store serves again: scheduling resumes');
          this.unavailableSaidAt = -Infinity;
          this.failedPasses = 0;
        }
        this.lastPassMs = performance.now() - t0;
        this.o.onPass?.(this.lastPassMs);
        if (more) this.again = true;
      } while (this.again && !this.stopped);
    } catch (err) {
      const unavailable = storeUnavailable(err);
      if (!unavailable) this.o.logger.error({ err }, 'scheduler pass failed');
      else {
        // The store cannot serve now (down, disk full): said once, then every 30 s, until it serves again.
        const now = performance.now();
        this.failedPasses++;
        if (now - this.unavailableSaidAt >= UNAVAILABLE_WARN_MS) {
          this.o.logger.warn({ passes: this.failedPasses }, `scheduler pass failed: the store is unavailable: ${unavailable}; trying again`);
          this.unavailableSaidAt = now;
          this.failedPasses = 0;
        }
      }
      // Riders of a later pass must not wait for a kick that may never come.
      if (this.riders.length) this.kick();
    } finally {
      this.running = false;
      this.resolveIdle?.();
    }
  }

  /** One pass. Returns true when another pass may find more to do at once. */
  async pass(): Promise<boolean> {
    // This pass admits every job committed before it began: it keeps the timer's promise.
    if (this.dependentTimer) {
      this.dependentTimer.clear();
      this.dependentTimer = undefined;
    }
    const riders = this.riders.splice(0);
    const scheduleWanted = this.scheduleWanted || riders.length > 0;
    this.scheduleWanted = false;
    // What happened to instances since the last pass (lost agents, Spot notices ending) is in the snapshot.
    if (scheduleWanted) await this.o.provider.beforePass?.();
    let results: unknown[] = [];
    let done;
    try {
      done = await this.o.uow.write(async (tx) => {
        results = [];
        for (const r of riders) results.push(await r.fn(tx));
        return this.plan(tx, scheduleWanted);
      });
    } catch (e) {
      this.scheduleWanted ||= scheduleWanted;
      for (const r of riders) r.reject(e);
      throw e;
    }
    riders.forEach((r, i) => r.resolve(results[i]));
    if (!done.plan) return done.admitted >= ADMIT_BATCH || this.riders.length > 0;
    const { plan, usage, admitted, farm, scaling, ceChanges, asked } = done;
    this.lastScaling = scaling;
    for (const c of ceChanges) {
      // Once per change, not per pass: the row holds what was said last.
      if (c.capped) this.o.logger.warn({ ce: c.name, statusReason: c.statusReason }, 'compute environment capped by this host');
      else this.o.logger.info({ ce: c.name, statusReason: c.statusReason, was: c.was }, 'compute environment status');
    }
    const instances = new Set([...plan.placements.map((p) => p.instanceId), ...asked]);
    if (instances.size) this.o.onPlaced(instances);
    await this.o.provider.reconcile(scaling, usage);
    await this.o.afterPass?.(usage, farm);
    // Jobs taken back at once are RUNNABLE again: the next pass places them, behind what displaced them.
    return admitted >= ADMIT_BATCH || plan.placements.length >= HEAD_SIZE || plan.withdrawals.length > asked.size || this.riders.length > 0;
  }

  /**
   * The pass's work inside its transaction: admit, snapshot, schedule, commit the placements.
   * Without `scheduleWanted`, stops after admission unless a job became RUNNABLE (plan null).
   */
  private async plan(tx: Tx, scheduleWanted: boolean) {
    const now = this.o.clock.now();
    const submitted = await admitSubmitted(tx, now, ADMIT_BATCH);
    const children = await expandArrays(tx, now, ADMIT_BATCH);
    const admitted = submitted.admitted + children;
    if (!scheduleWanted && submitted.runnable === 0 && children === 0) return { plan: null, usage: null, admitted };
    const { snapshot, heads, queues, usage, instanceRows, ceTypes, farm, ceRows, allInstances } = await this.snapshot(tx);
    const plan = schedule(snapshot);
    this.ces = new Map(snapshot.ces.map((c) => [c.name, c]));
    const consumed = new Map<string, number>();
    const gangs = new Map<string, NodePlacement[]>();
    // Whole rows for multi-node parents (their gang spec); what startAttempt needs for the rest.
    const gangIds = new Set(plan.placements.filter((p) => p.nodeIndex !== undefined).map((p) => p.jobId));
    const singleIds = [...new Set(plan.placements.filter((p) => p.nodeIndex === undefined).map((p) => p.jobId))];
    const placed = new Map<string, PlacedRow>([...(await getJobs(tx.db, [...gangIds])), ...(await placementRows(tx.db, singleIds))].map((j) => [j.id, j]));
    // Array children share one spec text: parse it once per pass.
    const specs = new Map<string, JobSpec>();
    const specOf = (j: PlacedRow) => specs.get(j.spec) ?? specs.set(j.spec, jobSpecOf(j)).get(j.spec)!;
    // The log streams' random parts, drawn at once: one call per placement cost more than the rest of its naming.
    const random = randomBytes(16 * plan.placements.length);
    let r = 0;
    const singles: { job: PlacedJob; placement: Placement; spec: JobSpec }[] = [];
    for (const p of plan.placements) {
      const job = placed.get(p.jobId)!;
      const spec = specOf(job);
      r++;
      const unit = p.nodeIndex === undefined ? job : nodeResources(job as JobRow, p.nodeIndex);
      // The providers' idle tracking needs the usage after this pass: the snapshot's plus the placements.
      const u = usage.get(p.instanceId) ?? { vcpus: 0, memoryMiB: 0, gpus: 0, jobs: 0, starting: 0, lastStart: null };
      usage.set(p.instanceId, { ...u, vcpus: u.vcpus + unit.vcpus, memoryMiB: u.memoryMiB + unit.memory_mib, gpus: u.gpus + unit.gpus, jobs: u.jobs + 1, starting: u.starting + 1 });
      const inst = instanceRows.get(p.instanceId)!;
      const placement: Placement = {
        instanceId: p.instanceId,
        ceName: p.ceName,
        token: this.o.ids.secret(),
        logStreamName: `${spec.jobDefinitionName}/default/${random.toString('hex', 16 * (r - 1), 16 * r)}`,
        rate: hourlyRate(
          this.o.prices ?? null,
          { capacityType: ceTypes.get(p.ceName) ?? null, instanceType: inst.instance_type, instance: { vcpus: inst.vcpus, memoryMiB: inst.memory_mib, gpus: inst.gpus } },
          { vcpus: unit.vcpus, memoryMiB: unit.memory_mib, gpus: unit.gpus },
        ),
      };
      if (p.nodeIndex !== undefined) {
        (gangs.get(p.jobId) ?? gangs.set(p.jobId, []).get(p.jobId)!).push({ ...placement, nodeIndex: p.nodeIndex });
        continue;
      }
      for (const c of consumablesOf(job)) {
        consumed.set(c.name, (consumed.get(c.name) ?? 0) + c.quantity);
      }
      singles.push({ job, placement, spec });
    }
    await startAttempts(tx, singles, now);
    for (const [jobId, nodes] of gangs) await startGang(tx, placed.get(jobId) as JobRow, nodes, now);
    // Taken back: at once where the agent has not been handed them yet (RUNNABLE again, for the
    // next pass), else asked for at the agent's next poll (woken with the placements).
    const asked = plan.withdrawals.length ? await withdrawQueued(tx, plan.withdrawals, now) : new Set<string>();
    if (consumed.size) await consumeNonReplenishable(tx.db, consumed);
    const order = new Map<string, { jobId: string; code: WaitCode }[]>(snapshot.queues.map((q) => [q.name, []]));
    for (const w of plan.waiting) order.get(heads.get(w.jobId)!.queue)?.push(w);
    this.waitingOrder = order;
    // The capacity the waiting work gets, decided on this snapshot with the scheduler's priorities.
    const view = this.o.provider.scalingView?.({ ces: ceRows, queues, instances: allInstances, usage, farm, last: this.lastScaling }, now);
    const scaling = view ? planScaling({ ...view, now, demand: plan.demand }, () => this.o.ids.instanceId()) : undefined;
    await this.recordWaits(tx, plan, heads, now, scaling?.accounts);
    const ceChanges = scaling ? await this.recordCes(tx, ceRows, scaling) : [];
    await this.applyTimeLimitActions(tx, queues, plan, heads, now);
    return { plan, usage, admitted, farm, scaling, ceChanges, asked };
  }

  private async snapshot(
    tx: Tx,
  ): Promise<{
    snapshot: Snapshot;
    heads: Map<string, HeadRow>;
    queues: JobQueueRow[];
    usage: Awaited<ReturnType<typeof usageByInstance>>;
    instanceRows: Map<string, InstanceRow>;
    ceTypes: Map<string, string | null>;
    farm: FarmState;
    ceRows: ComputeEnvironmentRow[];
    /** every instance not yet TERMINATED (the scaling snapshot's) */
    allInstances: InstanceRow[];
  }> {
    const heads = new Map<string, HeadRow>();
    /** multi-node parents in the heads: their gang spec gives the nodes' needs */
    const gangParents = new Map<string, JobRow>();
    const queues = await allJobQueues(tx.db);
    const ces = await allComputeEnvironments(tx.db);
    const allInstances = await liveInstances(tx.db);
    const instances = allInstances.filter((i) => i.state === 'LAUNCHING' || i.state === 'ACTIVE');
    const draining = new Set(this.lastScaling?.draining ?? []);
    const usage = await usageByInstance(tx.db);
    const farm = await farmState(tx.db);
    const snapshot: Snapshot = { queues: [], ces: [], instances: [], draining: farm.draining };
    const running = await runningByShare(tx.db);
    const now = this.o.clock.now();
    const loadGangParents = async (head: HeadRow[]) => {
      const ids = head.filter((j) => isGangParent(j)).map((j) => j.id);
      if (ids.length) for (const j of await getJobs(tx.db, ids)) gangParents.set(j.id, j);
    };
    const view = (j: HeadRow) => ({
      id: j.id,
      seq: j.seq,
      vcpus: j.vcpus,
      memoryMiB: j.memory_mib,
      gpus: j.gpus,
      consumables: j.consumables ? consumablesOf(j) : undefined,
      nodes: isGangParent(j) ? gangResources(gangParents.get(j.id)!) : undefined,
    });
    snapshot.consumables = Object.fromEntries(await availableQuantities(tx.db));
    const prefetch = new Map(ces.map((c) => [c.name, ceSettings(c, this.o.ceDefaults).prefetch]));
    if ([...prefetch.values()].includes('auto')) await this.readRunTimes(tx);
    // An automatic queue behind jobs that overran is stale: its work is taken back (queueDepth.ts).
    const stale = new Set(
      instances
        .filter((i) => {
          const u = usage.get(i.id);
          return u !== undefined && prefetch.get(i.ce_name) === 'auto' && overran(this.runTimes.get(i.ce_name), u.lastStart, now);
        })
        .map((i) => i.id),
    );
    const contested = queues.length > 1 || queues.some((q) => q.scheduling_policy_arn) || farm.draining || draining.size > 0 || [...stale].some((id) => (usage.get(id)?.starting ?? 0) > 0);
    const queued = await this.queuedWork(tx, contested, instances, usage);
    const queuedCount = new Map<string, number>();
    for (const list of queued.values()) for (const j of list) queuedCount.set(j.queuedOn!, (queuedCount.get(j.queuedOn!) ?? 0) + 1);
    for (const q of queues) {
      const ceOrder = ceOrderOf(q).map((o) => o.computeEnvironment);
      const queuedHere = queued.get(q.name) ?? [];
      if (!q.scheduling_policy_arn) {
        const head = await runnableHead(tx.db, q.name, HEAD_SIZE);
        for (const j of head) heads.set(j.id, j);
        await loadGangParents(head);
        snapshot.queues.push({ name: q.name, priority: q.priority, ceOrder, head: mergeQueued(head, view, queuedHere, false) });
        continue;
      }
      const policyRow = await getSchedulingPolicyByArn(tx.db, q.scheduling_policy_arn);
      const policy = fairsharePolicyOf(policyRow);
      const runningHere = running.filter((r) => r.queue === q.name);
      const active = await activeShares(tx.db, q.name);
      // A share whose only work is queued on agents still takes its turn: that work may be taken back.
      const shareIds = [...new Set([...active, ...queuedHere.map((j) => j.share)])];
      const shares = [];
      for (const id of shareIds) {
        const head = active.includes(id) ? await shareHead(tx.db, q.name, id, HEAD_SIZE) : [];
        for (const j of head) heads.set(j.id, j);
        await loadGangParents(head);
        const busy = runningHere.find((r) => r.share === id)?.vcpus ?? 0;
        const queuedInShare = queuedHere.filter((j) => j.share === id);
        shares.push({ id, weight: weightOf(policy, id), usage: this.usage.observe(q.name, id, busy, now, policy, this.o.timeDilation), head: mergeQueued(head, view, queuedInShare, true) });
      }
      for (const r of runningHere) if (r.share && !shareIds.includes(r.share)) this.usage.observe(q.name, r.share, r.vcpus, now, policy, this.o.timeDilation);
      const activeCount = new Set([...shareIds, ...runningHere.map((r) => r.share ?? '')]).size;
      const reserved = reservedFraction(policy, activeCount);
      let vcpuCap: number | undefined;
      if (reserved > 0) {
        const capacity = ces.filter((c) => ceOrder.includes(c.name)).reduce((n, c) => n + (computeResourcesOf(c)?.maxvCpus ?? 0), 0);
        vcpuCap = Math.max(Math.floor(capacity * (1 - reserved)) - runningHere.reduce((n, r) => n + r.vcpus, 0), 0);
      }
      snapshot.queues.push({ name: q.name, priority: q.priority, ceOrder, head: [], shares, vcpuCap });
    }
    for (const ce of ces) {
      snapshot.ces.push({
        name: ce.name,
        enabled: ce.state === 'ENABLED' && ce.status === 'VALID',
        largest: this.o.provider.manages(ce) ? this.o.provider.largest(ce) : null,
        maxVcpus: this.o.provider.manages(ce) ? computeResourcesOf(ce)?.maxvCpus : undefined,
        launchable: this.o.provider.launchable?.(ce),
      });
    }
    for (const i of instances) {
      const u = usage.get(i.id) ?? { vcpus: 0, memoryMiB: 0, gpus: 0, jobs: 0, starting: 0, lastStart: null };
      const oneJob = this.o.provider.takesOneJob?.(i) ?? false;
      // Jobs queued on the agent count as used, so free capacity is negative while it holds any.
      const p = prefetch.get(i.ce_name) ?? 0;
      const depth = oneJob || stale.has(i.id) ? 0 : p === 'auto' ? autoDepth(i.vcpus, this.runTimes.get(i.ce_name)) : p;
      snapshot.instances.push({
        id: i.id,
        ceName: i.ce_name,
        free: oneJob && u.jobs > 0 ? { vcpus: 0, memoryMiB: 0, gpus: 0 } : { vcpus: i.vcpus - u.vcpus, memoryMiB: i.memory_mib - u.memoryMiB, gpus: i.gpus - u.gpus },
        oneJob,
        queue: depth > 0 ? { room: depth - u.starting + (queuedCount.get(i.id) ?? 0), size: { vcpus: i.vcpus, memoryMiB: i.memory_mib, gpus: i.gpus } } : undefined,
        draining: draining.has(i.id) || undefined,
        stale: stale.has(i.id) || undefined,
      });
    }
    const instanceRows = new Map(instances.map((i) => [i.id, i]));
    const ceTypes = new Map(ces.map((c) => [c.name, computeResourcesOf(c)?.type ?? null]));
    return { snapshot, heads, queues, usage, instanceRows, ceTypes, farm, ceRows: ces, allInstances };
  }

  /** Recent run times by compute environment (queueDepth.ts), read again at most every RUN_TIME_REFRESH_MS. */
  private async readRunTimes(tx: Tx): Promise<void> {
    const now = this.o.clock.now();
    if (now - this.runTimesAt < RUN_TIME_REFRESH_MS) return;
    this.runTimesAt = now;
    this.runTimes = await recentRunTimes(tx.db, now - RUN_TIME_WINDOW_MS, RUN_TIME_SAMPLES);
  }

  /**
   * The work queued on agents that a pass may take back (schedule.ts, step 9), by queue: the
   * STARTING jobs of each instance beyond what fits it beside its running ones, in the order
   * its agent starts them. Read only where something could displace it — more than one queue,
   * a fair-share queue, a drain of the farm or of an instance — since within one FIFO queue
   * what is queued came first.
   */
  private async queuedWork(
    tx: Tx,
    contested: boolean,
    instances: InstanceRow[],
    usage: Map<string, { vcpus: number; memoryMiB: number; gpus: number; jobs: number; starting: number }>,
  ): Promise<Map<string, (JobView & { share: string; priority: number })[]>> {
    const out = new Map<string, (JobView & { share: string; priority: number })[]>();
    if (!contested) return out;
    const rows = await startingOn(tx.db, instances.filter((i) => (usage.get(i.id)?.starting ?? 0) > 0).map((i) => i.id));
    const byInstance = new Map<string, StartingJob[]>();
    for (const r of rows) (byInstance.get(r.instance_id) ?? byInstance.set(r.instance_id, []).get(r.instance_id)!).push(r);
    for (const inst of instances) {
      const starting = byInstance.get(inst.id);
      const u = usage.get(inst.id);
      if (!starting || !u) continue;
      // What runs is what the instance holds less its STARTING jobs; those that fit beside it start now.
      const free = { vcpus: inst.vcpus - u.vcpus, memoryMiB: inst.memory_mib - u.memoryMiB, gpus: inst.gpus - u.gpus };
      for (const j of starting) Object.assign(free, { vcpus: free.vcpus + j.vcpus, memoryMiB: free.memoryMiB + j.memory_mib, gpus: free.gpus + j.gpus });
      for (const j of starting) {
        const need = { vcpus: j.vcpus, memoryMiB: j.memory_mib, gpus: j.gpus };
        if (fits(need, free)) {
          Object.assign(free, { vcpus: free.vcpus - need.vcpus, memoryMiB: free.memoryMiB - need.memoryMiB, gpus: free.gpus - need.gpus });
          continue;
        }
        if (j.node_index !== null || j.terminate_reason !== null || j.withdraw_at !== null) continue;
        const list = out.get(j.queue) ?? out.set(j.queue, []).get(j.queue)!;
        list.push({ id: j.id, seq: Number(j.seq), ...need, queuedOn: inst.id, share: j.share_identifier ?? '', priority: Number(j.scheduling_priority) });
      }
    }
    return out;
  }

  /**
   * Writes why each waiting job waits — its code, and for a job waiting for capacity its
   * account from planScaling (what `why` tells, on any server) — only where that changed
   * (most passes change nothing: an account names instances, not counts that move).
   */
  private async recordWaits(tx: Tx, plan: Plan, heads: Map<string, HeadRow>, now: number, accounts: Map<string, CapacityAccount> | undefined): Promise<void> {
    const recorded = new Map<string, string>();
    // Jobs alike share one account object (planScaling): each is written out once.
    const text = new Map<CapacityAccount, string>();
    for (const w of plan.waiting) {
      const job = heads.get(w.jobId);
      if (!job) continue;
      const account = w.code === 'NO_CAPACITY' ? accounts?.get(w.jobId) : undefined;
      const detail = w.reserved ? RESERVED : account ? (text.get(account) ?? text.set(account, JSON.stringify(account)).get(account)!) : null;
      if (detail !== null) recorded.set(w.jobId, detail);
      if (job.wait_code === w.code && (this.recordedAccount.get(w.jobId) ?? null) === detail) continue;
      if (job.wait_code !== w.code) {
        job.wait_code = w.code;
        job.wait_since = now;
        job.status_reason = WAIT_STATUS_REASON[w.code];
      }
      await recordWait(tx.db, w.jobId, w.code, job.wait_since ?? now, job.status_reason, detail);
    }
    this.recordedAccount = recorded;
  }

  /**
   * Each CE's desiredvCpus and statusReason as planScaling decided them, written where they
   * changed; the changes of statusReason are logged after the commit, once each.
   */
  private async recordCes(tx: Tx, rows: ComputeEnvironmentRow[], scaling: ScalingPlan): Promise<{ name: string; statusReason: string; was: string | null; capped: boolean }[]> {
    const changes = [];
    for (const p of scaling.ces) {
      const row = rows.find((c) => c.name === p.name);
      // A CE that is not VALID says why itself (its statusReason is not the plan's to write).
      if (!row || row.status !== 'VALID' || (row.desired_vcpus === p.desiredvCpus && row.status_reason === p.statusReason)) continue;
      await updateComputeEnvironment(tx.db, row.name, { desired_vcpus: p.desiredvCpus, status_reason: p.statusReason });
      // Warned when the cap is new; what else changes (a floor kept or not) is said at info.
      if (row.status_reason !== p.statusReason) changes.push({ name: row.name, statusReason: p.statusReason, was: row.status_reason, capped: p.cap !== undefined && !(row.status_reason ?? '').startsWith(p.cap) });
    }
    return changes;
  }

  /**
   * jobStateTimeLimitActions: a RUNNABLE job at the head of its queue that has waited with a
   * listed statusReason (matched by prefix, e.g. `MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT`)
   * for maxTimeSeconds is cancelled. Jobs waiting for capacity carry no such reason, so
   * capacity that is coming never cancels anyone.
   */
  private async applyTimeLimitActions(tx: Tx, queues: JobQueueRow[], plan: Plan, heads: Map<string, HeadRow>, now: number): Promise<void> {
    const actionsByQueue = new Map(queues.map((q) => [q.name, timeLimitActionsOf(q)]));
    for (const w of plan.waiting) {
      const job = heads.get(w.jobId);
      const actions = job ? actionsByQueue.get(job.queue) : undefined;
      if (!job || !actions?.length || !job.status_reason || job.wait_since === null) continue;
      const action = actions.find((a) => a.state === 'RUNNABLE' && a.action === 'CANCEL' && a.reason && job.status_reason!.startsWith(a.reason));
      if (!action) continue;
      if ((now - job.wait_since) * this.o.timeDilation < (action.maxTimeSeconds ?? 0) * 1000) continue;
      await cancelJob(
        tx,
        job,
        `Job cancelled by jobStateTimeLimitActions: RUNNABLE with reason ${action.reason} for more than ${action.maxTimeSeconds} seconds`,
        now,
      );
    }
  }
}

/**
 * A head with the queue's (or share's) work queued on agents merged in, in the order the
 * scheduler offers jobs: schedulingPriority first (in fair-share shares: `fair`), then
 * submission order.
 */
function mergeQueued(head: HeadRow[], view: (j: HeadRow) => JobView, queued: (JobView & { priority: number })[], fair: boolean): JobView[] {
  if (queued.length === 0) return head.map(view);
  const items = [...head.map((h) => ({ job: view(h), priority: fair ? Number(h.scheduling_priority) : 0 })), ...queued.map((q) => ({ job: q, priority: fair ? q.priority : 0 }))];
  items.sort((a, b) => b.priority - a.priority || a.job.seq - b.job.seq);
  return items.map((i) => i.job);
}
