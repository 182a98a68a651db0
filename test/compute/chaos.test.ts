/**
 * Agent-loss and slow-start chaos as plain functions of the configuration, elapsed time and
 * a fixed random source (Spot chaos: instanceTypes.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeChaos, type ChaosConfig } from '../../src/compute/chaos.js';

const OFF: ChaosConfig = { spotInterruptionsPerHour: 0, spotNoticeSeconds: 120, agentLossesPerHour: 0, slowStartProbability: 0, slowStartSeconds: 120, timeDilation: 1 };

describe('agent-loss chaos', () => {
  test('no agent is lost at rate 0, whatever the draw', () => {
    const chaos = makeChaos(OFF, () => 0);
    assert.deepEqual(chaos.agentLosses(['i-1', 'i-2'], 3_600_000), []);
  });

  test('each agent is lost with the probability its rate gives over the elapsed (dilated) time', () => {
    // 2/h over one dilated hour (one minute at ×60): p = 1 - e^-2 ≈ 0.865
    const draws = [0.8, 0.9, 0.1];
    const chaos = makeChaos({ ...OFF, agentLossesPerHour: 2, timeDilation: 60 }, () => draws.shift()!);
    assert.deepEqual(chaos.agentLosses(['i-1', 'i-2', 'i-3'], 60_000), ['i-1', 'i-3']);
  });

  test('agent losses draw nothing from Spot chaos and the reverse', () => {
    let draws = 0;
    const chaos = makeChaos({ ...OFF, agentLossesPerHour: 1 }, () => (draws++, 0));
    assert.deepEqual(chaos.spotInterruptions(['i-1'], 3_600_000), []);
    assert.equal(draws, 0);
    assert.deepEqual(chaos.agentLosses(['i-1'], 3_600_000), ['i-1']);
    assert.equal(draws, 1);
  });
});

describe('slow-start chaos', () => {
  test('off by default: every instance boots on time', () => {
    assert.equal(makeChaos(OFF, () => 0).slowStartMs(), 0);
  });

  test('an instance starts slowStartSeconds late (dilated) with the configured probability', () => {
    const draws = [0.2, 0.3];
    const chaos = makeChaos({ ...OFF, slowStartProbability: 0.25, slowStartSeconds: 300, timeDilation: 60 }, () => draws.shift()!);
    assert.equal(chaos.slowStartMs(), 5_000);
    assert.equal(chaos.slowStartMs(), 0);
  });
});
