/**
 * planScaling() on plain snapshots: the host's capacity rules as a table of cases (the stalls
 * of one 2-core host among them), then its invariants as properties over random farms.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { expandInstanceTypes, type AllocationStrategy } from '../../src/compute/instanceTypes.js';
import { planScaling, type ScalingPlan, type ScalingSnapshot, type ScalingInstance } from '../../src/compute/planScaling.js';

const NOW = 10_000_000;

interface CeOpts {
  min?: number;
  max?: number;
  types?: string[];
  strategy?: AllocationStrategy;
  priority?: number;
  fargate?: boolean;
  enabled?: boolean;
  heldUntil?: number;
}

interface InstanceOpts {
  vcpus?: number;
  mem?: number;
  jobs?: number;
  state?: ScalingInstance['state'];
  /** idle for this many ms (no job) */
  idleFor?: number;
  draining?: boolean;
  work?: [string, number];
  here?: boolean;
  /** free after the pass (default: the whole size when idle, nothing when busy) */
  free?: [number, number];
  launchedAgo?: number;
  oneJob?: boolean;
  /** IMPAIRED: its agent cannot run jobs now, for this reason */
  impaired?: string;
}

/** Fluent farm builder: farm(2).ce('big', { min: 64, max: 64 }).instance('i-1', 'big').wait('j1', 'q', 1, ['default']).build() */
function farm(hostVcpus = 2, hostMemoryMiB = 8192) {
  const s: ScalingSnapshot = { now: NOW, host: { vcpus: hostVcpus, memoryMiB: hostMemoryMiB, gpus: 0 }, scaleDownDelayMs: 60_000, ces: [], instances: [], demand: [] };
  const b = {
    ce(name: string, o: CeOpts = {}) {
      s.ces.push({
        name,
        enabled: o.enabled ?? true,
        valid: true,
        fargate: o.fargate ?? false,
        minvCpus: o.min ?? 0,
        maxvCpus: o.max ?? 2,
        types: expandInstanceTypes(o.types ?? ['optimal']),
        strategy: o.strategy ?? 'BEST_FIT',
        priority: o.priority ?? 1,
        heldUntil: o.heldUntil,
      });
      return b;
    },
    instance(id: string, ceName: string, o: InstanceOpts = {}) {
      const vcpus = o.vcpus ?? 2;
      const mem = o.mem ?? 4096;
      const jobs = o.jobs ?? 0;
      const state = o.state ?? 'ACTIVE';
      const free = o.free ? { vcpus: o.free[0], memoryMiB: o.free[1], gpus: 0 } : jobs > 0 ? { vcpus: 0, memoryMiB: 0, gpus: 0 } : { vcpus, memoryMiB: mem, gpus: 0 };
      s.instances.push({
        id,
        ceName,
        state,
        size: { vcpus, memoryMiB: mem, gpus: 0 },
        free,
        jobs,
        idleSince: jobs === 0 && state !== 'PENDING' ? NOW - (o.idleFor ?? 0) : undefined,
        here: o.here ?? true,
        oneJob: o.oneJob,
        launchedAt: NOW - (o.launchedAgo ?? 120_000),
        draining: o.draining,
        work: o.work ? { queue: o.work[0], priority: o.work[1] } : undefined,
        ...(o.impaired ? { impaired: o.impaired } : {}),
      });
      return b;
    },
    wait(jobId: string, queue: string, priority: number, ceNames: string[], vcpus = 1, memoryMiB = 512, nodes?: [number, number][]) {
      const n = nodes?.map(([v, m]) => ({ vcpus: v, memoryMiB: m, gpus: 0 }));
      const need = n ? { vcpus: n.reduce((a, x) => a + x.vcpus, 0), memoryMiB: n.reduce((a, x) => a + x.memoryMiB, 0), gpus: 0 } : { vcpus, memoryMiB, gpus: 0 };
      s.demand.push({ jobId, queue, priority, ceNames, need, nodes: n });
      return b;
    },
    build: () => s,
  };
  return b;
}

const launches = (p: ScalingPlan) => p.launches.map((l) => `${l.ceName}:${l.type}${l.capped ? '(capped)' : ''}:${l.why}`);
const terminations = (p: ScalingPlan) => p.terminations.map((t) => `${t.instanceId}:${t.why}`);
const account = (p: ScalingPlan, job: string) => {
  const a = p.accounts.get(job);
  return a ? `${a.waitFor} ${a.holders.map((h) => `${h.instanceId}/${h.role}`).join(',')}`.trim() : undefined;
};

describe('planScaling: the host is one account', () => {
  const cases: {
    name: string;
    snapshot: ScalingSnapshot;
    launches?: string[];
    terminations?: string[];
    draining?: string[];
    accounts?: Record<string, string>;
    ces?: Record<string, { desired?: number; statusReason?: RegExp }>;
  }[] = [
    {
      name: 'an impaired instance (its agent cannot run jobs) has no room for waiting work, and its CE says why',
      snapshot: farm(4).ce('boxes', { max: 4 }).instance('i-sick', 'boxes', { free: [0, 0], impaired: 'the container engine does not answer' }).wait('j1', 'q', 1, ['boxes']).build(),
      launches: ['boxes:c5.large:demand'],
      ces: { boxes: { statusReason: /^1 instance cannot run jobs: i-sick: the container engine does not answer$/ } },
    },
    {
      name: 'a minvCpus beyond the host is capped to it, and the CE says so',
      snapshot: farm(2).ce('big', { min: 64, max: 64 }).build(),
      launches: ['big:c5.large:minvCpus'],
      ces: { big: { desired: 2, statusReason: /^desiredvCpus capped at 2 by this host's capacity \(minvCpus 64, the host has 2 vCPUs\)$/ } },
    },
    {
      name: 'stall 1: an idle instance kept only for minvCpus gives way at once to another CE\'s waiting job',
      snapshot: farm(2).ce('big', { min: 64, max: 64 }).ce('default', { max: 2 }).instance('i-big', 'big', { idleFor: 1_000 }).wait('j1', 'default', 1, ['default']).build(),
      launches: [],
      terminations: ['i-big:yield'],
      accounts: { j1: 'FREEING i-big/terminating' },
      ces: { big: { desired: 2, statusReason: /^desiredvCpus capped at 2 .*; minvCpus not kept \(0 of 2 vCPUs\): the host's capacity goes to waiting work of queue default \(priority 1\) first$/ } },
    },
    {
      name: 'stall 1, next pass: the job claims what the terminating instance gives back, and nothing more is terminated',
      snapshot: farm(2).ce('big', { min: 64, max: 64 }).ce('default', { max: 2 }).instance('i-big', 'big', { state: 'TERMINATING' }).wait('j1', 'default', 1, ['default']).build(),
      launches: [],
      terminations: [],
      accounts: { j1: 'FREEING i-big/terminating' },
    },
    {
      name: 'stall 1, once the host is free: one launch for the job, and the floor waits for the host',
      snapshot: farm(2).ce('big', { min: 64, max: 64 }).ce('default', { max: 2 }).wait('j1', 'default', 1, ['default']).wait('j2', 'default', 1, ['default']).build(),
      launches: ['default:c5.large:demand'],
      accounts: { j1: 'LAUNCHING i-new1/launched', j2: 'LAUNCHING i-new1/launched' },
      ces: { big: { statusReason: /minvCpus not kept \(0 of 2 vCPUs\): the host's capacity goes to waiting work of queue default \(priority 1\) first/ }, default: { desired: 2, statusReason: /^ComputeEnvironment Healthy$/ } },
    },
    {
      name: 'an idle instance above its CE\'s minvCpus gives way at once, before its scale-down delay',
      snapshot: farm(2).ce('a', { max: 2 }).ce('b', { max: 2 }).instance('i-a', 'a', { idleFor: 1_000 }).wait('j1', 'qb', 1, ['b']).build(),
      terminations: ['i-a:yield'],
      accounts: { j1: 'FREEING i-a/terminating' },
    },
    {
      name: 'priorities across CEs: a higher-priority job drains the busy instance of lower-priority work; nothing is stopped',
      snapshot: farm(2).ce('low', { max: 2 }).ce('high', { max: 2 }).instance('i-low', 'low', { jobs: 2, work: ['lowq', 1] }).wait('h1', 'highq', 10, ['high']).wait('l3', 'lowq', 1, ['low']).build(),
      launches: [],
      terminations: [],
      draining: ['i-low'],
      accounts: { h1: 'DRAINING i-low/draining', l3: 'CE_MAX i-low/draining' },
    },
    {
      name: 'the drained instance, idle at last, gives way',
      snapshot: farm(2).ce('low', { max: 2 }).ce('high', { max: 2 }).instance('i-low', 'low', { draining: true, idleFor: 10 }).wait('h1', 'highq', 10, ['high']).wait('l3', 'lowq', 1, ['low']).build(),
      terminations: ['i-low:yield'],
      draining: [],
      accounts: { h1: 'FREEING i-low/terminating' },
    },
    {
      name: 'work of equal standing that comes first is not drained for: the job waits for it',
      snapshot: farm(2).ce('a', { max: 2 }).ce('b', { max: 2 }).instance('i-a', 'a', { jobs: 2, work: ['qa', 5] }).wait('a2', 'qa', 5, ['a']).wait('b1', 'qb', 5, ['b']).build(),
      draining: [],
      accounts: { b1: 'BUSY i-a/running' },
    },
    {
      name: 'no thrash: an instance booting for lower-priority work is not taken by another CE\'s higher-priority job',
      snapshot: farm(2).ce('low', { max: 2 }).ce('high', { max: 2 }).instance('i-low', 'low', { state: 'PENDING', launchedAgo: 1_000 }).wait('h1', 'highq', 10, ['high']).wait('l1', 'lowq', 1, ['low']).build(),
      launches: [],
      terminations: [],
      accounts: { h1: 'BUSY i-low/booting', l1: 'LAUNCHING i-low/booting' },
    },
    {
      name: 'stall 2: a gang of two 1-vCPU, 4096-MiB nodes gets one instance that holds both (m5.large), once',
      snapshot: farm(2, 24_105).ce('A', { max: 2 }).ce('B', { max: 2 }).wait('gang', 'qa', 1, ['A'], 0, 0, [[1, 4096], [1, 4096]]).wait('b1', 'qb', 1, ['B']).build(),
      launches: ['A:m5.large:demand'],
      accounts: { gang: 'LAUNCHING i-new1/launched', b1: 'BUSY i-new1/launched' },
    },
    {
      name: 'stall 2, next pass: the booting instance is the gang\'s; the other CE waits without taking it',
      snapshot: farm(2, 24_105).ce('A', { max: 2 }).ce('B', { max: 2 }).instance('i-A', 'A', { state: 'PENDING', mem: 8192, launchedAgo: 500 }).wait('gang', 'qa', 1, ['A'], 0, 0, [[1, 4096], [1, 4096]]).wait('b1', 'qb', 1, ['B']).build(),
      launches: [],
      terminations: [],
      accounts: { gang: 'LAUNCHING i-A/booting', b1: 'BUSY i-A/booting' },
    },
    {
      name: 'a gang spans instances: two nodes of 2 vCPUs on c5.large get two of them',
      snapshot: farm(8).ce('A', { max: 8, types: ['c5'] }).wait('gang', 'q', 1, ['A'], 0, 0, [[2, 1024], [2, 1024]]).build(),
      launches: ['A:c5.large:demand', 'A:c5.large:demand'],
    },
    {
      name: 'several waiting jobs share what one launch brings',
      snapshot: farm(8, 32_768).ce('A', { max: 8, types: ['c5.xlarge'] }).wait('j1', 'q', 1, ['A']).wait('j2', 'q', 1, ['A']).wait('j3', 'q', 1, ['A']).wait('j4', 'q', 1, ['A']).wait('j5', 'q', 1, ['A']).build(),
      launches: ['A:c5.xlarge:demand', 'A:c5.xlarge:demand'],
      accounts: { j4: 'LAUNCHING i-new1/launched', j5: 'LAUNCHING i-new2/launched' },
    },
    {
      name: 'a CE at maxvCpus with busy instances: its jobs wait for them',
      snapshot: farm(8).ce('A', { max: 2 }).instance('i-1', 'A', { jobs: 2, work: ['q', 1] }).wait('j1', 'q', 1, ['A']).build(),
      launches: [],
      accounts: { j1: 'CE_MAX i-1/running' },
    },
    {
      name: 'the next CE of the queue launches when the first is at maxvCpus',
      snapshot: farm(8).ce('A', { max: 2 }).ce('B', { max: 4 }).instance('i-1', 'A', { jobs: 2 }).wait('j1', 'q', 1, ['A', 'B']).build(),
      launches: ['B:c5.large:demand'],
    },
    {
      name: 'an idle instance too small for its own CE\'s waiting job gives way to a larger one',
      snapshot: farm(4, 16_384).ce('A', { max: 4 }).instance('i-small', 'A', { idleFor: 1_000 }).wait('big', 'q', 1, ['A'], 4, 1024).build(),
      terminations: ['i-small:yield'],
      accounts: { big: 'FREEING i-small/terminating' },
    },
    {
      name: 'launches held back after a failed bootstrap: the job says until when',
      snapshot: farm(2).ce('A', { max: 2, heldUntil: NOW + 5_000 }).wait('j1', 'q', 1, ['A']).build(),
      launches: [],
      accounts: { j1: 'HELD_BACK' },
    },
    {
      name: 'idle past the scale-down delay: terminated, never below minvCpus',
      snapshot: farm(8).ce('A', { min: 2, max: 8 }).instance('i-old', 'A', { idleFor: 120_000, launchedAgo: 900_000 }).instance('i-new', 'A', { idleFor: 120_000, launchedAgo: 300_000 }).build(),
      terminations: ['i-new:idle'],
    },
    {
      name: 'an idle instance of a DISABLED CE goes at once; a busy one finishes its jobs',
      snapshot: farm(8).ce('A', { max: 8, enabled: false }).instance('i-idle', 'A').instance('i-busy', 'A', { jobs: 1 }).build(),
      terminations: ['i-idle:ce_disabled'],
    },
    {
      name: 'Fargate: one task per job, sized to it; a booting task is claimed by a job of its size',
      snapshot: farm(4).ce('F', { max: 4, fargate: true }).instance('t-1', 'F', { state: 'PENDING', vcpus: 1, mem: 2048, oneJob: true }).wait('j1', 'q', 1, ['F'], 1, 2048).wait('j2', 'q', 1, ['F'], 0.5, 1024).build(),
      launches: ['F:fargate:demand'],
      accounts: { j1: 'LAUNCHING t-1/booting', j2: 'LAUNCHING i-new1/launched' },
    },
    {
      name: 'floors are kept by priority: the higher CE\'s minvCpus takes the host, the other says why it is not kept',
      snapshot: farm(2).ce('lo', { min: 2, max: 2, priority: 1 }).ce('hi', { min: 2, max: 2, priority: 9 }).build(),
      launches: ['hi:c5.large:minvCpus'],
      ces: { lo: { statusReason: /^minvCpus not kept \(0 of 2 vCPUs\): the host's capacity is in use by compute environment hi$/ } },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const plan = planScaling(c.snapshot);
      if (c.launches) assert.deepEqual(launches(plan), c.launches, 'launches');
      if (c.terminations) assert.deepEqual(terminations(plan), c.terminations, 'terminations');
      if (c.draining) assert.deepEqual(plan.draining, c.draining, 'draining');
      for (const [job, want] of Object.entries(c.accounts ?? {})) assert.equal(account(plan, job), want, `account of ${job}`);
      for (const [ce, want] of Object.entries(c.ces ?? {})) {
        const got = plan.ces.find((x) => x.name === ce)!;
        if (want.desired !== undefined) assert.equal(got.desiredvCpus, want.desired, `desiredvCpus of ${ce}`);
        if (want.statusReason) assert.match(got.statusReason, want.statusReason, `statusReason of ${ce}`);
      }
    });
  }
});

describe('planScaling: invariants over random farms', () => {
  const arbFarm = fc
    .record({
      host: fc.integer({ min: 1, max: 16 }),
      ces: fc.array(
        fc.record({ min: fc.integer({ min: 0, max: 8 }), max: fc.integer({ min: 1, max: 16 }), priority: fc.integer({ min: 0, max: 3 }), types: fc.constantFrom(['optimal'], ['c5'], ['m5.large'], ['c5.large', 'r5.xlarge']) }),
        { minLength: 1, maxLength: 3 },
      ),
      instances: fc.array(
        fc.record({ ce: fc.nat(2), vcpus: fc.constantFrom(1, 2, 4), jobs: fc.nat(2), state: fc.constantFrom('PENDING', 'LAUNCHING', 'ACTIVE', 'ACTIVE', 'TERMINATING'), idleFor: fc.integer({ min: 0, max: 200_000 }), draining: fc.boolean() }),
        { maxLength: 5 },
      ),
      demand: fc.array(
        fc.record({ ces: fc.uniqueArray(fc.nat(2), { minLength: 1, maxLength: 2 }), priority: fc.integer({ min: 0, max: 3 }), vcpus: fc.constantFrom(0.5, 1, 2, 3), nodes: fc.option(fc.integer({ min: 2, max: 3 }), { nil: undefined }) }),
        { maxLength: 8 },
      ),
    })
    .map((r) => {
      const b = farm(r.host, r.host * 4096);
      r.ces.forEach((c, i) => b.ce(`ce${i}`, { min: Math.min(c.min, Math.max(c.max, 1)), max: Math.max(c.max, 1), priority: c.priority, types: [...c.types] }));
      const name = (i: number) => `ce${i % r.ces.length}`;
      // The host was never promised more than it has.
      let used = 0;
      r.instances.forEach((inst, n) => {
        if (used + inst.vcpus > r.host) return;
        used += inst.vcpus;
        const busy = inst.state === 'PENDING' || inst.state === 'TERMINATING' ? 0 : inst.jobs;
        const state = inst.state as ScalingInstance['state'];
        b.instance(`i${n}`, name(inst.ce), { vcpus: inst.vcpus, mem: inst.vcpus * 2048, state, jobs: busy, idleFor: inst.idleFor, draining: inst.draining && state === 'ACTIVE', work: busy ? ['q', 1] : undefined });
      });
      const sorted = [...r.demand].sort((a, b2) => b2.priority - a.priority);
      sorted.forEach((d, n) =>
        b.wait(`j${n}`, `q${d.priority}`, d.priority, [...new Set(d.ces.map(name))], d.vcpus, 512, d.nodes ? Array.from({ length: d.nodes }, () => [1, 1024] as [number, number]) : undefined),
      );
      return b.build();
    });

  test('never plans beyond the host', () => {
    fc.assert(
      fc.property(arbFarm, (s) => {
        const plan = planScaling(s);
        const held = s.instances.filter((i) => i.here).reduce((n, i) => n + i.size.vcpus, 0);
        const mem = s.instances.filter((i) => i.here).reduce((n, i) => n + i.size.memoryMiB, 0);
        const launched = plan.launches.reduce((n, l) => n + l.capacity.vcpus, 0);
        const launchedMem = plan.launches.reduce((n, l) => n + l.capacity.memoryMiB, 0);
        assert.ok(held + launched <= s.host.vcpus + 1e-9, `${held} + ${launched} vCPUs on a host of ${s.host.vcpus}`);
        assert.ok(mem + launchedMem <= s.host.memoryMiB, 'memory');
        for (const ce of s.ces) {
          const mine = s.instances.filter((i) => i.ceName === ce.name && i.state !== 'TERMINATING' && !plan.terminations.some((t) => t.instanceId === i.id)).reduce((n, i) => n + i.size.vcpus, 0);
          const more = plan.launches.filter((l) => l.ceName === ce.name).reduce((n, l) => n + l.capacity.vcpus, 0);
          if (more > 0) assert.ok(mine + more <= ce.maxvCpus + 1e-9, `${ce.name} beyond maxvCpus`);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('every launch for demand is for a waiting job, and no job is launched for twice', () => {
    fc.assert(
      fc.property(arbFarm, (s) => {
        const plan = planScaling(s);
        for (const l of plan.launches.filter((x) => x.why === 'demand')) assert.ok(l.forJobs.length > 0, `launch ${l.instanceId} for nobody`);
        // A job whose capacity is launching has all it needs: the next pass, on the launched instances, launches nothing for it.
        const launching = [...plan.accounts].filter(([, a]) => a.waitFor === 'LAUNCHING').map(([j]) => j);
        const again = planScaling(applied(s, plan), () => 'i-again');
        for (const l of again.launches.filter((x) => x.why === 'demand')) assert.ok(l.forJobs.some((j) => !launching.includes(j)), `${l.instanceId} launched for ${l.forJobs.join(', ')}, whose capacity was launching`);
      }),
      { numRuns: 500 },
    );
  });

  test('never stops a busy instance, nor terminates one it launched for demand that still waits, in the next pass either', () => {
    fc.assert(
      fc.property(arbFarm, fc.integer({ min: 0, max: 3 }), (s, priority) => {
        const plan = planScaling(s);
        for (const t of plan.terminations) assert.equal(s.instances.find((i) => i.id === t.instanceId)!.jobs, 0, `terminated busy ${t.instanceId}`);
        // Next pass: the same work waits, and work of another CE, of any priority, comes first.
        const after = applied(s, plan);
        after.demand = [{ jobId: 'newcomer', queue: 'other', priority, ceNames: [s.ces[s.ces.length - 1].name], need: { vcpus: 1, memoryMiB: 512, gpus: 0 } }, ...after.demand];
        const next = planScaling(after, () => 'i-next');
        const launchedForDemand = new Set(plan.launches.filter((l) => l.why === 'demand').map((l) => l.instanceId));
        for (const t of next.terminations) assert.ok(!launchedForDemand.has(t.instanceId), `${t.instanceId} launched for waiting work, then terminated: ${t.reason}`);
      }),
      { numRuns: 500 },
    );
  });

  test('every job waiting in a local CE has an account', () => {
    fc.assert(
      fc.property(arbFarm, (s) => {
        const plan = planScaling(s);
        for (const d of s.demand) assert.ok(plan.accounts.has(d.jobId), d.jobId);
      }),
      { numRuns: 300 },
    );
  });
});

/** The farm after a plan is carried out: launches booting, terminations under way, drains marked. */
function applied(s: ScalingSnapshot, plan: ScalingPlan): ScalingSnapshot {
  const gone = new Set(plan.terminations.map((t) => t.instanceId));
  const instances: ScalingInstance[] = s.instances.map((i) =>
    gone.has(i.id) ? { ...i, state: 'TERMINATING' as const } : { ...i, draining: plan.draining.includes(i.id), heldFor: plan.claims.get(i.id) },
  );
  for (const l of plan.launches) {
    instances.push({ id: l.instanceId, ceName: l.ceName, state: 'PENDING', size: l.capacity, free: l.capacity, jobs: 0, here: true, launchedAt: s.now, oneJob: l.type === 'fargate', heldFor: plan.claims.get(l.instanceId) });
  }
  return { ...s, now: s.now + 1_000, instances };
}
