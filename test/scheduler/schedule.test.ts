/**
 * schedule() on plain snapshots: the rules as a table of cases, then its invariants as
 * properties over random workloads (fast-check).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { fits } from '../../src/model/resources.js';
import { schedule, type JobView, type Snapshot } from '../../src/scheduler/schedule.js';

/** Fluent snapshot builder: snap().ce('a', 4).instance('i1', 'a', 2).queue('q', 10, ['a']).job('q', 'j1', 1) */
function snap() {
  const s: Snapshot = { queues: [], ces: [], instances: [] };
  let seq = 0;
  const b = {
    ce(name: string, largestVcpus: number | null, enabled = true) {
      s.ces.push({ name, enabled, largest: largestVcpus === null ? null : { vcpus: largestVcpus, memoryMiB: 1 << 20, gpus: 0 } });
      return b;
    },
    instance(id: string, ceName: string, vcpus: number, memoryMiB = 1 << 16) {
      s.instances.push({ id, ceName, free: { vcpus, memoryMiB, gpus: 0 } });
      return b;
    },
    queue(name: string, priority: number, ceOrder: string[]) {
      s.queues.push({ name, priority, ceOrder, head: [] });
      return b;
    },
    job(queue: string, id: string, vcpus: number, memoryMiB = 1) {
      s.queues.find((q) => q.name === queue)!.head.push({ id, seq: ++seq, vcpus, memoryMiB, gpus: 0 });
      return b;
    },
    build: () => s,
  };
  return b;
}

describe('schedule: the rules', () => {
  const cases: { name: string; snapshot: Snapshot; placed: string[]; waiting?: Record<string, string> }[] = [
    {
      name: 'jobs of a higher-priority queue are placed first',
      snapshot: snap().ce('a', 4).instance('i1', 'a', 1).queue('low', 1, ['a']).queue('high', 9, ['a']).job('low', 'l1', 1).job('high', 'h1', 1).build(),
      placed: ['h1'],
      waiting: { l1: 'NO_CAPACITY' },
    },
    {
      name: 'within a queue, jobs are placed in submission order',
      snapshot: snap().ce('a', 4).instance('i1', 'a', 2).queue('q', 1, ['a']).job('q', 'j1', 1).job('q', 'j2', 1).job('q', 'j3', 1).build(),
      placed: ['j1', 'j2'],
      waiting: { j3: 'NO_CAPACITY' },
    },
    {
      name: 'compute environments are tried in computeEnvironmentOrder',
      snapshot: snap().ce('first', 4).ce('second', 4).instance('i2', 'second', 4).instance('i1', 'first', 1).queue('q', 1, ['first', 'second']).job('q', 'j1', 1).job('q', 'j2', 1).build(),
      placed: ['j1@i1', 'j2@i2'],
    },
    {
      name: 'a job larger than any instance of its CEs never fits',
      snapshot: snap().ce('a', 2).instance('i1', 'a', 2).queue('q', 1, ['a']).job('q', 'big', 4).build(),
      placed: [],
      waiting: { big: 'NEVER_FITS' },
    },
    {
      name: 'a queue whose CEs are all disabled places nothing',
      snapshot: snap().ce('a', 2, false).instance('i1', 'a', 2).queue('q', 1, ['a']).job('q', 'j', 1).build(),
      placed: [],
      waiting: { j: 'NO_ENABLED_CE' },
    },
    {
      name: 'a big job waiting does not stop a smaller one behind it (backfill)',
      snapshot: snap().ce('a', 4).instance('i1', 'a', 2).queue('q', 1, ['a']).job('q', 'big', 4).job('q', 'small', 1).build(),
      placed: ['small'],
      waiting: { big: 'NO_CAPACITY' },
    },
    {
      name: 'best fit: the tightest instance is chosen',
      snapshot: snap().ce('a', 8).instance('roomy', 'a', 8).instance('tight', 'a', 2).queue('q', 1, ['a']).job('q', 'j', 2).build(),
      placed: ['j@tight'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const plan = schedule(c.snapshot);
      const placedIds = plan.placements.map((p) => (c.placed.some((x) => x.includes('@')) ? `${p.jobId}@${p.instanceId}` : p.jobId));
      assert.deepEqual(placedIds, c.placed);
      for (const [job, code] of Object.entries(c.waiting ?? {})) assert.equal(plan.waiting.find((w) => w.jobId === job)?.code, code, job);
    });
  }

  test('a farm being drained places nothing, every job waits DRAINING, and no capacity is asked for', () => {
    const s = snap().ce('a', 4).instance('i1', 'a', 4).queue('q', 1, ['a']).queue('r', 2, ['a']).job('q', 'j1', 1).job('r', 'j2', 2).job('q', 'big', 8).build();
    s.draining = true;
    const plan = schedule(s);
    assert.deepEqual(plan.placements, []);
    assert.deepEqual(plan.demand, []);
    assert.deepEqual(plan.waiting.map((w) => `${w.jobId}:${w.code}`).sort(), ['big:DRAINING', 'j1:DRAINING', 'j2:DRAINING']);
  });

  test('fair share: the share furthest below its weighted share goes first, and placements count against it', () => {
    const s = snap().ce('a', 8).instance('i1', 'a', 4).queue('fs', 1, ['a']).build();
    const job = (id: string) => ({ id, seq: 0, vcpus: 1, memoryMiB: 1, gpus: 0 });
    s.queues[0].shares = [
      { id: 'light', weight: 3, usage: 1, head: [job('l1'), job('l2')] },
      { id: 'heavy', weight: 1, usage: 1, head: [job('h1'), job('h2'), job('h3'), job('h4')] },
    ];
    // keys (usage + placed) × weight: heavy 1, 2, 3 (ties go by name) then 4 > light's 3
    const plan = schedule(s);
    assert.deepEqual(plan.placements.map((p) => p.jobId), ['h1', 'h2', 'h3', 'l1']);
  });

  test('an instance that queues work on its agent takes jobs beyond its free capacity, up to its room, after free capacity elsewhere', () => {
    // i1 (2 vCPUs, full) queues up to 2 more; i2 has 1 vCPU free and no queue.
    const s = snap().ce('a', 4).instance('i1', 'a', 0).instance('i2', 'a', 1).queue('q', 1, ['a']).build();
    s.instances[0].queue = { room: 2, size: { vcpus: 2, memoryMiB: 1 << 16, gpus: 0 } };
    for (const [id, vcpus] of [['j1', 1], ['big', 3], ['j2', 1], ['j3', 2], ['j4', 1]] as const) s.queues[0].head.push({ id, seq: 0, vcpus, memoryMiB: 1, gpus: 0 });
    const plan = schedule(s);
    // j1 takes i2's free vCPU; big fits no instance's whole size; j2 and j3 fill i1's queue; j4 finds no room left
    assert.deepEqual(
      plan.placements.map((p) => `${p.jobId}@${p.instanceId}`),
      ['j1@i2', 'j2@i1', 'j3@i1'],
    );
    assert.equal(plan.waiting.find((w) => w.jobId === 'big')?.code, 'NO_CAPACITY');
    assert.equal(plan.waiting.find((w) => w.jobId === 'j4')?.code, 'NO_CAPACITY');
    // queued placements add no demand; the two jobs left waiting do
    assert.deepEqual(plan.demand.map((d) => d.jobId), ['big', 'j4']);
  });

  test('placements on free capacity use up an instance\'s queue room too, and gangs are never queued', () => {
    const s = snap().ce('a', 4).instance('i1', 'a', 2).queue('q', 1, ['a']).build();
    s.instances[0].queue = { room: 2, size: { vcpus: 2, memoryMiB: 1 << 16, gpus: 0 } };
    const unit = { vcpus: 1, memoryMiB: 1, gpus: 0 };
    s.queues[0].head.push({ id: 'gang', seq: 0, vcpus: 4, memoryMiB: 2, gpus: 0, nodes: [unit, unit, unit, unit] });
    for (const id of ['j1', 'j2', 'j3']) s.queues[0].head.push({ id, seq: 0, ...unit });
    // j1 and j2 run at once and are STARTING until they do: the room of 2 is spent, j3 waits
    assert.deepEqual(schedule(s).placements.map((p) => p.jobId), ['j1', 'j2']);
  });

  describe('work queued on an agent and not yet started (step 9)', () => {
    /** i1: 2 vCPUs, full, queueing up to 2 (the queued jobs the test lists count as room); `queued` jobs of 1 vCPU wait on its agent */
    const full = (queues: [string, number][]) => {
      const b = snap().ce('a', 4).instance('i1', 'a', -4);
      for (const [q, priority] of queues) b.queue(q, priority, ['a']);
      const s = b.build();
      s.instances[0].queue = { room: 2, size: { vcpus: 2, memoryMiB: 1 << 16, gpus: 0 } };
      return s;
    };
    const queued = (s: Snapshot, queue: string, id: string, seq: number) => s.queues.find((q) => q.name === queue)!.head.push({ id, seq, vcpus: 1, memoryMiB: 1, gpus: 0, queuedOn: 'i1' });
    const runnable = (s: Snapshot, queue: string, id: string, seq: number) => s.queues.find((q) => q.name === queue)!.head.push({ id, seq, vcpus: 1, memoryMiB: 1, gpus: 0 });

    test('a job of a higher-priority queue takes the queued work of a lower one back, which it goes ahead of', () => {
      const s = full([['low', 1], ['high', 9]]);
      queued(s, 'low', 'l1', 1);
      queued(s, 'low', 'l2', 2);
      runnable(s, 'high', 'h1', 3);
      const plan = schedule(s);
      assert.deepEqual(plan.placements.map((p) => `${p.jobId}@${p.instanceId}`), ['h1@i1']);
      assert.deepEqual(plan.withdrawals, [{ jobId: 'l1', instanceId: 'i1' }, { jobId: 'l2', instanceId: 'i1' }]);
    });

    test('queued work stays where it is ahead of later jobs of its own queue, and of a lower-priority or equal-priority queue', () => {
      const s = full([['q', 5], ['low', 1], ['peer', 5]]);
      queued(s, 'q', 'q1', 1);
      runnable(s, 'q', 'q2', 4);
      runnable(s, 'low', 'l1', 2);
      runnable(s, 'peer', 'p1', 3);
      const plan = schedule(s);
      assert.deepEqual(plan.withdrawals, []);
      // peer sorts before q by name at equal priority: it takes a place first, q1 keeps the other
      assert.deepEqual(plan.placements.map((p) => p.jobId), ['p1']);
      assert.equal(plan.waiting.find((w) => w.jobId === 'q2')?.code, 'NO_CAPACITY');
    });

    test('a job earlier in its own queue (a retry, with its old place) goes ahead of that queue\'s later queued work', () => {
      const s = full([['q', 1]]);
      runnable(s, 'q', 'retried', 1);
      queued(s, 'q', 'later', 2);
      const plan = schedule(s);
      assert.deepEqual(plan.placements.map((p) => p.jobId), ['retried']);
      assert.deepEqual(plan.withdrawals.map((w) => w.jobId), ['later']);
    });

    test('fair share: a share below its share takes back the queued work of a share above it', () => {
      const s = full([['fs', 1]]);
      s.queues[0].shares = [
        { id: 'busy', weight: 1, usage: 4, head: [{ id: 'b1', seq: 1, vcpus: 1, memoryMiB: 1, gpus: 0, queuedOn: 'i1' }] },
        { id: 'idle', weight: 1, usage: 0, head: [{ id: 'i1job', seq: 2, vcpus: 1, memoryMiB: 1, gpus: 0 }] },
      ];
      const plan = schedule(s);
      assert.deepEqual(plan.placements.map((p) => p.jobId), ['i1job']);
      assert.deepEqual(plan.withdrawals.map((w) => w.jobId), ['b1']);
    });

    test('an instance whose automatic queue is stale (its jobs overran) keeps nothing queued: its queued work is taken back, and nothing more is queued there', () => {
      const s = full([['q', 1]]);
      queued(s, 'q', 'q1', 1);
      runnable(s, 'q', 'q2', 2);
      s.instances[0].stale = true;
      s.instances[0].queue = undefined;
      const plan = schedule(s);
      assert.deepEqual(plan.withdrawals.map((w) => w.jobId), ['q1']);
      assert.deepEqual(plan.placements, []);
      // it waits for capacity, and asks for it: another instance may take it
      assert.deepEqual(plan.waiting.map((w) => `${w.jobId}:${w.code}`), ['q2:NO_CAPACITY']);
      assert.deepEqual(plan.demand.map((d) => d.jobId), ['q2']);
    });

    test('a farm being drained takes back every queued job', () => {
      const s = full([['q', 1]]);
      queued(s, 'q', 'q1', 1);
      runnable(s, 'q', 'q2', 2);
      s.draining = true;
      const plan = schedule(s);
      assert.deepEqual(plan.withdrawals.map((w) => w.jobId), ['q1']);
      assert.deepEqual(plan.waiting.map((w) => `${w.jobId}:${w.code}`), ['q2:DRAINING']);
    });
  });

  test('a queue vCPU cap (computeReservation) holds back placements beyond it, and asks for no capacity', () => {
    const s = snap().ce('a', 8).instance('i1', 'a', 8).queue('q', 1, ['a']).job('q', 'j1', 2).job('q', 'j2', 2).build();
    s.queues[0].vcpuCap = 3;
    const plan = schedule(s);
    assert.deepEqual(plan.placements.map((p) => p.jobId), ['j1']);
    assert.deepEqual(plan.demand, [], 'more instances would not start j2');
  });

  test('unmet demand names, in the order jobs were considered, the CEs that could hold each job', () => {
    const plan = schedule(snap().ce('small', 1).ce('large', 8).ce('huge', 16).queue('lo', 1, ['small', 'large', 'huge']).queue('hi', 9, ['huge']).job('lo', 'j', 4).job('hi', 'h', 2).build());
    assert.deepEqual(
      plan.demand.map((d) => [d.jobId, d.queue, d.priority, d.ceNames, d.need.vcpus]),
      [
        ['h', 'hi', 9, ['huge'], 2],
        ['j', 'lo', 1, ['large', 'huge'], 4],
      ],
    );
  });

  test('a draining instance takes no new work, not even queued work', () => {
    const s = snap().ce('a', 4).instance('i1', 'a', 2).instance('i2', 'a', 1).queue('q', 1, ['a']).job('q', 'j1', 1).job('q', 'j2', 1).build();
    s.instances[0].draining = true;
    s.instances[0].queue = { room: 4, size: { vcpus: 2, memoryMiB: 1 << 16, gpus: 0 } };
    const plan = schedule(s);
    assert.deepEqual(plan.placements.map((p) => `${p.jobId}@${p.instanceId}`), ['j1@i2']);
    assert.deepEqual(plan.waiting, [{ jobId: 'j2', code: 'NO_CAPACITY' }]);
  });

  test('what a CE could ever launch decides NEVER_FITS: a gang whose nodes pack into no instances of one shape within the room', () => {
    // optimal within maxvCpus 2 on a host of 2: c5.large (2 vCPU, 4096 MiB) holds one 4096-MiB node; m5.large holds both.
    const withShapes = (shapes: [number, number][]) => {
      const s = snap().ce('a', 2).queue('q', 1, ['a']).build();
      s.ces[0].launchable = { shapes: shapes.map(([vcpus, memoryMiB]) => ({ vcpus, memoryMiB, gpus: 0 })), room: { vcpus: 2, memoryMiB: 24_105, gpus: 0 } };
      const node = { vcpus: 1, memoryMiB: 4096, gpus: 0 };
      s.queues[0].head.push({ id: 'gang', seq: 1, vcpus: 2, memoryMiB: 8192, gpus: 0, nodes: [node, node] });
      return schedule(s).waiting[0].code;
    };
    assert.equal(withShapes([[2, 4096], [2, 8192], [2, 16_384]]), 'NO_CAPACITY');
    assert.equal(withShapes([[2, 4096]]), 'NEVER_FITS', 'two c5.large would need 4 vCPUs');
  });
});

describe('schedule: invariants over random workloads', () => {
  const arbSnapshot = fc
    .record({
      ces: fc.array(fc.record({ enabled: fc.boolean(), largest: fc.option(fc.integer({ min: 1, max: 16 }), { nil: null }) }), { minLength: 1, maxLength: 3 }),
      instances: fc.array(fc.record({ ce: fc.nat(2), vcpus: fc.integer({ min: 0, max: 16 }), mem: fc.integer({ min: 0, max: 8192 }) }), { maxLength: 6 }),
      queues: fc.array(
        fc.record({
          priority: fc.integer({ min: 0, max: 5 }),
          ces: fc.uniqueArray(fc.nat(2), { minLength: 1, maxLength: 3 }),
          jobs: fc.array(fc.record({ vcpus: fc.integer({ min: 1, max: 8 }), mem: fc.integer({ min: 1, max: 4096 }) }), { maxLength: 20 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    })
    .map((r): Snapshot => {
      const ceName = (i: number) => `ce${i % r.ces.length}`;
      let seq = 0;
      return {
        ces: r.ces.map((c, i) => ({ name: `ce${i}`, enabled: c.enabled, largest: c.largest === null ? null : { vcpus: c.largest, memoryMiB: 1 << 20, gpus: 0 } })),
        instances: r.instances.map((i, n) => ({ id: `i${n}`, ceName: ceName(i.ce), free: { vcpus: i.vcpus, memoryMiB: i.mem, gpus: 0 } })),
        queues: r.queues.map((q, n) => ({
          name: `q${n}`,
          priority: q.priority,
          ceOrder: [...new Set(q.ces.map(ceName))],
          head: q.jobs.map((j, k) => ({ id: `q${n}j${k}`, seq: ++seq, vcpus: j.vcpus, memoryMiB: j.mem, gpus: 0 })),
        })),
      };
    });

  test('never overcommits an instance, never places a job twice, only on enabled CEs of its queue', () => {
    fc.assert(
      fc.property(arbSnapshot, (s) => {
        const plan = schedule(s);
        const seen = new Set<string>();
        const used = new Map<string, { vcpus: number; memoryMiB: number }>();
        const jobs = new Map(s.queues.flatMap((q) => q.head.map((j) => [j.id, { job: j, queue: q }] as const)));
        for (const p of plan.placements) {
          assert.ok(!seen.has(p.jobId), 'placed twice');
          seen.add(p.jobId);
          const { job, queue } = jobs.get(p.jobId)!;
          const inst = s.instances.find((i) => i.id === p.instanceId)!;
          assert.equal(inst.ceName, p.ceName);
          assert.ok(queue.ceOrder.includes(p.ceName), 'placed on a CE outside its queue');
          assert.ok(s.ces.find((c) => c.name === p.ceName)!.enabled, 'placed on a disabled CE');
          const u = used.get(inst.id) ?? { vcpus: 0, memoryMiB: 0 };
          u.vcpus += job.vcpus;
          u.memoryMiB += job.memoryMiB;
          used.set(inst.id, u);
          assert.ok(fits({ ...u, gpus: 0 }, inst.free), 'instance overcommitted');
        }
        // Every job is either placed or waiting with a reason, never both, never neither.
        for (const id of jobs.keys()) assert.equal(Number(seen.has(id)) + plan.waiting.filter((w) => w.jobId === id).length, 1, id);
      }),
      { numRuns: 500 },
    );
  });

  test('a job left waiting for capacity could not have fit any instance left free', () => {
    fc.assert(
      fc.property(arbSnapshot, (s) => {
        const plan = schedule(s);
        const free = new Map(s.instances.map((i) => [i.id, { ...i.free }]));
        for (const p of plan.placements) {
          const job = s.queues.flatMap((q) => q.head).find((j) => j.id === p.jobId)!;
          const f = free.get(p.instanceId)!;
          f.vcpus -= job.vcpus;
          f.memoryMiB -= job.memoryMiB;
        }
        for (const w of plan.waiting.filter((x) => x.code === 'NO_CAPACITY')) {
          const q = s.queues.find((x) => x.head.some((j) => j.id === w.jobId))!;
          const job = q.head.find((j) => j.id === w.jobId)!;
          const enabled = new Set(q.ceOrder.filter((c) => s.ces.find((x) => x.name === c)!.enabled));
          for (const i of s.instances) if (enabled.has(i.ceName)) assert.ok(!fits(job, free.get(i.id)!), `${w.jobId} could have run on ${i.id}`);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('schedule: multi-node gangs', () => {
  const gang = (id: string, seq: number, nodes: number[]): JobView => ({
    id,
    seq,
    vcpus: nodes.reduce((a, b) => a + b, 0),
    memoryMiB: nodes.length * 64,
    gpus: 0,
    nodes: nodes.map((v) => ({ vcpus: v, memoryMiB: 64, gpus: 0 })),
  });
  const base = (): Snapshot => ({
    ces: [{ name: 'a', enabled: true, largest: { vcpus: 4, memoryMiB: 1 << 20, gpus: 0 }, maxVcpus: 8 }],
    instances: [
      { id: 'i1', ceName: 'a', free: { vcpus: 2, memoryMiB: 4096, gpus: 0 } },
      { id: 'i2', ceName: 'a', free: { vcpus: 2, memoryMiB: 4096, gpus: 0 } },
    ],
    queues: [{ name: 'q', priority: 1, ceOrder: ['a'], head: [] }],
  });

  test('a gang spreads over the instances of one CE, each node placed once', () => {
    const s = base();
    s.queues[0].head = [gang('g', 1, [1, 1, 2])];
    const plan = schedule(s);
    assert.deepEqual(plan.placements.map((p) => p.nodeIndex).sort(), [0, 1, 2]);
    assert.equal(new Set(plan.placements.map((p) => p.instanceId)).size, 2);
  });

  test('a gang that does not fit whole holds nothing: a later job takes the capacity', () => {
    const s = base();
    s.queues[0].head = [gang('g', 1, [2, 2, 1]), { id: 'small', seq: 2, vcpus: 2, memoryMiB: 64, gpus: 0 }];
    const plan = schedule(s);
    assert.deepEqual(plan.placements.map((p) => p.jobId), ['small']);
    assert.deepEqual(plan.waiting, [{ jobId: 'g', code: 'NO_CAPACITY' }]);
    assert.deepEqual(plan.demand[0].nodes?.map((n) => n.vcpus), [2, 2, 1], 'what is launched for the gang must hold each of its nodes');
  });

  test('a gang whose node exceeds the largest instance, or whose total exceeds maxvCpus, never fits', () => {
    const s = base();
    s.queues[0].head = [gang('wide', 1, [5]), gang('many', 2, [4, 4, 4])];
    assert.deepEqual(schedule(s).waiting.map((w) => w.code), ['NEVER_FITS', 'NEVER_FITS']);
  });

  const arbGangSnapshot = fc
    .record({
      ces: fc.array(fc.record({ enabled: fc.boolean(), largest: fc.integer({ min: 1, max: 8 }) }), { minLength: 1, maxLength: 3 }),
      instances: fc.array(fc.record({ ce: fc.nat(2), vcpus: fc.integer({ min: 0, max: 8 }), mem: fc.integer({ min: 0, max: 4096 }) }), { maxLength: 8 }),
      queues: fc.array(
        fc.record({
          priority: fc.integer({ min: 0, max: 3 }),
          ces: fc.uniqueArray(fc.nat(2), { minLength: 1, maxLength: 3 }),
          jobs: fc.array(
            fc.record({
              nodes: fc.option(fc.array(fc.record({ vcpus: fc.integer({ min: 1, max: 4 }), mem: fc.integer({ min: 1, max: 2048 }) }), { minLength: 1, maxLength: 5 }), { nil: undefined }),
              vcpus: fc.integer({ min: 1, max: 4 }),
              mem: fc.integer({ min: 1, max: 2048 }),
            }),
            { maxLength: 12 },
          ),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    })
    .map((r): Snapshot => {
      const ceName = (i: number) => `ce${i % r.ces.length}`;
      let seq = 0;
      return {
        ces: r.ces.map((c, i) => ({ name: `ce${i}`, enabled: c.enabled, largest: { vcpus: c.largest, memoryMiB: 1 << 20, gpus: 0 } })),
        instances: r.instances.map((i, n) => ({ id: `i${n}`, ceName: ceName(i.ce), free: { vcpus: i.vcpus, memoryMiB: i.mem, gpus: 0 } })),
        queues: r.queues.map((q, n) => ({
          name: `q${n}`,
          priority: q.priority,
          ceOrder: [...new Set(q.ces.map(ceName))],
          head: q.jobs.map((j, k) =>
            j.nodes
              ? {
                  id: `q${n}j${k}`,
                  seq: ++seq,
                  vcpus: j.nodes.reduce((a, x) => a + x.vcpus, 0),
                  memoryMiB: j.nodes.reduce((a, x) => a + x.mem, 0),
                  gpus: 0,
                  nodes: j.nodes.map((x) => ({ vcpus: x.vcpus, memoryMiB: x.mem, gpus: 0 })),
                }
              : { id: `q${n}j${k}`, seq: ++seq, vcpus: j.vcpus, memoryMiB: j.mem, gpus: 0 },
          ),
        })),
      };
    });

  test('a gang is placed whole or not at all, in one enabled CE of its queue, and never overcommits', () => {
    fc.assert(
      fc.property(arbGangSnapshot, (s) => {
        const plan = schedule(s);
        const jobs = new Map(s.queues.flatMap((q) => q.head.map((j) => [j.id, { job: j, queue: q }] as const)));
        const used = new Map<string, { vcpus: number; memoryMiB: number }>();
        const byJob = new Map<string, typeof plan.placements>();
        for (const p of plan.placements) (byJob.get(p.jobId) ?? byJob.set(p.jobId, []).get(p.jobId)!).push(p);
        for (const [id, ps] of byJob) {
          const { job, queue } = jobs.get(id)!;
          if (job.nodes) {
            assert.deepEqual(ps.map((p) => p.nodeIndex).sort((a, b) => a! - b!), job.nodes.map((_, i) => i), `gang ${id} placed partially`);
            assert.equal(new Set(ps.map((p) => p.ceName)).size, 1, `gang ${id} split over CEs`);
          } else {
            assert.equal(ps.length, 1, `${id} placed twice`);
          }
          for (const p of ps) {
            assert.ok(queue.ceOrder.includes(p.ceName) && s.ces.find((c) => c.name === p.ceName)!.enabled);
            const unit = p.nodeIndex === undefined ? job : job.nodes![p.nodeIndex];
            const inst = s.instances.find((i) => i.id === p.instanceId)!;
            const u = used.get(inst.id) ?? { vcpus: 0, memoryMiB: 0 };
            u.vcpus += unit.vcpus;
            u.memoryMiB += unit.memoryMiB;
            used.set(inst.id, u);
            assert.ok(fits({ ...u, gpus: 0 }, inst.free), 'instance overcommitted');
          }
        }
        for (const id of jobs.keys()) assert.equal(Number(byJob.has(id)) + plan.waiting.filter((w) => w.jobId === id).length, 1, id);
      }),
      { numRuns: 500 },
    );
  });
});
