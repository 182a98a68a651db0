/**
 * Scaling as a pure function, built as schedule() is (scheduler/schedule.ts): one snapshot of the local compute
 * environments, their instances, the host's budget and the work the scheduler could not place
 * in; a plan out — launches, terminations and drains, each with its reason, every CE's
 * desiredvCpus and statusReason, and for every waiting job an account of the capacity it
 * waits for, which is what `openbatch why` tells. The scheduler loop calls it in its pass, on
 * the snapshot schedule() saw, right after it; records the accounts with the waiting jobs and
 * the CEs in the pass's transaction; the local provider carries the plan out after the commit.
 *
 * The host is one finite region shared by every local compute environment: an instance holds
 * its capacity from its launch until it is TERMINATED, whatever it is doing. The cycle:
 *
 *   1. Account the host: every instance of this host not yet TERMINATED holds its size
 *      (booting, idle, busy, terminating, under a Spot notice alike). What TERMINATING
 *      instances hold is *returning*: it comes back without any decision.
 *   2. Retire what no CE wants: an instance without a job of a DISABLED or deleted CE goes.
 *   3. Serve the waiting work in the scheduler's order (queue priority, then each queue's
 *      dispatch order), each job — a multi-node job as one — in the first of its CEs that can
 *      serve it. First, what the last plan gave a job that still waits — an instance launched
 *      for it, one it claimed — stays that job's, if it still holds all of it. Then, for each job:
 *      a. capacity already coming to the CE — an instance still booting, one launched earlier
 *         in this plan, free room of an instance a gang could span — is claimed: nothing is
 *         launched twice for the same need;
 *      b. else instances are launched: the type the CE's allocation strategy picks (a gang:
 *         enough instances of one type for all its nodes, packing.ts), within maxvCpus and the
 *         host's free capacity, unless the CE's launches are held back (a failed bootstrap);
 *      c. else room is made, and only if it can be made whole: the CE's own idle instances
 *         that cannot hold the work give way (maxvCpus); then, for the host, returning
 *         capacity is claimed, idle instances no waiting work claimed give way at once (those
 *         above their CE's minvCpus first, then those kept only for minvCpus), and busy
 *         instances of CEs whose next waiting work comes after this job are drained: they take
 *         no new work and give way when their jobs end. Busy instances are never stopped, and
 *         capacity claimed by work ahead — an instance launched for it included — is never
 *         taken: a launch is not undone by another CE's demand;
 *      d. else the job waits for the running work ahead of it, and its account names it.
 *   4. Keep each CE's floor — minvCpus, capped at what the host could ever give — with the
 *      room left, CEs in the order of their queues' priority. Floors never make room: waiting
 *      work comes first, and the capacity minvCpus held goes back to it (step 3c).
 *   5. Scale down: an idle instance above its CE's floor, unclaimed, idle for the scale-down
 *      delay, is terminated.
 *   6. Each ENABLED CE's desiredvCpus (what it has, at least its capped floor) and
 *      statusReason: instances held (no sandbox on this host), instances impaired (their agents
 *      cannot run jobs now), a cap, a floor not kept are
 *      said, with why; otherwise healthy.
 *
 * In a drain (`openbatch drain`) the cycle is one step: every instance without a job (every
 * instance, when the drain stops jobs) is terminated, minvCpus or not, and nothing is launched.
 * An instance *held* (launched PENDING on a host that cannot sandbox its CE's jobs) boots only
 * once the sandbox works: the work that claims it says so, and unclaimed it is idle.
 */
import { REASONS } from '../model/reasons.js';
import { fits, type Demand, type Resources } from '../model/resources.js';
import { chooseLaunch, packLaunch, type AllocationStrategy, type InstanceType } from './instanceTypes.js';

/** A local compute environment as planScaling sees it. */
export interface ScalingCe {
  name: string;
  /** state ENABLED; a DISABLED CE launches nothing and its idle instances go */
  enabled: boolean;
  /** status VALID: only a valid CE launches */
  valid: boolean;
  /** FARGATE or FARGATE_SPOT: one task per job, sized to it; no minvCpus */
  fargate: boolean;
  minvCpus: number;
  maxvCpus: number;
  /** the instance types it may launch, smallest first (instanceTypes.ts) */
  types: InstanceType[];
  strategy: AllocationStrategy;
  /** the highest priority of the job queues it serves: the standing of its minvCpus (step 4) */
  priority: number;
  /** its launches are held back until then: its last bootstrap failed */
  heldUntil?: number;
  /** why its instances are held (PENDING until this host can sandbox its jobs), when they are */
  held?: string;
}

export type InstanceState = 'PENDING' | 'LAUNCHING' | 'ACTIVE' | 'TERMINATING';

/** The work an instance runs: the queue of highest priority among its jobs. */
export interface Work {
  queue: string;
  priority: number;
}

/** A local instance not yet TERMINATED. */
export interface ScalingInstance {
  id: string;
  ceName: string;
  /** IMPAIRED: why its agent cannot run jobs now (it has no room then: its free capacity is none) */
  impaired?: string;
  /** PENDING: booting (bootstrap, slow start), takes no work yet */
  state: InstanceState;
  size: Resources;
  /** what no job uses after this pass's placements */
  free: Resources;
  /** jobs STARTING or RUNNING on it after this pass's placements */
  jobs: number;
  /** since when it has had no job; absent while busy or booting */
  idleSince?: number;
  /** on this host: it holds part of the host's budget (an instance elsewhere only its CE's maxvCpus) */
  here: boolean;
  /** a Fargate task: one job in its life */
  oneJob?: boolean;
  launchedAt: number;
  /** the last plan drained it: the scheduler gave it nothing new */
  draining?: boolean;
  /** the work it runs, when busy */
  work?: Work;
  /** the waiting jobs that claimed it in the last plan (ScalingPlan.claims): while they wait, it is theirs */
  heldFor?: string[];
  /** PENDING, held until this host can sandbox its jobs (ScalingCe.held says why) */
  held?: boolean;
}

export interface ScalingSnapshot {
  now: number;
  /** the host's budget (hostVcpus, hostMemoryMiB; no GPUs) */
  host: Resources;
  scaleDownDelayMs: number;
  ces: ScalingCe[];
  instances: ScalingInstance[];
  /** the jobs schedule() left waiting for capacity, in its order */
  demand: Demand[];
  /** a drain is under way (`openbatch drain`); with stopJobs, running jobs are stopped too */
  drain?: { stopJobs: boolean };
}

/** Why an instance is launched: for waiting work, or to keep its CE's minvCpus. */
export type LaunchWhy = 'demand' | 'minvCpus';

export interface Launch {
  instanceId: string;
  ceName: string;
  /** an instance type of the catalog, or `fargate` for a task sized to its job */
  type: string;
  capacity: Resources;
  /** the type was larger than the room: the capacity is less than the type's */
  capped: boolean;
  why: LaunchWhy;
  /** the waiting jobs it is launched for */
  forJobs: string[];
}

/** Why an instance is terminated (a metric label: keep the set small). */
export type TerminationWhy = 'idle' | 'yield' | 'ce_disabled' | 'drain';

export interface Termination {
  instanceId: string;
  ceName: string;
  why: TerminationWhy;
  /** the instance's termination reason, for a person */
  reason: string;
}

/**
 * What a waiting job's capacity comes from, or what holds it:
 *   LAUNCHING  instances are booting or being launched for it
 *   FREEING    room is being made: instances are terminating for it (or their CE's maxvCpus)
 *   DRAINING   busy instances of lower-priority work take no new work and give way when their jobs end
 *   BUSY       the host's capacity is held by work ahead of it (running, or claimed by jobs before it)
 *   CE_MAX     its CE is at maxvCpus with work ahead of it
 *   HELD_BACK  its CE's launches are held back after a failed bootstrap (`until`), or its
 *              instances are held until this host can sandbox its jobs (`reason`)
 */
export type WaitFor = 'LAUNCHING' | 'FREEING' | 'DRAINING' | 'BUSY' | 'CE_MAX' | 'HELD_BACK';

/** An instance (or an instance this plan launches) that a waiting job's account names. */
export interface Holder {
  instanceId: string;
  ceName: string;
  vcpus: number;
  memoryMiB: number;
  /**
   * booting: coming up for it (or for the job in `for`); launched: launched by this plan;
   * running: busy with `for`'s work; idle: no job (claimed by `for`); minvCpus: idle, kept for
   * its CE's minvCpus; terminating: giving its capacity back; draining: finishing its jobs,
   * then giving way
   */
  role: 'booting' | 'launched' | 'running' | 'idle' | 'minvCpus' | 'terminating' | 'draining';
  /** the work it runs, or the waiting job it was launched or claimed for */
  for?: Work & { jobId?: string };
}

/** A waiting job's account: what its capacity comes from or what holds it (`why` tells it). */
export interface CapacityAccount {
  waitFor: WaitFor;
  /** the compute environment it waits in */
  ceName: string;
  holders: Holder[];
  /** HELD_BACK: when launches resume */
  until?: number;
  /** HELD_BACK: why the CE's instances are held */
  reason?: string;
}

export interface CePlan {
  name: string;
  desiredvCpus: number;
  /** ComputeEnvironment Healthy, or what is capped or not kept and why */
  statusReason: string;
  /** minvCpus beyond what the host could ever give: the floor it is capped to */
  cappedAt?: number;
  /** the part of statusReason that says the cap (the server warns when it changes, not when the rest does) */
  cap?: string;
}

export interface ScalingPlan {
  launches: Launch[];
  /** by instance (launched ones included), the waiting jobs that claimed it: the next snapshot's `heldFor` */
  claims: Map<string, string[]>;
  terminations: Termination[];
  /** instances that take no new work: they give way to waiting work when their jobs end */
  draining: string[];
  /** every local CE that is ENABLED and VALID */
  ces: CePlan[];
  /** by job id, every waiting job of a local CE */
  accounts: Map<string, CapacityAccount>;
}

/** Accounts name at most this many holders: the largest first. */
const HOLDERS_SHOWN = 8;
/** Launches per CE per plan to reach its floor. */
const FLOOR_LAUNCHES = 64;
const NONE: Resources = { vcpus: 0, memoryMiB: 0, gpus: 0 };
const EPS = 1e-9;

/** Capacity as the plan hands it out: an instance, or one it launches. */
interface Unit {
  id: string;
  ceName: string;
  /** NEW: launched by this plan; WANTED: to launch once the room made for it comes */
  state: InstanceState | 'NEW' | 'WANTED';
  size: Resources;
  /** capacity no job uses nor claims: what waiting work may still claim */
  open: Resources;
  jobs: number;
  here: boolean;
  launchedAt: number;
  idleSince?: number;
  draining: boolean;
  work?: Work;
  /** the waiting jobs that claimed it, first first */
  claims: { jobId: string; queue: string; priority: number }[];
  /** what this plan does to it */
  fate?: 'terminate' | 'drain';
  /** an instance kept only for its CE's minvCpus (idle, within the floor) */
  floorHeld?: boolean;
  /** WANTED: what the room for it comes from */
  sources?: Holder[];
  /** a NEW/WANTED unit's launch */
  launch?: Launch;
  /** the jobs that claimed it in the last plan */
  heldFor?: string[];
  /** held until the sandbox works */
  held?: boolean;
}

/** Host capacity that comes back without a decision: terminating instances, and those this plan makes give way. */
interface Returning {
  unit: Unit;
  /** what of it no waiting job claimed yet */
  left: Resources;
}

function minus(a: Resources, b: Resources): Resources {
  return { vcpus: a.vcpus - b.vcpus, memoryMiB: a.memoryMiB - b.memoryMiB, gpus: a.gpus - b.gpus };
}

function plus(a: Resources, b: Resources): Resources {
  return { vcpus: a.vcpus + b.vcpus, memoryMiB: a.memoryMiB + b.memoryMiB, gpus: a.gpus + b.gpus };
}

function sum(list: Resources[]): Resources {
  return list.reduce(plus, NONE);
}

function positive(r: Resources): Resources {
  return { vcpus: Math.max(r.vcpus, 0), memoryMiB: Math.max(r.memoryMiB, 0), gpus: Math.max(r.gpus, 0) };
}

function isZero(r: Resources): boolean {
  return r.vcpus <= EPS && r.memoryMiB <= 0 && r.gpus <= 0;
}

/** Ids for the instances a plan launches, `i-new1`…, when the caller gives none. */
function counter(): () => string {
  let n = 0;
  return () => `i-new${++n}`;
}

export function planScaling(s: ScalingSnapshot, newId: () => string = counter()): ScalingPlan {
  const plan: ScalingPlan = { launches: [], claims: new Map(), terminations: [], draining: [], ces: [], accounts: new Map() };
  const ces = new Map(s.ces.map((c) => [c.name, c]));
  /** +1 at every change the plan makes (claims, launches, room made): what a job found, it finds again only while unchanged */
  let version = 0;
  const units: Unit[] = s.instances.map((i) => ({
    id: i.id,
    ceName: i.ceName,
    state: i.state,
    size: i.size,
    // A booting instance has no job yet: all of it is open; a task with its job has nothing open.
    open: i.oneJob && i.jobs > 0 ? NONE : i.state === 'PENDING' ? { ...i.size } : positive(i.free),
    jobs: i.jobs,
    here: i.here,
    launchedAt: i.launchedAt,
    idleSince: i.idleSince,
    draining: !!i.draining,
    work: i.work,
    claims: [],
    heldFor: i.heldFor,
    held: i.held,
  }));
  const live = (u: Unit) => u.state !== 'TERMINATING' && u.fate !== 'terminate';
  // A held instance does nothing until the sandbox works: unclaimed, it is as idle as one up.
  const idle = (u: Unit) => u.jobs === 0 && (u.state === 'LAUNCHING' || u.state === 'ACTIVE' || !!u.held) && u.claims.length === 0 && !u.fate;
  const ceVcpus = (ce: string) => units.filter((u) => u.ceName === ce && live(u)).reduce((n, u) => n + u.size.vcpus, 0);

  // 1. The host's account.
  let hostFree = minus(s.host, sum(units.filter((u) => u.here).map((u) => u.size)));
  const returning: Returning[] = units.filter((u) => u.here && u.state === 'TERMINATING').map((u) => ({ unit: u, left: { ...u.size } }));

  const heldSays = (ce: ScalingCe): string[] => (ce.held ? [`INSTANCES HELD: ${ce.held}`] : []);
  /** Instances whose agents cannot run jobs now (IMPAIRED), said by their CE: the first with why. */
  const impairedSays = (ce: string): string[] => {
    const impaired = s.instances.filter((i) => i.ceName === ce && i.impaired);
    return impaired.length ? [REASONS.instancesImpaired(impaired.length, { id: impaired[0].id, reason: impaired[0].impaired! })] : [];
  };
  const terminate = (u: Unit, why: TerminationWhy, reason: string) => {
    u.fate = 'terminate';
    plan.terminations.push({ instanceId: u.id, ceName: u.ceName, why, reason });
    if (u.here) returning.push({ unit: u, left: { ...u.size } });
  };

  // In a drain: what has no job goes (everything, when jobs are stopped too); nothing comes.
  if (s.drain) {
    for (const u of units) {
      if (u.state === 'TERMINATING' || (u.jobs > 0 && !s.drain.stopJobs)) continue;
      terminate(u, 'drain', s.drain.stopJobs ? 'drained, its jobs stopped (openbatch drain --stop-jobs)' : 'drained (openbatch drain)');
    }
    for (const ce of ces.values()) if (ce.valid && ce.enabled) plan.ces.push({ name: ce.name, desiredvCpus: ceVcpus(ce.name), statusReason: [...heldSays(ce), ...impairedSays(ce.name)].join('; ') || REASONS.healthy });
    return plan;
  }

  // 2. Instances no CE wants.
  for (const u of units) {
    const ce = ces.get(u.ceName);
    if (u.state === 'TERMINATING' || u.jobs > 0 || (ce && ce.enabled)) continue;
    terminate(u, 'ce_disabled', 'compute environment disabled or deleted');
  }

  markFloors(units, ces, s.host, live);

  // 3. The waiting work, in the scheduler's order.
  const firstWaiting = new Map<string, number>();
  s.demand.forEach((d, i) => d.ceNames.forEach((c) => firstWaiting.has(c) || firstWaiting.set(c, i)));
  /** what of each CE's waiting work is not yet served: BEST_FIT_PROGRESSIVE sizes a launch for all of it */
  const waitingTotal = new Map<string, Resources>();
  for (const d of s.demand) {
    const t = d.ceNames[0] === undefined ? undefined : (waitingTotal.get(d.ceNames[0]) ?? waitingTotal.set(d.ceNames[0], { ...NONE }).get(d.ceNames[0])!);
    if (t) (t.vcpus += d.need.vcpus), (t.memoryMiB += d.need.memoryMiB), (t.gpus += d.need.gpus);
  }

  // What the last plan gave a job that still waits stays that job's: work ahead of it does not
  // take it (and leave it to launch again).
  const held = units.filter((u) => u.heldFor?.length);
  for (const d of held.length ? s.demand : []) {
    const mine = held.filter((u) => live(u) && !u.fate && !u.draining && u.heldFor!.includes(d.jobId));
    if (!mine.length) continue;
    const taken = packOpen(d.nodes ?? [d.need], mine, mine.some((u) => ces.get(u.ceName)?.fargate));
    if (taken.rest.length) continue;
    commitClaims(taken.placed, { jobId: d.jobId, queue: d.queue, priority: d.priority });
    plan.accounts.set(d.jobId, claimAccount(mine[0].ceName, taken.placed.map((p) => p.unit)));
  }

  // A job that finds nothing finds nothing again for the next one alike (a queue's head is
  // mostly array children) while the plan has not changed since: later jobs have less room
  // (they come after more work) and a smaller total to size for, never more.
  const failed: { d: Demand; version: number; account: CapacityAccount }[] = [];

  s.demand.forEach((d, index) => {
    const t = d.ceNames[0] === undefined ? undefined : waitingTotal.get(d.ceNames[0]);
    if (t) (t.vcpus -= d.need.vcpus), (t.memoryMiB -= d.need.memoryMiB), (t.gpus -= d.need.gpus);
    if (plan.accounts.has(d.jobId)) return;
    const known = failed.find((f) => f.version === version && sameWork(f.d, d));
    if (known) {
      plan.accounts.set(d.jobId, known.account);
      return;
    }
    const candidates = d.ceNames.map((n) => ces.get(n)).filter((c): c is ScalingCe => !!c && c.enabled && c.valid);
    if (candidates.length === 0) return;
    const pieces = d.nodes ?? [d.need];
    const claimant = { jobId: d.jobId, queue: d.queue, priority: d.priority };
    const held = (c: ScalingCe) => (c.heldUntil ?? 0) > s.now;

    // a. Capacity already coming.
    for (const ce of candidates) {
      const taken = packOpen(pieces, units.filter((u) => u.ceName === ce.name && live(u) && !u.draining && !u.fate), ce.fargate);
      if (taken.rest.length) continue;
      commitClaims(taken.placed, claimant);
      plan.accounts.set(d.jobId, claimAccount(ce.name, taken.placed.map((p) => p.unit)));
      return;
    }

    // b. Launch into the room there is.
    for (const ce of candidates) {
      if (held(ce)) continue;
      const open = units.filter((u) => u.ceName === ce.name && live(u) && !u.draining && !u.fate);
      const taken = packOpen(pieces, open, ce.fargate);
      const room: Resources = { vcpus: Math.min(ce.maxvCpus - ceVcpus(ce.name), hostFree.vcpus), memoryMiB: hostFree.memoryMiB, gpus: hostFree.gpus };
      const set = launchSet(ce, taken.rest, waitingTotal.get(ce.name) ?? NONE, room);
      if (!set) continue;
      const launched = set.map((l) => newUnit(ce, l, 'NEW', 'demand'));
      hostFree = minus(hostFree, sum(launched.map((u) => u.size)));
      const more = packOpen(taken.rest, launched, ce.fargate);
      commitClaims([...taken.placed, ...more.placed], claimant);
      const claimed = [...taken.placed, ...more.placed].map((p) => p.unit);
      plan.accounts.set(d.jobId, claimAccount(ce.name, claimed));
      return;
    }

    // c. Make room, whole or not at all.
    for (const ce of candidates) {
      if (held(ce)) continue;
      const account = makeRoom(ce, d, index, pieces, claimant);
      if (!account) continue;
      plan.accounts.set(d.jobId, account);
      return;
    }

    // d. It waits for running work ahead of it.
    const account = waitAccount(candidates, pieces);
    plan.accounts.set(d.jobId, account);
    if (failed.unshift({ d, version, account }) > 8) failed.pop();
  });

  // 4. Floors, in the order of their CEs' standing.
  const floorCes = [...ces.values()].filter((c) => c.enabled && c.valid && !c.fargate).sort((a, b) => b.priority - a.priority || a.name.localeCompare(b.name));
  for (const ce of floorCes) {
    const floor = floorOf(ce, s.host);
    if ((ce.heldUntil ?? 0) > s.now) continue;
    for (let n = 0; n < FLOOR_LAUNCHES; n++) {
      const have = ceVcpus(ce.name);
      if (have >= floor) break;
      const room: Resources = { vcpus: Math.min(ce.maxvCpus - have, hostFree.vcpus), memoryMiB: hostFree.memoryMiB, gpus: hostFree.gpus };
      const choice = chooseLaunch(ce.types, ce.strategy, { largestJob: { vcpus: 1, memoryMiB: 1, gpus: 0 }, total: { vcpus: floor - have, memoryMiB: 0, gpus: 0 } }, room);
      if (!choice) break;
      const u = newUnit(ce, { type: choice.type.name, capacity: choice.capacity, capped: choice.capped }, 'NEW', 'minvCpus');
      hostFree = minus(hostFree, u.size);
    }
  }

  // 5. Scale-down of what stayed idle, above the floors.
  markFloors(units, ces, s.host, live);
  for (const u of units) {
    if (!idle(u) || u.floorHeld || u.idleSince === undefined || s.now - u.idleSince < s.scaleDownDelayMs) continue;
    terminate(u, 'idle', 'scaled down: idle');
  }

  // 6. What each CE has, wants, and says.
  for (const ce of ces.values()) {
    // A DISABLED CE keeps what it has and says; one not VALID says why itself.
    if (!ce.valid || !ce.enabled) continue;
    const floor = floorOf(ce, s.host);
    const have = ceVcpus(ce.name);
    const parts: string[] = [...heldSays(ce), ...impairedSays(ce.name)];
    let cappedAt: number | undefined;
    let cap: string | undefined;
    if (!ce.fargate && ce.minvCpus > floor) {
      cappedAt = floor;
      cap = `desiredvCpus capped at ${floor} by this host's capacity (minvCpus ${ce.minvCpus}, the host has ${s.host.vcpus} vCPUs)`;
      parts.push(cap);
    }
    if (!ce.fargate && have < floor) parts.push(`minvCpus not kept (${have} of ${floor} vCPUs): ${floorShortfall(ce)}`);
    plan.ces.push({ name: ce.name, desiredvCpus: Math.ceil(Math.max(have, floor) - EPS), statusReason: parts.length ? parts.join('; ') : REASONS.healthy, cappedAt, cap });
  }
  plan.draining = units.filter((u) => u.fate === 'drain').map((u) => u.id);
  for (const u of units) if (u.state !== 'WANTED' && u.claims.length && u.fate !== 'terminate') plan.claims.set(u.id, u.claims.map((c) => c.jobId));
  return plan;

  // — the steps' parts —

  function newUnit(ce: ScalingCe, l: { type: string; capacity: Resources; capped: boolean }, state: 'NEW' | 'WANTED', why: LaunchWhy): Unit {
    const launch: Launch = { instanceId: state === 'NEW' ? newId() : '', ceName: ce.name, type: l.type, capacity: l.capacity, capped: l.capped, why, forJobs: [] };
    const u: Unit = { id: launch.instanceId, ceName: ce.name, state, size: l.capacity, open: { ...l.capacity }, jobs: 0, here: true, launchedAt: s.now, draining: false, claims: [], launch, held: state === 'NEW' && ce.held !== undefined };
    units.push(u);
    if (state === 'NEW') plan.launches.push(launch);
    return u;
  }

  function commitClaims(placed: { unit: Unit; piece: Resources }[], claimant: Unit['claims'][number]): void {
    version++;
    for (const p of placed) {
      p.unit.open = minus(p.unit.open, p.piece);
      if (!p.unit.claims.some((c) => c.jobId === claimant.jobId)) p.unit.claims.push(claimant);
      if (p.unit.launch && !p.unit.launch.forJobs.includes(claimant.jobId)) p.unit.launch.forJobs.push(claimant.jobId);
    }
  }

  /**
   * Step 3c for one CE: what the job's pieces need launched, if the room could be made, and
   * the room made: the CE's own idle instances for its maxvCpus; returning capacity, idle
   * instances and drains for the host. Nothing is done unless all of it can be.
   */
  function makeRoom(ce: ScalingCe, d: Demand, index: number, pieces: Resources[], claimant: Unit['claims'][number]): CapacityAccount | undefined {
    const open = units.filter((u) => u.ceName === ce.name && live(u) && !u.draining && !u.fate);
    const taken = packOpen(pieces, open, ce.fargate);
    const yieldOrder = (a: Unit, b: Unit) =>
      Number(!!a.floorHeld) - Number(!!b.floorHeld) || Number(b.draining) - Number(a.draining) || a.launchedAt - b.launchedAt || a.id.localeCompare(b.id);
    // Idle instances no waiting work claimed; the CE's own ones may give way for a larger one.
    const idleHere = units.filter((u) => u.here && idle(u)).sort(yieldOrder);
    const ownIdle = units.filter((u) => u.ceName === ce.name && idle(u)).sort(yieldOrder);
    // Busy instances of CEs whose next waiting work comes after this job's.
    const drainable = units
      .filter((u) => u.here && live(u) && !u.fate && u.ceName !== ce.name && u.state !== 'PENDING' && u.jobs > 0 && u.claims.length === 0 && (firstWaiting.get(u.ceName) ?? Infinity) > index)
      .sort((a, b) => Number(b.draining) - Number(a.draining) || a.launchedAt - b.launchedAt || a.id.localeCompare(b.id));
    const returningLeft = sum(returning.map((r) => r.left));
    const potential: Resources = {
      vcpus: Math.min(ce.maxvCpus - ceVcpus(ce.name) + ownIdle.reduce((n, u) => n + u.size.vcpus, 0), Math.max(hostFree.vcpus, 0) + returningLeft.vcpus + sum(idleHere.map((u) => u.size)).vcpus + sum(drainable.map((u) => u.size)).vcpus),
      memoryMiB: Math.max(hostFree.memoryMiB, 0) + returningLeft.memoryMiB + sum(idleHere.map((u) => u.size)).memoryMiB + sum(drainable.map((u) => u.size)).memoryMiB,
      gpus: s.host.gpus,
    };
    const set = launchSet(ce, taken.rest, waitingTotal.get(ce.name) ?? NONE, potential);
    if (!set) return undefined;
    const need = sum(set.map((l) => l.capacity));

    // The CE's maxvCpus first: its own idle instances give way, smallest standing first.
    const gone: Unit[] = [];
    let ceShort = need.vcpus - (ce.maxvCpus - ceVcpus(ce.name));
    for (const u of ownIdle) {
      if (ceShort <= EPS) break;
      gone.push(u);
      ceShort -= u.size.vcpus;
    }
    if (ceShort > EPS) return undefined;
    // Then the host: free now, returning, idle anywhere (those just chosen count), drains.
    let short = positive(minus(need, positive(hostFree)));
    const claimed: { r: Returning | undefined; unit: Unit; take: Resources }[] = [];
    const take = (unit: Unit, avail: Resources, r?: Returning) => {
      const t = { vcpus: Math.min(avail.vcpus, short.vcpus), memoryMiB: Math.min(avail.memoryMiB, short.memoryMiB), gpus: Math.min(avail.gpus, short.gpus) };
      if (isZero(t)) return;
      claimed.push({ r, unit, take: t });
      short = minus(short, t);
    };
    for (const r of returning) if (!isZero(short)) take(r.unit, r.left, r);
    for (const u of gone) if (u.here && !isZero(short)) take(u, u.size);
    for (const u of idleHere) if (!gone.includes(u) && !isZero(short)) take(u, u.size), gone.push(u);
    const drained: Unit[] = [];
    for (const u of drainable) if (!isZero(short)) take(u, u.size), drained.push(u);
    if (!isZero(positive(short))) return undefined;

    // Whole: do it.
    const wanted = set.map((l) => newUnit(ce, l, 'WANTED', 'demand'));
    const more = packOpen(taken.rest, wanted, ce.fargate);
    commitClaims([...taken.placed, ...more.placed], claimant);
    hostFree = minus(hostFree, minus(need, sum(claimed.map((c) => c.take))));
    const why = `${d.queue} (priority ${d.priority})${ce.name ? ` in compute environment ${ce.name}` : ''}`;
    for (const u of gone) {
      const reason =
        u.ceName === ce.name
          ? `scaled down: idle, its room needed for a larger instance for waiting work of queue ${why}`
          : u.floorHeld
            ? `scaled down: idle, kept only for minvCpus; its host capacity given to waiting work of queue ${why}`
            : `scaled down: idle; its host capacity given to waiting work of queue ${why}`;
      terminate(u, 'yield', reason);
    }
    for (const u of drained) u.fate = 'drain';
    version++;
    for (const c of claimed) {
      const r = c.r ?? returning.find((x) => x.unit === c.unit);
      if (r) r.left = positive(minus(r.left, c.take));
      else returning.push({ unit: c.unit, left: positive(minus(c.unit.size, c.take)) });
    }
    const sources: Holder[] = [];
    for (const c of claimed) {
      if (sources.some((h) => h.instanceId === c.unit.id)) continue;
      sources.push(holderOf(c.unit, c.unit.fate === 'drain' ? 'draining' : 'terminating'));
    }
    for (const u of gone) if (!sources.some((h) => h.instanceId === u.id)) sources.push(holderOf(u, 'terminating'));
    for (const w of wanted) w.sources = sources;
    const claimedUnits = [...taken.placed.map((p) => p.unit)];
    return {
      waitFor: drained.length ? 'DRAINING' : 'FREEING',
      ceName: ce.name,
      holders: trim([...claimHolders(claimedUnits), ...sources]),
    };
  }

  /** Step 3d: the job waits; its account names what holds the capacity. */
  function waitAccount(candidates: ScalingCe[], pieces: Resources[]): CapacityAccount {
    const heldCe = candidates.find((c) => (c.heldUntil ?? 0) > s.now);
    if (heldCe) return { waitFor: 'HELD_BACK', ceName: heldCe.name, holders: [], until: heldCe.heldUntil };
    const ce = candidates[0];
    // maxvCpus binds when even the CE's whole room could not take a launch for it beside what it has.
    const ceRoom = ce.maxvCpus - ceVcpus(ce.name) + units.filter((u) => u.ceName === ce.name && idle(u)).reduce((n, u) => n + u.size.vcpus, 0);
    const fitsCe = launchSet(ce, pieces, NONE, { vcpus: ceRoom, memoryMiB: s.host.memoryMiB, gpus: s.host.gpus }) !== undefined;
    const mine = fitsCe ? units.filter((u) => u.here && u.state !== 'WANTED') : units.filter((u) => u.ceName === ce.name && live(u) && u.state !== 'WANTED');
    const holders = mine.map((u) => holderOf(u, roleOf(u)));
    return { waitFor: fitsCe ? 'BUSY' : 'CE_MAX', ceName: ce.name, holders: trim(holders) };
  }

  /** Why a CE's floor is not kept: launches held back, waiting work first, the host held by others or still by its own terminating instances. */
  function floorShortfall(ce: ScalingCe): string {
    if ((ce.heldUntil ?? 0) > s.now) return 'launches are held back after a failed bootstrap';
    const waiting = [...new Set(units.filter((u) => u.claims.length).flatMap((u) => u.claims.map((c) => `${c.queue} (priority ${c.priority})`)))];
    if (waiting.length) return `the host's capacity goes to waiting work of queue ${waiting.slice(0, 3).join(', ')} first`;
    const others = [...new Set(units.filter((u) => u.here && u.ceName !== ce.name && (live(u) || u.state === 'TERMINATING')).map((u) => u.ceName))];
    if (others.length) return `the host's capacity is in use by compute environment ${others.slice(0, 3).join(', ')}`;
    if (units.some((u) => u.here && u.ceName === ce.name && !live(u))) return 'the host\'s capacity comes back as its instances finish terminating';
    return `no instance type it may launch fits the host's free capacity (maxvCpus ${ce.maxvCpus})`;
  }

  function roleOf(u: Unit): Holder['role'] {
    if (u.state === 'TERMINATING' || u.fate === 'terminate') return 'terminating';
    if (u.fate === 'drain') return 'draining';
    if (u.state === 'NEW') return 'launched';
    if (u.state === 'PENDING') return 'booting';
    if (u.jobs > 0) return 'running';
    return u.floorHeld ? 'minvCpus' : 'idle';
  }

  function holderOf(u: Unit, role: Holder['role']): Holder {
    const claim = u.claims[0];
    const f = role === 'running' || role === 'draining' ? u.work : claim;
    return { instanceId: u.id, ceName: u.ceName, vcpus: u.size.vcpus, memoryMiB: u.size.memoryMiB, role, for: f ? { ...f } : undefined };
  }

  /** The holders of claimed units; a WANTED unit stands for the room made for it. */
  function claimHolders(claimed: Unit[]): Holder[] {
    const out: Holder[] = [];
    for (const u of new Set(claimed)) {
      if (u.state === 'WANTED') out.push(...(u.sources ?? []));
      else out.push(holderOf(u, roleOf(u) === 'running' ? 'idle' : roleOf(u)));
    }
    return trim(out.filter((h, i) => out.findIndex((x) => x.instanceId === h.instanceId) === i));
  }

  /** The account of a job that claimed `claimed` in CE `ceName`: launching, or room being made, or held. */
  function claimAccount(ceName: string, claimed: Unit[]): CapacityAccount {
    const holders = claimHolders(claimed);
    if (claimed.some((u) => u.held)) return { waitFor: 'HELD_BACK', ceName, holders, reason: ces.get(ceName)?.held };
    const wanted = claimed.filter((u) => u.state === 'WANTED');
    if (!wanted.length) return { waitFor: 'LAUNCHING', ceName, holders };
    return { waitFor: wanted.some((u) => u.sources?.some((h) => h.role === 'draining')) ? 'DRAINING' : 'FREEING', ceName, holders };
  }
}

/** Whether two waiting jobs ask the same of the same CEs. */
function sameWork(a: Demand, b: Demand): boolean {
  if (a.ceNames.length !== b.ceNames.length || a.ceNames.some((n, i) => n !== b.ceNames[i])) return false;
  if (!sameSize(a.need, b.need) || (a.nodes === undefined) !== (b.nodes === undefined)) return false;
  return !a.nodes || (a.nodes.length === b.nodes!.length && a.nodes.every((n, i) => sameSize(n, b.nodes![i])));
}

function sameSize(a: Resources, b: Resources): boolean {
  return a.vcpus === b.vcpus && a.memoryMiB === b.memoryMiB && a.gpus === b.gpus;
}

/** A CE's floor: its minvCpus, capped at what the host (and its maxvCpus) could ever give it. */
function floorOf(ce: ScalingCe, host: Resources): number {
  return ce.fargate ? 0 : Math.max(0, Math.min(ce.minvCpus, ce.maxvCpus, Math.floor(host.vcpus + EPS)));
}

/**
 * Which idle instances are kept only for their CE's floor: the CE's busy and claimed capacity
 * counts toward the floor first, then idle instances, oldest first, until it is reached.
 */
function markFloors(units: Unit[], ces: Map<string, ScalingCe>, host: Resources, live: (u: Unit) => boolean): void {
  const byCe = new Map<string, Unit[]>();
  for (const u of units) if (live(u) && u.state !== 'NEW' && u.state !== 'WANTED') (byCe.get(u.ceName) ?? byCe.set(u.ceName, []).get(u.ceName)!).push(u);
  for (const [name, list] of byCe) {
    const ce = ces.get(name);
    const floor = ce && ce.enabled ? floorOf(ce, host) : 0;
    const holding = (u: Unit) => u.jobs > 0 || u.state === 'PENDING' || u.claims.length > 0 || !!u.fate;
    let have = list.filter(holding).reduce((n, u) => n + u.size.vcpus, 0);
    for (const u of list.filter((x) => !holding(x)).sort((a, b) => a.launchedAt - b.launchedAt || a.id.localeCompare(b.id))) {
      u.floorHeld = have < floor - EPS;
      have += u.size.vcpus;
    }
  }
}

/**
 * A job's pieces on capacity already there, each best fit (least open vCPUs that hold it),
 * largest first; what finds none is the rest. A Fargate task holds exactly one job: a piece
 * takes a task only whole, and only one whose size holds it.
 */
function packOpen(pieces: Resources[], open: Unit[], oneJob: boolean): { placed: { unit: Unit; piece: Resources }[]; rest: Resources[] } {
  const left = new Map(open.map((u) => [u, { ...u.open }]));
  const placed: { unit: Unit; piece: Resources }[] = [];
  const rest: Resources[] = [];
  const sorted = [...pieces].sort((a, b) => b.vcpus - a.vcpus || b.memoryMiB - a.memoryMiB);
  for (const piece of sorted) {
    let best: Unit | undefined;
    for (const u of open) {
      const l = left.get(u)!;
      if (!fits(piece, l) || (oneJob && (u.claims.length > 0 || placed.some((p) => p.unit === u) || !fits(piece, u.size)))) continue;
      if (!best || l.vcpus < left.get(best)!.vcpus) best = u;
    }
    if (!best) {
      rest.push(piece);
      continue;
    }
    placed.push({ unit: best, piece });
    left.set(best, oneJob ? NONE : minus(left.get(best)!, piece));
  }
  return { placed, rest };
}

/**
 * What to launch for pieces that capacity already there cannot take, within `room`: one
 * Fargate task per piece, sized to it; one instance of the strategy's type for a plain job
 * (sized for all the CE's waiting work under BEST_FIT_PROGRESSIVE); instances of one type
 * for a gang's nodes. Undefined when nothing fits the room.
 */
function launchSet(ce: ScalingCe, rest: Resources[], waitingTotal: Resources, room: Resources): { type: string; capacity: Resources; capped: boolean }[] | undefined {
  if (rest.length === 0) return [];
  if (ce.fargate) {
    const total = sum(rest);
    if (rest.some((p) => p.gpus > 0) || !fits(total, room)) return undefined;
    return rest.map((p) => ({ type: 'fargate', capacity: { ...p }, capped: false }));
  }
  if (rest.length === 1) {
    const c = chooseLaunch(ce.types, ce.strategy, { largestJob: rest[0], total: plus(rest[0], positive(waitingTotal)) }, positive(room));
    return c ? [{ type: c.type.name, capacity: c.capacity, capped: c.capped }] : undefined;
  }
  const g = packLaunch(rest, ce.types, ce.strategy, positive(room));
  return g ? Array.from({ length: g.count }, () => ({ type: g.type.name, capacity: { ...g.capacity }, capped: g.capped })) : undefined;
}

function trim(holders: Holder[]): Holder[] {
  return holders.length <= HOLDERS_SHOWN ? holders : [...holders].sort((a, b) => b.vcpus - a.vcpus).slice(0, HOLDERS_SHOWN);
}
