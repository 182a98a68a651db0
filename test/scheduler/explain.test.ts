/**
 * What `why` says in each waiting situation: a table of facts (as why.ts reads them — the
 * account the pass recorded, the instances it names and what runs there) with the exact
 * reason, hint and estimate each gives; then that an estimate never slides forward.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Holder } from '../../src/compute/planScaling.js';
import { explainPending, explainStarting, explainWait, type CeFacts, type Explanation, type InstanceFacts, type RunningFacts, type WaitFacts } from '../../src/scheduler/explain.js';

const NOW = Date.UTC(2026, 11, 8, 12, 0, 0);
const S = 1000;

/** Fluent facts: facts('q', 1).ce('default').holder('FREEING', …).instance(…).build() */
function facts(queue = 'q', priority = 1) {
  const f: WaitFacts = { now: NOW, code: 'NO_CAPACITY', need: { vcpus: 1, memoryMiB: 256, gpus: 0 }, queue: { name: queue, priority }, position: 1, positionBy: 'pass', ces: [], instances: new Map(), hostVcpus: 2 };
  const b = {
    code(code: string) {
      f.code = code;
      return b;
    },
    ce(name: string, o: Partial<CeFacts> = {}) {
      f.ces.push({ name, enabled: true, kind: 'EC2', maxvCpus: 2, largest: { vcpus: 2, memoryMiB: 24_105, gpus: 0 }, instances: 0, vcpus: 0, usedVcpus: 0, ...o });
      return b;
    },
    account(waitFor: string, ceName: string, holders: Holder[], more: { until?: number; reason?: string } = {}) {
      f.detail = { waitFor, ceName, holders, ...more } as WaitFacts['detail'];
      return b;
    },
    instance(id: string, ceName: string, o: Partial<InstanceFacts> & { jobs?: Partial<RunningFacts>[] } = {}) {
      const running = (o.jobs ?? []).map((j, n) => ({ jobId: `${id}-job${n}`, queue: 'other', priority: 1, vcpus: 1, since: NOW - 60 * S, ...j }));
      f.instances.set(id, { id, ceName, type: 'c5.large', state: 'ACTIVE', vcpus: 2, launchedAt: NOW - 120 * S, running, ...o });
      return b;
    },
    with(more: Partial<WaitFacts>) {
      Object.assign(f, more);
      return b;
    },
    build: () => f,
  };
  return b;
}

const holder = (instanceId: string, ceName: string, role: Holder['role'], more: Partial<Holder> = {}): Holder => ({ instanceId, ceName, vcpus: 2, memoryMiB: 4096, role, ...more });

describe('why: the waiting situations, and what each says', () => {
  const cases: { name: string; facts: WaitFacts; summary: string; hint?: string; eta?: { at: number; basis: string } | RegExp }[] = [
    {
      name: "stall 1: the host's cores kept for another CE's minvCpus give way; the job says so, not '0 of 0 vCPUs'",
      facts: facts('default-q')
        .ce('default')
        .ce('big', { minvCpus: 64 })
        .account('FREEING', 'default', [holder('i-big', 'big', 'terminating')])
        .instance('i-big', 'big', { state: 'TERMINATING' })
        .build(),
      summary: "room is being made for it: CE big's instance i-big (c5.large, 2 vCPUs), terminating; CE default launches for it once that capacity is back",
      hint: "idle instances kept for another CE's minvCpus give way to waiting work; that CE gets them back when the host is free",
      eta: /cannot be estimated until the capacity is back/,
    },
    {
      name: 'capacity launching for it: the estimate is its launch plus how long boots took lately',
      facts: facts('default-q')
        .ce('default')
        .account('LAUNCHING', 'default', [holder('i-new', 'default', 'launched', { for: { jobId: 'j1', queue: 'default-q', priority: 1 } })])
        .instance('i-new', 'default', { state: 'PENDING', launchedAt: NOW - 2 * S })
        .with({ typicalBootMs: 600 })
        .build(),
      summary: "capacity is launching for it: CE default's instance i-new (c5.large, 2 vCPUs) for job j1 of queue default-q (priority 1), launched 2.0 s ago, booting",
      eta: { at: NOW - 2 * S + 600, basis: 'launch' },
    },
    {
      name: 'capacity launching, no boot seen lately: it says it cannot estimate',
      facts: facts().ce('default').account('LAUNCHING', 'default', [holder('i-new', 'default', 'booting')]).instance('i-new', 'default', { state: 'PENDING', launchedAt: NOW - 1 * S }).build(),
      summary: "capacity is launching for it: CE default's instance i-new (c5.large, 2 vCPUs), launched 1.0 s ago, booting",
      eta: /no instance has booted here lately/,
    },
    {
      name: 'priorities across CEs: lower-priority work is drained for it; the estimate is when that work ends, then a boot',
      facts: facts('high-q', 10)
        .ce('high')
        .ce('low')
        .account('DRAINING', 'high', [holder('i-low', 'low', 'draining')])
        .instance('i-low', 'low', { jobs: [{ queue: 'low-q', priority: 1, since: NOW - 30 * S, expectedEnd: NOW + 30 * S, endBasis: 'history' }, { queue: 'low-q', priority: 1, since: NOW - 10 * S, expectedEnd: NOW + 50 * S, endBasis: 'history' }] })
        .with({ typicalBootMs: 1_000 })
        .build(),
      summary: "the host's 2 vCPUs are held by lower-priority work: CE low's busy instance i-low (c5.large, 2 vCPUs, running 2 jobs of queue low-q (priority 1)), which takes no new work; it finishes its jobs and gives way to this one",
      eta: { at: NOW + 50 * S + 1_000, basis: 'running' },
    },
    {
      name: 'the host busy with work ahead of it: named instance by instance, the estimate from their ends and the jobs ahead',
      facts: facts('q', 1)
        .ce('a')
        .account('BUSY', 'a', [holder('i-1', 'b', 'running')])
        .instance('i-1', 'b', { jobs: [{ queue: 'hi', priority: 10, vcpus: 2, since: NOW - 10 * S, expectedEnd: NOW + 20 * S, endBasis: 'history' }] })
        .with({ position: 2, typicalRunMs: 40 * S })
        .build(),
      summary: "the host's 2 vCPUs are held by work ahead of it: CE b's busy instance i-1 (c5.large, 2 vCPUs, running 1 job of queue hi (priority 10)); 1 job ahead of it in queue q",
      hint: 'work of equal or higher priority comes first; a higher priority for its queue, or more vCPUs for the host (hostVcpus), would start it sooner',
      // i-1 frees at +20 s; the job ahead takes it (1 vCPU) and the other vCPU is this job's.
      eta: { at: NOW + 20 * S, basis: 'running' },
    },
    {
      name: 'a running job with no timeout and no history: the estimate is refused, naming it',
      facts: facts().ce('a').account('BUSY', 'a', [holder('i-1', 'a', 'running')]).instance('i-1', 'a', { jobs: [{ jobId: 'long', queue: 'q', since: NOW - 240 * S }] }).build(),
      summary: "the host's 2 vCPUs are held by work ahead of it: CE a's busy instance i-1 (c5.large, 2 vCPUs, running 1 job of queue q (priority 1))",
      hint: 'work of equal or higher priority comes first; a higher priority for its queue, or more vCPUs for the host (hostVcpus), would start it sooner',
      eta: /cannot be estimated: job long \(queue q\) has run 4 min with no attempt timeout/,
    },
    {
      name: 'its CE at maxvCpus: the instances and what they run; by a timeout at the latest',
      facts: facts('render')
        .ce('render', { maxvCpus: 1 })
        .account('CE_MAX', 'render', [holder('i-r', 'render', 'running', { vcpus: 1 })])
        .instance('i-r', 'render', { vcpus: 1, jobs: [{ queue: 'render', since: NOW - 5 * S, expectedEnd: NOW + 55 * S, endBasis: 'timeout' }] })
        .build(),
      summary: "CE render is at its maxvCpus 1: CE render's busy instance i-r (c5.large, 1 vCPU, running 1 job of queue render (priority 1))",
      hint: "raise CE render's maxvCpus to run more of its jobs at once",
      eta: { at: NOW + 55 * S, basis: 'running' },
    },
    {
      name: 'launches held back after a failed bootstrap: until when, and the failure',
      facts: facts().ce('t').account('HELD_BACK', 't', [], { until: NOW + 10 * S }).with({ bootstrapFailure: 'bootstrap failed: exit code 3: no povray', typicalBootMs: 500 }).build(),
      summary: "CE t's launches are held back until 2026-12-08T12:00:10.000Z: its last instance's bootstrap failed: exit code 3: no povray",
      hint: "fix the CE's launch template; openbatch instances --all --ce t shows each failure (held back 5 s, doubling up to 5 min)",
      eta: { at: NOW + 10 * S + 500, basis: 'launch' },
    },
    {
      name: 'instances held: no sandbox on this host',
      facts: facts().ce('g').account('HELD_BACK', 'g', [holder('i-h', 'g', 'booting')], { reason: 'the job sandbox cannot be used here: bubblewrap (bwrap) is not installed' }).instance('i-h', 'g', { state: 'PENDING', launchedAt: NOW - 3 * S }).build(),
      summary: "CE g starts nothing, its instances held: the job sandbox cannot be used here: bubblewrap (bwrap) is not installed (CE g's instance i-h (c5.large, 2 vCPUs), launched 3.0 s ago, booting)",
      hint: 'install what the reason names, or opt the compute environment out (tag openbatch:sandbox=off) knowing its jobs then run unsandboxed',
      eta: /nothing starts here until the sandbox works/,
    },
    {
      name: "fair share: its queue's computeReservation holds it back",
      facts: facts('fs').ce('a').with({ detail: { waitFor: 'RESERVED' }, queue: { name: 'fs', priority: 1, fairShare: { computeReservation: 50 } }, position: 3 }).build(),
      summary: "held back by its queue's fair-share policy: computeReservation 50 keeps part of its compute environments' vCPUs for shares not yet active; 2 jobs ahead of it in queue fs",
      hint: "it starts as running jobs of its queue end, or lower the policy's computeReservation",
    },
    {
      name: 'stall 2: a gang no instance type holds within maxvCpus never fits, and says what to change',
      facts: facts().code('NEVER_FITS').ce('C', { largest: { vcpus: 2, memoryMiB: 4096, gpus: 0 } }).with({ need: { vcpus: 1, memoryMiB: 4096, gpus: 0 }, nodes: 2 }).build(),
      summary: "never fits: asks 1 vCPU, 4096 MiB per node × 2 nodes, more than its queue's compute environments can ever have (CE C: largest instance 2 vCPU, 4096 MiB, 0 GPU, maxvCpus 2)",
      hint: 'a multi-node job needs instances of one type that hold all its nodes within maxvCpus (and this host): allow larger instanceTypes, raise maxvCpus, or ask less per node',
    },
    {
      name: 'no enabled compute environment',
      facts: facts().code('NO_ENABLED_CE').ce('off', { enabled: false }).build(),
      summary: 'no enabled compute environment: off is disabled or invalid',
      hint: 'enable one: aws batch update-compute-environment --compute-environment off --state ENABLED',
    },
    {
      name: 'consumables',
      facts: facts().code('NO_CONSUMABLE').ce('a').with({ consumables: [{ name: 'license', needed: 2, available: 0, total: 4 }] }).build(),
      summary: 'blocked by consumable license (needs 2, 0 available)',
      hint: "it starts when running jobs give the units back; more instances would not help (or raise the resource's totalQuantity)",
    },
    {
      name: 'consumables: more units than the resource has in all (a NON_REPLENISHABLE one used up, or a total too low) never come back',
      facts: facts().code('NO_CONSUMABLE').ce('a').with({ consumables: [{ name: 'license', needed: 5, available: 2, total: 2 }] }).build(),
      summary: 'blocked by consumable license (needs 5, its totalQuantity is 2): it cannot start until that changes',
      hint: 'raise the resource\'s totalQuantity (aws batch update-consumable-resource --consumable-resource license --operation SET --quantity 5), or cancel the job',
    },
    {
      name: 'a drained farm',
      facts: facts().code('DRAINING').ce('a').build(),
      summary: 'the farm is being drained (openbatch drain): no job starts',
      hint: 'openbatch drain --resume lets jobs start again',
    },
    {
      name: 'queued beyond what a pass looks at',
      facts: facts().code('QUEUED').ce('a').with({ position: 301, positionBy: 'submission' }).build(),
      summary: 'queued: 300 jobs ahead of it in queue q, more than a scheduler pass looks at; it is looked at once they are placed',
      eta: /beyond what the last pass looked at/,
    },
    {
      name: 'capacity that joins from outside, with no agent: where to start one',
      facts: facts().ce('machines', { kind: 'UNMANAGED', maxvCpus: undefined, largest: null }).build(),
      summary: 'waiting for capacity: CE machines has no instance: its capacity is whatever agents join it; needs 1 vCPU, 256 MiB',
      hint: 'start an agent on a machine: openbatch agent --server URL --ce machines',
    },
    {
      name: 'on a server that does not run the scheduler: the leader\'s account, said as such',
      facts: facts().ce('a').account('LAUNCHING', 'a', [holder('i-x', 'a', 'booting')]).instance('i-x', 'a', { state: 'PENDING', launchedAt: NOW - 4 * S }).with({ follower: true, hostVcpus: undefined, typicalBootMs: 1_000 }).build(),
      summary: "capacity is launching for it (as the leader recorded it: this server does not run the scheduler): CE a's instance i-x (c5.large, 2 vCPUs), launched 4.0 s ago, booting",
      eta: { at: NOW - 4 * S + 1_000, basis: 'launch' },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const e: Explanation = explainWait(c.facts);
      assert.equal(e.summary, c.summary);
      assert.equal(e.hint, c.hint);
      if (c.eta instanceof RegExp) {
        assert.equal(e.eta, undefined);
        assert.match(e.noEta ?? '', c.eta);
      } else if (c.eta) assert.deepEqual({ at: e.eta?.at, basis: e.eta?.basis }, c.eta, e.noEta);
    });
  }

  test('dependencies: the ones still unfinished, and which to ask about next', () => {
    const e = explainPending({ queue: 'q', dependencies: [{ jobId: 'a', status: 'RUNNING' }, { jobId: 'b', status: 'RUNNABLE' }] });
    assert.equal(e.summary, 'waiting on 2 dependencies: a (RUNNING), b (RUNNABLE)');
    assert.equal(e.hint, 'it becomes RUNNABLE when they all succeed (and fails if one fails); openbatch why b says why that one waits');
    assert.equal(explainPending({ queue: 'q', dependencies: [], array: { size: 10, finished: 4 } }).summary, 'array job: 4 of 10 children finished; it ends when the last one does');
  });
});

describe('why: a STARTING job', () => {
  const inst = (running: Partial<RunningFacts>[], state = 'ACTIVE'): InstanceFacts => ({
    id: 'i-1',
    ceName: 'a',
    type: 'c5.large',
    state,
    vcpus: 2,
    launchedAt: NOW - 60 * S,
    running: running.map((r, n) => ({ jobId: `r${n}`, queue: 'q', priority: 1, vcpus: 1, since: NOW - 10 * S, status: 'RUNNING', ...r })),
  });

  test('queued on its agent behind running jobs: the agent starts it when room frees, and the estimate says when', () => {
    const e = explainStarting({
      now: NOW,
      jobId: 'me',
      vcpus: 1,
      placedAt: NOW - 1 * S,
      instance: inst([{ expectedEnd: NOW + 5 * S, endBasis: 'history' }, { expectedEnd: NOW + 9 * S, endBasis: 'history' }, { jobId: 'before', status: 'STARTING', since: NOW - 2 * S }, { jobId: 'me', status: 'STARTING', since: NOW - 1 * S }]),
      typicalRunMs: 4 * S,
    });
    assert.equal(e.summary, 'queued on instance i-1 (c5.large, 2 vCPUs) behind 2 running jobs and 1 job queued before it: its agent starts it the moment room frees there');
    assert.match(e.hint ?? '', /openbatch:prefetch=0/);
    // r0 ends at +5 s (the job queued before takes its vCPU), r1 at +9 s: this one's.
    assert.deepEqual({ at: e.eta?.at, basis: e.eta?.basis }, { at: NOW + 9 * S, basis: 'running' });
  });

  test('on an instance with room: its process is starting; on one still launching: it says so', () => {
    assert.equal(explainStarting({ now: NOW, jobId: 'me', vcpus: 1, placedAt: NOW, instance: inst([{ expectedEnd: NOW + 5 * S }]) }).summary, 'placed on instance i-1; its process is starting');
    assert.equal(explainStarting({ now: NOW, jobId: 'me', vcpus: 1, placedAt: NOW, instance: inst([], 'LAUNCHING') }).summary, 'placed on instance i-1, which is still launching');
  });

  test('stall 3: terminated before its agent took it: it ends at the next poll, and gives its capacity back', () => {
    const e = explainStarting({ now: NOW, jobId: 'me', vcpus: 2, placedAt: NOW, instance: inst([{ expectedEnd: NOW + 5 * S }]), terminateReason: 'not needed' });
    assert.equal(e.summary, "terminated while STARTING on instance i-1: it ends FAILED ('not needed') when the instance's agent next polls, and its capacity comes back then");
  });
});

describe('why: an estimate does not slide', () => {
  test('asked again later, the same facts give the same time (and say when it is overdue)', () => {
    const at = (now: number) =>
      explainWait({
        ...facts()
          .ce('a')
          .account('CE_MAX', 'a', [holder('i-1', 'a', 'running')])
          .instance('i-1', 'a', { jobs: [{ queue: 'q', vcpus: 2, since: NOW - 10 * S, expectedEnd: NOW + 20 * S, endBasis: 'history' }] })
          .build(),
        now,
      }).eta!;
    assert.equal(at(NOW).at, NOW + 20 * S);
    assert.equal(at(NOW + 15 * S).at, NOW + 20 * S);
    assert.match(at(NOW + 25 * S).detail, /overdue/);
    assert.equal(at(NOW + 25 * S).at, NOW + 20 * S);
  });
});
