import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hourlyRate, isLostWork, parsePriceTable } from '../../src/model/cost.js';

const table = parsePriceTable({
  currency: 'USD',
  instanceTypes: { 'm5.xlarge': { onDemand: 0.192, spot: 0.08 }, 'c5.large': { onDemand: 0.085 } },
  fargate: { vcpuHour: 0.04, gibHour: 0.004 },
  fargateSpot: { vcpuHour: 0.012, gibHour: 0.0012 },
  default: { vcpuHour: 0.05, gibHour: 0.005, gpuHour: 1 },
});
const m5xl = { vcpus: 4, memoryMiB: 16384, gpus: 0 };

describe('cost: hourly rates', () => {
  test('a priced instance type: the share of the instance reserved (its most used resource) times the price', () => {
    assert.deepEqual(hourlyRate(table, { capacityType: 'EC2', instanceType: 'm5.xlarge', instance: m5xl }, { vcpus: 1, memoryMiB: 2048, gpus: 0 }), { perHour: 0.192 / 4, pricing: 'ondemand:m5.xlarge' });
    // Half the memory with a quarter of the vCPUs: half the instance.
    assert.equal(hourlyRate(table, { capacityType: 'EC2', instanceType: 'm5.xlarge', instance: m5xl }, { vcpus: 1, memoryMiB: 8192, gpus: 0 }).perHour, 0.096);
  });

  test('Spot CEs pay the Spot price where the table has one, else on-demand', () => {
    assert.deepEqual(hourlyRate(table, { capacityType: 'SPOT', instanceType: 'm5.xlarge', instance: m5xl }, m5xl), { perHour: 0.08, pricing: 'spot:m5.xlarge' });
    assert.equal(hourlyRate(table, { capacityType: 'SPOT', instanceType: 'c5.large', instance: { vcpus: 2, memoryMiB: 4096, gpus: 0 } }, { vcpus: 2, memoryMiB: 1, gpus: 0 }).pricing, 'ondemand:c5.large');
  });

  test('Fargate pays per vCPU and GiB; unpriced instances the default rates; no table, no cost', () => {
    assert.equal(hourlyRate(table, { capacityType: 'FARGATE', instanceType: 'fargate', instance: m5xl }, { vcpus: 2, memoryMiB: 4096, gpus: 0 }).perHour, 2 * 0.04 + 4 * 0.004);
    assert.equal(hourlyRate(table, { capacityType: 'FARGATE_SPOT', instanceType: 'fargate', instance: m5xl }, { vcpus: 1, memoryMiB: 1024, gpus: 0 }).pricing, 'fargate-spot');
    assert.deepEqual(hourlyRate(table, { capacityType: 'EC2', instanceType: 'local.2vcpu', instance: m5xl }, { vcpus: 2, memoryMiB: 1024, gpus: 1 }), { perHour: 0.1 + 0.005 + 1, pricing: 'default' });
    assert.deepEqual(hourlyRate(null, { capacityType: 'EC2', instanceType: 'm5.xlarge', instance: m5xl }, m5xl), { perHour: 0, pricing: null });
  });

  test('a bad price table is refused naming the member', () => {
    assert.throws(() => parsePriceTable({ instanceTypes: { 'm5.large': { onDemand: -1 } } }), /prices\.instanceTypes\.m5\.large\.onDemand must be a non-negative number/);
    assert.throws(() => parsePriceTable({ fargat: {} }), /prices\.fargat is not a price setting/);
    assert.throws(() => parsePriceTable({ default: { cpuHour: 1 } }), /prices\.default\.cpuHour is not a rate/);
    assert.equal(parsePriceTable({}), null);
  });

  test('work lost: attempts whose host went away', () => {
    assert.ok(isLostWork('Host EC2 (instance i-0abc) terminated.'));
    assert.ok(!isLostWork('Essential container in task exited'));
  });
});
