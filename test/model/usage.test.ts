import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ADVICE_RULE, adviseRightSizing, fargateSizeFor, memorySizeFor, percentile, type AdviceCode, type Asks, type RunUsage } from '../../src/model/usage.js';

/** `n` runs of `seconds` each, using `vcpus` on average and peaking at `mib`. */
function runs(n: number, vcpus: number, mib: number, seconds = 100): RunUsage[] {
  return Array.from({ length: n }, () => ({ cpuSeconds: vcpus * seconds, runSeconds: seconds, peakMemoryMiB: mib }));
}

const ec2 = (vcpus: number, memoryMiB: number): Asks => ({ vcpus, memoryMiB, fargate: false });
const fargate = (vcpus: number, memoryMiB: number): Asks => ({ vcpus, memoryMiB, fargate: true });

interface Case {
  name: string;
  asks: Asks;
  runs: RunUsage[];
  code: AdviceCode;
  suggest?: { vcpus: number; memoryMiB: number };
  summary?: string;
}

const CASES: Case[] = [
  {
    name: "the issue's example: far more than it uses, on EC2",
    asks: ec2(4, 8192),
    // 190 runs at 1.0 vCPU / 400 MiB and 10 larger ones: the p95 is the 190th of 200.
    runs: [...runs(189, 1.0, 400), ...runs(1, 1.3, 610), ...runs(10, 3.9, 8000)],
    code: 'OVERSIZED',
    suggest: { vcpus: 2, memoryMiB: 1024 },
    summary: 'asks 4 vCPU / 8,192 MiB; used at most 1.3 vCPU / 610 MiB (p95 over 200 runs): 2 vCPU / 1,024 MiB would do',
  },
  {
    name: 'the p95, not the maximum: one odd run in twenty does not set the size',
    asks: ec2(2, 4096),
    runs: [...runs(19, 0.5, 700), ...runs(1, 2, 4000)],
    code: 'OVERSIZED',
    suggest: { vcpus: 1, memoryMiB: 1024 },
  },
  {
    name: 'two odd runs in twenty do',
    asks: ec2(2, 4096),
    runs: [...runs(18, 0.5, 700), ...runs(2, 2, 3000)],
    code: 'RIGHT_SIZED',
  },
  {
    name: 'headroom: 25% above the p95, rounded up to the next memory size (820 × 1.25 = 1,025 → 2,048)',
    asks: ec2(1, 4096),
    runs: runs(10, 0.9, 820),
    code: 'OVERSIZED',
    suggest: { vcpus: 1, memoryMiB: 2048 },
  },
  {
    name: 'vCPUs alone oversized: memory kept as asked rather than grown',
    asks: ec2(8, 2048),
    runs: runs(30, 1.5, 1700),
    code: 'OVERSIZED',
    suggest: { vcpus: 2, memoryMiB: 2048 },
  },
  {
    name: 'an EC2 job never gets less than one vCPU',
    asks: ec2(1, 2048),
    runs: runs(10, 0.05, 1500),
    code: 'RIGHT_SIZED',
  },
  {
    name: 'memory near the limit (90% or more of what is asked): keep it',
    asks: ec2(4, 1024),
    runs: runs(50, 0.3, 950),
    code: 'NEAR_LIMIT',
    summary: 'asks 4 vCPU / 1,024 MiB; used at most 0.3 vCPU / 950 MiB (p95 over 50 runs): 93% of its memory, near the limit: keep it or give more',
  },
  {
    name: 'a run out of memory: more, never less, however small the others were',
    asks: ec2(2, 4096),
    runs: [...runs(30, 0.2, 100), { runSeconds: 10, outOfMemory: true }],
    code: 'OUT_OF_MEMORY',
    summary: 'asks 2 vCPU / 4,096 MiB; 1 of its last 31 runs ran out of memory: give it more memory, not less',
  },
  {
    name: `fewer than ${ADVICE_RULE.minRuns} measured runs: no advice yet`,
    asks: ec2(4, 8192),
    runs: [...runs(9, 0.1, 10), { runSeconds: 5 }],
    code: 'TOO_FEW_RUNS',
    summary: 'asks 4 vCPU / 8,192 MiB; 9 measured runs so far: advice after 10',
  },
  {
    name: `only the latest ${ADVICE_RULE.window} runs count (newest first)`,
    asks: ec2(4, 8192),
    runs: [...runs(200, 3.8, 6000), ...runs(300, 0.1, 10)],
    code: 'RIGHT_SIZED',
  },
  {
    name: 'Fargate: the smallest pair Fargate runs that holds both figures',
    asks: fargate(4, 16384),
    runs: runs(20, 0.7, 2500),
    code: 'OVERSIZED',
    suggest: { vcpus: 1, memoryMiB: 4096 },
  },
  {
    name: "Fargate: a quarter vCPU's smallest memory",
    asks: fargate(1, 2048),
    runs: runs(20, 0.1, 80),
    code: 'OVERSIZED',
    suggest: { vcpus: 0.25, memoryMiB: 512 },
    summary: 'asks 1 vCPU / 2,048 MiB; used at most 0.1 vCPU / 80 MiB (p95 over 20 runs): 0.25 vCPU / 512 MiB would do',
  },
  {
    name: 'memory measured, CPU not: vCPUs stay as asked',
    asks: ec2(2, 8192),
    runs: Array.from({ length: 12 }, () => ({ runSeconds: 60, peakMemoryMiB: 300 })),
    code: 'OVERSIZED',
    suggest: { vcpus: 2, memoryMiB: 512 },
    summary: 'asks 2 vCPU / 8,192 MiB; used at most ? vCPU / 300 MiB (p95 over 12 runs): 2 vCPU / 512 MiB would do',
  },
];

describe('right-sizing advice', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const a = adviseRightSizing(c.asks, c.runs);
      assert.equal(a.code, c.code, a.summary);
      assert.deepEqual(a.suggest, c.suggest, a.summary);
      if (c.summary) assert.equal(a.summary, c.summary);
    });
  }

  test('the nearest-rank percentile', () => {
    assert.equal(percentile([], 95), undefined);
    assert.equal(percentile([5], 95), 5);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95), 10);
    assert.equal(percentile(Array.from({ length: 100 }, (_, i) => 100 - i), 95), 95);
  });

  test('memory sizes: the sizes Fargate takes, then multiples of 8 GiB', () => {
    assert.deepEqual([1, 512, 513, 1025, 2049, 30721, 61441, 122881, 130000].map(memorySizeFor), [512, 512, 1024, 2048, 3072, 32768, 65536, 131072, 131072]);
  });

  test("Fargate pairs, and none beyond Fargate's largest", () => {
    assert.deepEqual(fargateSizeFor(0.3, 100), { vcpus: 0.5, memoryMiB: 1024 });
    assert.deepEqual(fargateSizeFor(0.1, 3000), { vcpus: 0.5, memoryMiB: 3072 });
    assert.deepEqual(fargateSizeFor(3, 9000), { vcpus: 4, memoryMiB: 9216 });
    assert.equal(fargateSizeFor(17, 1024), undefined);
    assert.equal(fargateSizeFor(1, 200_000), undefined);
  });
});
