/**
 * scheduler/queueDepth.ts: how deep an agent's queue is when openbatch chooses it — about
 * 500 ms of the compute environment's recent jobs per instance, none for long jobs or before
 * any job ended, never more than 16 per vCPU.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { autoDepth, overran } from '../../src/scheduler/queueDepth.js';

const ran = (meanMs: number, meanVcpus = 1) => ({ jobs: 10, meanMs, meanVcpus });

test('an agent queues about 500 ms of its compute environment\'s recent jobs', () => {
  assert.equal(autoDepth(2, ran(100)), 10);
  assert.equal(autoDepth(4, ran(50, 2)), 20);
});

test('jobs longer than half a second per slot, and a compute environment none of whose jobs ended lately, get no queue', () => {
  assert.equal(autoDepth(2, ran(1_001)), 0);
  assert.equal(autoDepth(2, ran(60_000)), 0);
  assert.equal(autoDepth(2, undefined), 0);
});

test('the queue of very short jobs is at most 16 per vCPU', () => {
  assert.equal(autoDepth(2, ran(1)), 32);
  assert.equal(autoDepth(2, ran(0)), 32);
});

test('a queue behind jobs that overran what the compute environment\'s jobs take is stale: nothing started there for longer than their mean plus 500 ms', () => {
  const now = 100_000;
  // jobs of 100 ms lately: the latest start 550 ms ago is on time, 650 ms ago it overran
  assert.equal(overran(ran(100), now - 550, now), false);
  assert.equal(overran(ran(100), now - 650, now), true);
  // none ended lately: 500 ms alone
  assert.equal(overran(undefined, now - 499, now), false);
  assert.equal(overran(undefined, now - 501, now), true);
  // nothing runs there: nothing to wait behind
  assert.equal(overran(ran(100), null, now), false);
});
