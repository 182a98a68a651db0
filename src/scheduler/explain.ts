/**
 * The sentences of `why`: what a waiting job waits for, what the person can do about it, and
 * when it should start — a pure function of the facts why.ts reads (the job, the account its
 * last scheduler pass recorded, the instances that account names and the jobs running on them).
 * Nothing here decides: the scheduler decided the wait code and planScaling the account; this
 * only says them, with the numbers around them.
 *
 * The situations, and what each says (the table test is test/scheduler/explain.test.ts):
 *   capacity launching    its CE launched (or boots) an instance for it — when it should be up
 *   capacity being freed  idle instances give way for it — the host's room comes back to it
 *   lower priority drains busy instances of lower-priority work finish, take nothing new, give way
 *   host busy             the host's vCPUs are held by work ahead of it: named, instance by instance
 *   CE at maxvCpus        its CE has all it may: the instances and what they run
 *   launches held back    a failed bootstrap (until when, and the failure), or no sandbox here
 *   reserved              its fair-share queue keeps computeReservation for shares not yet active
 *   never fits            no instance its CEs could ever have holds it: the numbers say which
 *   no enabled CE, consumables, a drained farm, queued beyond a pass's look
 *   dependencies          PENDING: the unfinished dependencies (explainPending)
 *   queued on an agent    STARTING behind the jobs running on its instance (openbatch:prefetch), or
 *                         terminated before its agent took it (explainStarting)
 *
 * The estimate comes from what runs and when it should end: each running job's start plus how
 * long its definition's jobs ran lately (or, lacking those, its attempt timeout, as the latest
 * end), and for an instance coming up, its launch plus how long boots took lately. Its times
 * are fixed by those facts, so asking again later gives the same time, not one that slides
 * forward; when a fact it needs is missing it says which, instead of guessing.
 */
import type { Resources } from '../model/resources.js';
import type { CapacityAccount, Holder } from '../compute/planScaling.js';

/** What a job in the account's instances runs, with when it should end. */
export interface RunningFacts {
  jobId: string;
  /** STARTING (queued on its agent, or its process starting) or RUNNING */
  status?: string;
  queue: string;
  /** its queue's priority */
  priority: number;
  vcpus: number;
  /** when it started (a STARTING job: when it was placed) */
  since: number;
  /** when it should end: its start plus its definition's usual run time, or its timeout; absent when neither is known */
  expectedEnd?: number;
  /** what expectedEnd comes from */
  endBasis?: 'history' | 'timeout';
}

/** An instance an account names, as it is now. */
export interface InstanceFacts {
  id: string;
  ceName: string;
  type: string;
  /** PENDING, LAUNCHING, ACTIVE, TERMINATING, TERMINATED */
  state: string;
  vcpus: number;
  launchedAt: number;
  running: RunningFacts[];
}

/** A compute environment of the job's queue. */
export interface CeFacts {
  name: string;
  /** ENABLED and VALID */
  enabled: boolean;
  /** EC2, SPOT, FARGATE, FARGATE_SPOT; UNMANAGED; slurm */
  kind: string;
  minvCpus?: number;
  maxvCpus?: number;
  statusReason?: string | null;
  /** the largest instance it could ever have (null: unknown) */
  largest: Resources | null;
  /** its instances not yet terminated, and the vCPUs they have and use */
  instances: number;
  vcpus: number;
  usedVcpus: number;
}

/**
 * What the last pass recorded of a job waiting for capacity: planScaling's account, or the
 * scheduler's own note that the queue's computeReservation holds it back.
 */
export type WaitDetail = CapacityAccount | { waitFor: 'RESERVED' };

export interface WaitFacts {
  now: number;
  /** the wait code (QUEUED: beyond what the last pass looked at) */
  code: string;
  /** the job's needs: a plain job's, or a gang's per node with its node count */
  need: Resources;
  nodes?: number;
  /** how long the job's own definition ran lately (ms): for the jobs ahead of it, which are mostly like it */
  typicalRunMs?: number;
  queue: { name: string; priority: number; fairShare?: { computeReservation?: number } };
  /** 1 = next; with how it was found */
  position?: number;
  positionBy?: 'pass' | 'submission';
  ces: CeFacts[];
  detail?: WaitDetail;
  /** the instances the account names, by id */
  instances: Map<string, InstanceFacts>;
  /** how long instances took to boot lately (ms), when some did */
  typicalBootMs?: number;
  /** the host's budget, where this server knows it leads the host's instances */
  hostVcpus?: number;
  /** HELD_BACK after a failed bootstrap: the failure */
  bootstrapFailure?: string;
  /** each consumable the job needs: units needed, free now, and the resource's totalQuantity (absent: the resource is gone) */
  consumables?: { name: string; needed: number; available: number; total?: number }[];
  dependencies?: { jobId: string; status: string | null }[];
  /** this server runs no scheduler pass: the account is the leader's, as it recorded it */
  follower?: boolean;
}

export interface Estimate {
  at: number;
  /** running: from the ends of the jobs that hold the capacity; launch: from an instance's launch and recent boot times */
  basis: 'running' | 'launch';
  detail: string;
}

export interface Explanation {
  summary: string;
  /** what a person can do about it, when something can be done */
  hint?: string;
  eta?: Estimate;
  /** why there is no estimate, when one was looked for */
  noEta?: string;
}

export function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The one-line description of an instance the account names, from its role in the plan and its state now. */
export function holderText(h: Holder, inst: InstanceFacts | undefined, ce: CeFacts | undefined, now: number): string {
  const size = `${inst?.type ?? 'instance'}, ${fmt(h.vcpus)} vCPU${h.vcpus === 1 ? '' : 's'}`;
  const who = `CE ${h.ceName}'s`;
  const running = inst?.running ?? [];
  const work = running.length ? `${plural(running.length, 'job')} of ${[...new Set(running.map((r) => `queue ${r.queue} (priority ${r.priority})`))].join(', ')}` : h.for ? `work of queue ${h.for.queue} (priority ${h.for.priority})` : 'its jobs';
  const forJob = h.for?.jobId ? ` for job ${h.for.jobId} of queue ${h.for.queue} (priority ${h.for.priority})` : '';
  if (inst && (inst.state === 'TERMINATED' || inst.state === 'TERMINATING') && h.role !== 'terminating') return `${who} instance ${h.instanceId} (${size}), ${inst.state.toLowerCase()} since the plan`;
  switch (h.role) {
    case 'launched':
    case 'booting':
      return `${who} instance ${h.instanceId} (${size})${forJob}, launched ${seconds(Math.max(now - (inst?.launchedAt ?? now), 0))} ago${inst?.state === 'PENDING' || !inst ? ', booting' : ''}`;
    case 'running':
      return `${who} busy instance ${h.instanceId} (${size}, running ${work})`;
    case 'draining':
      return `${who} busy instance ${h.instanceId} (${size}, running ${work}), which takes no new work`;
    case 'minvCpus':
      return `${who} idle instance ${h.instanceId} (${size}, kept for minvCpus ${ce?.minvCpus ?? '?'})`;
    case 'terminating':
      return `${who} instance ${h.instanceId} (${size}), terminating`;
    case 'idle':
      return `${who} idle instance ${h.instanceId} (${size})${forJob ? `, claimed${forJob}` : ''}`;
  }
}

/** When the capacity the holders hold comes back to this job, from the ends of what runs there; undefined with the reason when that cannot be known. */
function fromRunning(f: WaitFacts, holders: Holder[], ahead: number): { eta?: Estimate; noEta?: string } {
  const instances = holders.map((h) => f.instances.get(h.instanceId)).filter((i): i is InstanceFacts => !!i && i.state !== 'TERMINATED');
  const running = instances.flatMap((i) => i.running);
  if (running.length === 0) return { noEta: 'cannot be estimated: nothing runs on the instances that hold its capacity' };
  const unknown = running.find((r) => r.expectedEnd === undefined);
  if (unknown) return { noEta: `cannot be estimated: job ${unknown.jobId} (queue ${unknown.queue}) has run ${seconds(f.now - unknown.since)} with no attempt timeout, and no job of its definition finished lately to go by` };
  if (ahead > 0 && f.typicalRunMs === undefined) return { noEta: `cannot be estimated: ${plural(ahead, 'job')} ahead of it, and no job of its definition finished lately to say how long they run` };
  // Capacity frees as the running jobs end; the jobs ahead (like this one) take it first, in order.
  const ends = running.map((r) => ({ at: r.expectedEnd!, vcpus: r.vcpus })).sort((a, b) => a.at - b.at);
  let free = Math.max(instances.reduce((n, i) => n + i.vcpus, 0) - running.reduce((n, r) => n + r.vcpus, 0), 0);
  let waiting = ahead + 1;
  // The times come from the facts alone (never from now), so that asking later gives the same answer.
  let at = -Infinity;
  const size = f.need.vcpus * (f.nodes ?? 1);
  for (let guard = 0; waiting > 0 && guard < 100_000; guard++) {
    if (free + 1e-9 >= size) {
      waiting--;
      if (waiting === 0) break;
      free -= size;
      ends.push({ at: (at === -Infinity ? f.now : at) + f.typicalRunMs!, vcpus: size });
      ends.sort((a, b) => a.at - b.at);
      continue;
    }
    const next = ends.shift();
    if (!next) return { noEta: 'cannot be estimated: what runs there is too small to ever hold it' };
    at = Math.max(at, next.at);
    free += next.vcpus;
  }
  if (at === -Infinity) at = f.now;
  const basis = running.some((r) => r.endBasis === 'timeout') ? 'their runs lately, or at the latest their timeouts' : 'how long their definitions ran lately';
  const late = at < f.now ? ` (overdue: the running jobs take longer than ${basis} say)` : '';
  return {
    eta: {
      at: Math.round(at),
      basis: 'running',
      detail: `when ${plural(running.length, 'running job')} on ${plural(instances.length, 'instance')} should end, by ${basis}${ahead ? `, after the ${plural(ahead, 'job')} ahead of it` : ''}${late}`,
    },
  };
}

/** When drained instances are idle (all their jobs ended) and an instance has booted in their place. */
function whenDrained(f: WaitFacts, holders: Holder[]): { eta?: Estimate; noEta?: string } {
  const running = holders.flatMap((h) => f.instances.get(h.instanceId)?.running ?? []);
  if (running.length === 0) return { noEta: 'cannot be estimated: the drained instances are giving way now' };
  const unknown = running.find((r) => r.expectedEnd === undefined);
  if (unknown) return { noEta: `cannot be estimated: job ${unknown.jobId} (queue ${unknown.queue}) has run ${seconds(f.now - unknown.since)} with no attempt timeout, and no job of its definition finished lately to go by` };
  if (f.typicalBootMs === undefined) return { noEta: 'cannot be estimated: the drained work ends, but no instance has booted here lately to say how long the next takes' };
  const end = Math.max(...running.map((r) => r.expectedEnd!));
  const at = end + f.typicalBootMs;
  return {
    eta: {
      at,
      basis: 'running',
      detail: `when the last of ${plural(running.length, 'job')} there should end, then an instance boots for it (${seconds(f.typicalBootMs)} lately)${at < f.now ? ' (overdue: that work takes longer than its runs lately)' : ''}`,
    },
  };
}

/** When an instance coming up for it should be ready: its launch plus recent boot times. */
function fromLaunch(f: WaitFacts, holders: Holder[]): { eta?: Estimate; noEta?: string } {
  const launching = holders.map((h) => f.instances.get(h.instanceId)).filter((i): i is InstanceFacts => !!i && (i.state === 'PENDING' || i.state === 'LAUNCHING'));
  if (launching.length === 0) return { noEta: 'cannot be estimated: the instance launched for it is not up yet' };
  if (f.typicalBootMs === undefined) return { noEta: 'cannot be estimated: no instance has booted here lately to go by' };
  const at = Math.max(...launching.map((i) => i.launchedAt)) + f.typicalBootMs;
  return { eta: { at, basis: 'launch', detail: `its instance launched at ${new Date(Math.max(...launching.map((i) => i.launchedAt))).toISOString()}; instances here took ${seconds(f.typicalBootMs)} to boot lately${at < f.now ? ' (this one is taking longer)' : ''}` } };
}

function list(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join('; ')}; and ${items[items.length - 1]}`;
}

/** The explanation of a RUNNABLE job (see the file comment). */
export function explainWait(f: WaitFacts): Explanation {
  const ahead = Math.max((f.position ?? 1) - 1, 0);
  const aheadText = ahead ? `; ${plural(ahead, 'job')} ahead of it in queue ${f.queue.name}` : '';
  const ces = new Map(f.ces.map((c) => [c.name, c]));
  const holders = (d: CapacityAccount) => list(d.holders.map((h) => holderText(h, f.instances.get(h.instanceId), ces.get(h.ceName), f.now)));
  // "the host's 2 vCPUs are", or where this server does not know the leader's host, "the host's capacity is"
  const hostIs = f.hostVcpus !== undefined ? `the host's ${plural(f.hostVcpus, 'vCPU')} ${f.hostVcpus === 1 ? 'is' : 'are'}` : "the host's capacity is";
  const where = f.follower ? ' (as the leader recorded it: this server does not run the scheduler)' : '';
  const needText = `${fmt(f.need.vcpus)} vCPU, ${f.need.memoryMiB} MiB${f.need.gpus ? `, ${f.need.gpus} GPU` : ''}${f.nodes ? ` per node × ${f.nodes} nodes` : ''}`;

  switch (f.code) {
    case 'NEVER_FITS': {
      const limits = f.ces
        .filter((c) => c.enabled)
        .map((c) => `CE ${c.name}: largest instance ${c.largest ? `${fmt(c.largest.vcpus)} vCPU, ${c.largest.memoryMiB} MiB, ${c.largest.gpus} GPU` : 'unknown'}${c.maxvCpus !== undefined ? `, maxvCpus ${c.maxvCpus}` : ''}`);
      return {
        summary: `never fits: asks ${needText}, more than its queue's compute environments can ever have (${limits.join('; ') || 'no enabled CE'})`,
        hint: f.nodes
          ? 'a multi-node job needs instances of one type that hold all its nodes within maxvCpus (and this host): allow larger instanceTypes, raise maxvCpus, or ask less per node'
          : 'ask less, or give its queue a compute environment whose instance types (within maxvCpus and this host) hold it',
      };
    }
    case 'NO_ENABLED_CE':
      return {
        summary: `no enabled compute environment: ${f.ces.map((c) => `${c.name} is ${c.enabled ? 'enabled' : 'disabled or invalid'}`).join(', ') || 'the queue has none'}`,
        hint: f.ces.length ? `enable one: aws batch update-compute-environment --compute-environment ${f.ces[0].name} --state ENABLED` : 'give the queue a compute environment (update-job-queue --compute-environment-order …)',
      };
    case 'NO_CONSUMABLE': {
      const short = (f.consumables ?? []).filter((c) => c.available < c.needed);
      // More than the resource will ever have (a NON_REPLENISHABLE total only goes down): no end of a job frees it.
      const never = short.filter((c) => (c.total ?? 0) < c.needed);
      if (never.length) {
        const c = never[0];
        return {
          summary: `blocked by consumable ${never.map((n) => `${n.name} (needs ${n.needed}, ${n.total === undefined ? 'no such resource' : `its totalQuantity is ${n.total}`})`).join(', ')}: it cannot start until that changes`,
          hint: c.total === undefined ? `create the consumable resource ${c.name}, or cancel the job` : `raise the resource's totalQuantity (aws batch update-consumable-resource --consumable-resource ${c.name} --operation SET --quantity ${c.needed}), or cancel the job`,
        };
      }
      return {
        summary: `blocked by consumable ${short.map((c) => `${c.name} (needs ${c.needed}, ${c.available} available)`).join(', ') || 'resources'}${aheadText}`,
        hint: 'it starts when running jobs give the units back; more instances would not help (or raise the resource\'s totalQuantity)',
      };
    }
    case 'DRAINING':
      return { summary: `the farm is being drained (openbatch drain): no job starts${aheadText}`, hint: 'openbatch drain --resume lets jobs start again' };
    case 'QUEUED':
      return {
        summary: `queued: ${plural(ahead, 'job')} ahead of it in queue ${f.queue.name}, more than a scheduler pass looks at; it is looked at once they are placed`,
        noEta: 'cannot be estimated: the jobs ahead of it are beyond what the last pass looked at',
      };
  }

  // Waiting for capacity.
  const d = f.detail;
  if (!d) {
    // No account: capacity that planScaling does not plan (agents that join, a Slurm partition), or a pass not yet made.
    const shown = f.ces.filter((c) => c.enabled);
    const cap = shown.map((c) => (c.instances ? `CE ${c.name}: ${plural(c.instances, 'instance')}, ${fmt(c.usedVcpus)} of ${fmt(c.vcpus)} vCPUs in use` : c.kind === 'UNMANAGED' ? `CE ${c.name} has no instance: its capacity is whatever agents join it` : `CE ${c.name} has no instance yet`));
    return {
      summary: `waiting for capacity: ${cap.join('; ') || 'no compute environment'}${aheadText}; needs ${needText}`,
      hint: shown.some((c) => c.kind === 'UNMANAGED' && !c.instances) ? `start an agent on a machine: openbatch agent --server URL --ce ${shown.find((c) => c.kind === 'UNMANAGED' && !c.instances)!.name}` : undefined,
    };
  }
  if (d.waitFor === 'RESERVED') {
    const r = f.queue.fairShare?.computeReservation;
    return {
      summary: `held back by its queue's fair-share policy: computeReservation${r !== undefined ? ` ${r}` : ''} keeps part of its compute environments' vCPUs for shares not yet active${aheadText}`,
      hint: 'it starts as running jobs of its queue end, or lower the policy\'s computeReservation',
    };
  }
  const ce = ces.get(d.ceName);
  switch (d.waitFor) {
    case 'LAUNCHING':
      return { summary: `capacity is launching for it${where}: ${holders(d)}${aheadText}`, ...fromLaunch(f, d.holders) };
    case 'FREEING': {
      const floor = d.holders.some((h) => ces.get(h.ceName)?.minvCpus && f.instances.get(h.instanceId)?.running.length === 0 && h.role === 'terminating');
      return {
        summary: `room is being made for it${where}: ${holders(d)}; CE ${d.ceName} launches for it once that capacity is back${aheadText}`,
        hint: floor ? 'idle instances kept for another CE\'s minvCpus give way to waiting work; that CE gets them back when the host is free' : undefined,
        noEta: 'cannot be estimated until the capacity is back: then an instance boots for it',
      };
    }
    case 'DRAINING':
      return {
        summary: `${hostIs} held by lower-priority work${where}: ${holders(d)}; it finishes its jobs and gives way to this one${aheadText}`,
        ...whenDrained(f, d.holders.filter((h) => h.role === 'draining')),
      };
    case 'BUSY':
      return {
        summary: `${hostIs} held by work ahead of it${where}: ${holders(d)}${aheadText}`,
        hint: 'work of equal or higher priority comes first; a higher priority for its queue, or more vCPUs for the host (hostVcpus), would start it sooner',
        ...fromRunning(f, d.holders.filter((h) => h.role === 'running' || h.role === 'draining'), ahead),
      };
    case 'CE_MAX':
      return {
        summary: `CE ${d.ceName} is at its maxvCpus${ce?.maxvCpus !== undefined ? ` ${ce.maxvCpus}` : ''}${where}: ${holders(d)}${aheadText}`,
        hint: `raise CE ${d.ceName}'s maxvCpus to run more of its jobs at once`,
        ...fromRunning(f, d.holders.filter((h) => h.role === 'running' || h.role === 'draining'), ahead),
      };
    case 'HELD_BACK':
      if (d.reason) {
        return {
          summary: `CE ${d.ceName} starts nothing, its instances held${where}: ${d.reason}${d.holders.length ? ` (${holders(d)})` : ''}${aheadText}`,
          hint: 'install what the reason names, or opt the compute environment out (tag openbatch:sandbox=off) knowing its jobs then run unsandboxed',
          noEta: 'cannot be estimated: nothing starts here until the sandbox works',
        };
      }
      return {
        summary: `CE ${d.ceName}'s launches are held back until ${d.until ? new Date(d.until).toISOString() : 'later'}${where}: ${f.bootstrapFailure ? `its last instance's ${f.bootstrapFailure}` : 'its last instance failed to boot'}${aheadText}`,
        hint: `fix the CE's launch template; openbatch instances --all --ce ${d.ceName} shows each failure (held back 5 s, doubling up to 5 min)`,
        ...(d.until && f.typicalBootMs !== undefined
          ? { eta: { at: d.until + f.typicalBootMs, basis: 'launch' as const, detail: `launches resume then, and instances took ${seconds(f.typicalBootMs)} to boot lately, if the next bootstrap succeeds` } }
          : { noEta: 'cannot be estimated: it starts once a bootstrap succeeds' }),
      };
  }
}

/** A STARTING job: its instance still launching, the job queued on its agent behind running jobs, or terminated before its agent took it. */
export function explainStarting(f: { now: number; jobId: string; vcpus: number; placedAt: number; instance?: InstanceFacts; terminateReason?: string | null; typicalRunMs?: number; typicalBootMs?: number }): Explanation {
  const inst = f.instance;
  const where = inst ? `instance ${inst.id}${inst.state === 'LAUNCHING' || inst.state === 'PENDING' ? ', which is still launching' : ''}` : 'its instance';
  if (f.terminateReason) {
    return { summary: `terminated while STARTING on ${where}: it ends FAILED ('${f.terminateReason}') when the instance's agent next polls, and its capacity comes back then` };
  }
  if (!inst) return { summary: 'placed; its instance is gone, and the attempt with it' };
  if (inst.state === 'LAUNCHING' || inst.state === 'PENDING') return { summary: `placed on ${where}` };
  const running = inst.running.filter((r) => r.jobId !== f.jobId);
  const busy = running.filter((r) => r.status !== 'STARTING');
  const used = busy.reduce((n, r) => n + r.vcpus, 0);
  if (used + f.vcpus <= inst.vcpus + 1e-9) return { summary: `placed on ${where}; its process is starting` };
  // Queued on the agent (openbatch:prefetch): it starts the moment room frees there, after the jobs queued before it.
  const ahead = running.filter((r) => r.status === 'STARTING' && r.since < f.placedAt).length;
  const holder: Holder = { instanceId: inst.id, ceName: inst.ceName, vcpus: inst.vcpus, memoryMiB: 0, role: 'running' };
  const only: WaitFacts = { now: f.now, code: 'NO_CAPACITY', need: { vcpus: f.vcpus, memoryMiB: 0, gpus: 0 }, queue: { name: '', priority: 0 }, ces: [], instances: new Map([[inst.id, { ...inst, running: busy }]]), typicalRunMs: f.typicalRunMs };
  return {
    summary: `queued on instance ${inst.id} (${inst.type}, ${plural(inst.vcpus, 'vCPU')}) behind ${plural(busy.length, 'running job')}${ahead ? ` and ${plural(ahead, 'job')} queued before it` : ''}: its agent starts it the moment room frees there`,
    hint: "its compute environment queues work on its agents (openbatch:prefetch); tag it openbatch:prefetch=0 to have jobs wait RUNNABLE for any instance instead",
    ...fromRunning(only, [holder], ahead),
  };
}

/** A PENDING job: the dependencies it still waits on, or an array parent's children. */
export function explainPending(f: { queue: string; dependencies: { jobId: string; status: string | null }[]; array?: { size: number; finished: number } }): Explanation {
  const waiting = f.dependencies;
  if (waiting.length) {
    const shown = waiting.slice(0, 3).map((d) => `${d.jobId} (${d.status ?? 'not created yet'})`).join(', ');
    // The one to ask about next: a dependency that itself waits, else the first.
    const next = waiting.find((d) => d.status === 'RUNNABLE' || d.status === 'PENDING') ?? waiting[0];
    return {
      summary: `waiting on ${waiting.length === 1 ? 'dependency' : `${waiting.length} dependencies`}: ${shown}${waiting.length > 3 ? ', …' : ''}`,
      hint: `it becomes RUNNABLE when ${waiting.length === 1 ? 'that job succeeds' : 'they all succeed'} (and fails if one fails); openbatch why ${next.jobId} says why that one waits`,
    };
  }
  if (f.array) {
    return { summary: `array job: ${f.array.finished} of ${f.array.size} children finished; it ends when the last one does`, hint: `openbatch why --queue ${f.queue} shows where its waiting children stand` };
  }
  return { summary: 'waiting for its dependencies to be counted (next scheduler pass)' };
}
