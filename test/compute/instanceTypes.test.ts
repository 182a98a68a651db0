/**
 * The instance-type catalog, the allocation strategies and Spot chaos, as plain functions:
 * tables of cases.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeChaos } from '../../src/compute/chaos.js';
import { CATALOG, chooseLaunch, expandInstanceTypes, largestCapacity, unknownInstanceType, type AllocationStrategy } from '../../src/compute/instanceTypes.js';

const r = (vcpus: number, memoryMiB: number, gpus = 0) => ({ vcpus, memoryMiB, gpus });
const names = (list: { name: string }[]) => list.map((t) => t.name);
const HOST = r(64, 1 << 20);

describe('the catalog', () => {
  test('types carry AWS-like capacities', () => {
    assert.deepEqual([CATALOG.get('m5.large')!.vcpus, CATALOG.get('m5.large')!.memoryMiB], [2, 8192]);
    assert.deepEqual([CATALOG.get('c5.9xlarge')!.vcpus, CATALOG.get('c5.9xlarge')!.memoryMiB], [36, 73728]);
    assert.deepEqual([CATALOG.get('r5.xlarge')!.vcpus, CATALOG.get('r5.xlarge')!.memoryMiB], [4, 32768]);
    assert.equal(CATALOG.get('g4dn.xlarge')!.gpus, 1);
  });

  test('optimal expands to the c5, m5 and r5 families, smallest first', () => {
    const optimal = expandInstanceTypes(['optimal']);
    assert.deepEqual([...new Set(optimal.map((t) => t.family))].sort(), ['c5', 'm5', 'r5']);
    assert.equal(optimal[0].vcpus, 2);
    assert.ok(optimal.every((t, i) => i === 0 || t.vcpus >= optimal[i - 1].vcpus));
  });

  test('a family expands to its sizes; a type is itself; duplicates collapse', () => {
    assert.deepEqual(names(expandInstanceTypes(['c6g'])).slice(0, 2), ['c6g.medium', 'c6g.large']);
    assert.deepEqual(names(expandInstanceTypes(['m5.large', 'm5.large', 'c5.xlarge'])), ['m5.large', 'c5.xlarge']);
    assert.equal(expandInstanceTypes(['default_arm64'])[0].family.endsWith('g'), true);
  });

  test('unknown entries are explained', () => {
    assert.equal(unknownInstanceType('m5.large'), undefined);
    assert.equal(unknownInstanceType('optimal'), undefined);
    assert.match(unknownInstanceType('m5.medium')!, /not a size of the m5 family/);
    assert.match(unknownInstanceType('z1d')!, /not an instance type openbatch knows/);
  });
});

describe('allocation strategies choose what to launch', () => {
  const optimal = expandInstanceTypes(['optimal']);
  const cases: { name: string; strategy: AllocationStrategy; largest: ReturnType<typeof r>; total: ReturnType<typeof r>; room: ReturnType<typeof r>; type?: string; capped?: boolean }[] = [
    { name: 'BEST_FIT: the smallest type that holds the largest job', strategy: 'BEST_FIT', largest: r(1, 1024), total: r(8, 8192), room: HOST, type: 'c5.large' },
    { name: 'BEST_FIT: memory decides the family', strategy: 'BEST_FIT', largest: r(1, 12_000), total: r(1, 12_000), room: HOST, type: 'r5.large' },
    { name: 'BEST_FIT_PROGRESSIVE: the smallest type that holds all the work', strategy: 'BEST_FIT_PROGRESSIVE', largest: r(1, 1024), total: r(8, 8192), room: HOST, type: 'c5.2xlarge' },
    { name: 'BEST_FIT_PROGRESSIVE: the largest that fits the room when none holds it all', strategy: 'BEST_FIT_PROGRESSIVE', largest: r(1, 1024), total: r(200, 1024), room: r(16, 1 << 20), type: 'r5.4xlarge' },
    { name: 'SPOT_CAPACITY_OPTIMIZED: small instances, so one interruption loses little', strategy: 'SPOT_CAPACITY_OPTIMIZED', largest: r(2, 2048), total: r(32, 32_768), room: HOST, type: 'c5.large' },
    { name: 'SPOT_PRICE_CAPACITY_OPTIMIZED: the cheapest type that holds the job', strategy: 'SPOT_PRICE_CAPACITY_OPTIMIZED', largest: r(2, 6000), total: r(2, 6000), room: HOST, type: 'm5.large' },
    { name: 'a type larger than the room is capped to it, never more', strategy: 'BEST_FIT', largest: r(1, 1024), total: r(1, 1024), room: r(1, 3000), type: 'c5.large', capped: true },
    { name: 'nothing when even the capped type cannot hold the job', strategy: 'BEST_FIT', largest: r(2, 1024), total: r(2, 1024), room: r(1, 1 << 20) },
    { name: 'nothing when no type holds the job', strategy: 'BEST_FIT_PROGRESSIVE', largest: r(1, 900_000), total: r(1, 900_000), room: r(200, 1 << 21) },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const choice = chooseLaunch(optimal, c.strategy, { largestJob: c.largest, total: c.total }, c.room);
      assert.equal(choice?.type.name, c.type);
      if (!choice) return;
      assert.equal(choice.capped, c.capped ?? false);
      assert.ok(choice.capacity.vcpus <= c.room.vcpus && choice.capacity.memoryMiB <= c.room.memoryMiB, 'never more than the room');
      assert.ok(choice.capacity.vcpus >= c.largest.vcpus && choice.capacity.memoryMiB >= c.largest.memoryMiB, 'holds the largest job');
    });
  }

  test('the largest capacity is the allowed types bounded by the host and maxvCpus', () => {
    assert.deepEqual(largestCapacity(expandInstanceTypes(['c5.large', 'c5.xlarge']), r(2, 100_000)), r(2, 8192));
    assert.deepEqual(largestCapacity(expandInstanceTypes(['m5.large']), r(64, 1 << 20)), r(2, 8192));
  });
});

// The other kinds of chaos (compute/chaos.test.ts) off.
const NO_OTHER_CHAOS = { agentLossesPerHour: 0, slowStartProbability: 0, slowStartSeconds: 0 };

describe('Spot chaos', () => {
  test('no interruptions at rate 0', () => {
    const chaos = makeChaos({ ...NO_OTHER_CHAOS, spotInterruptionsPerHour: 0, spotNoticeSeconds: 120, timeDilation: 1 }, () => 0);
    assert.deepEqual(chaos.spotInterruptions(['i-1', 'i-2'], 3_600_000), []);
  });

  test('each instance is interrupted with the probability its rate gives over the elapsed time', () => {
    // rate 1/h over one hour: p = 1 - e^-1 ≈ 0.632
    const draws = [0.5, 0.7];
    const chaos = makeChaos({ ...NO_OTHER_CHAOS, spotInterruptionsPerHour: 1, spotNoticeSeconds: 120, timeDilation: 1 }, () => draws.shift()!);
    assert.deepEqual(chaos.spotInterruptions(['i-1', 'i-2'], 3_600_000), ['i-1']);
  });

  test('time dilation speeds interruptions and shortens the notice', () => {
    const chaos = makeChaos({ ...NO_OTHER_CHAOS, spotInterruptionsPerHour: 1, spotNoticeSeconds: 120, timeDilation: 60 }, () => 0.6);
    assert.deepEqual(chaos.spotInterruptions(['i-1'], 60_000), ['i-1']);
    assert.equal(chaos.spotNoticeMs(), 2_000);
  });
});
