/**
 * The control plane's half of the agent lease (compute/agentLease.ts), on a fake clock: an
 * agent is declared lost only after its lease and a margin, and never for time the control
 * plane itself was not looking.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentSilence, leaseTimes, lostAgents } from '../../src/compute/agentLease.js';

test('the margin covers the heartbeat write interval and the agent stopping its attempts', () => {
  for (const seconds of [1, 3, 10, 30, 120]) {
    const t = leaseTimes(seconds);
    assert.equal(t.leaseMs, seconds * 1000);
    assert.ok(t.lostAfterMs >= t.leaseMs + t.heartbeatWriteMs + 3_000, `${seconds} s: lost after ${t.lostAfterMs} ms`);
    // Polls are answered well within the lease, so an idle agent's lease never runs out.
    assert.ok(t.pollWaitMs <= t.leaseMs / 3);
  }
});

test('an agent is lost only after its lease and margin, counted from its heartbeat or from when the control plane started looking', () => {
  const t = leaseTimes(30);
  const L = t.lostAfterMs;
  const start = 1_000_000;
  const cases: { name: string; heartbeat: number; at: number; lost: boolean }[] = [
    { name: 'heard just now', heartbeat: start + 5_000, at: start + 6_000, lost: false },
    { name: 'silent for exactly the margin', heartbeat: start + 5_000, at: start + 5_000 + L, lost: false },
    { name: 'silent for longer', heartbeat: start + 5_000, at: start + 5_001 + L, lost: true },
    // Heard last long before this control plane started: the grace runs from its start.
    { name: 'silent since before the start, within the grace', heartbeat: start - 600_000, at: start + L, lost: false },
    { name: 'silent since before the start, after the grace', heartbeat: start - 600_000, at: start + L + 1, lost: true },
  ];
  for (const c of cases) {
    const s = new AgentSilence(t, start);
    // Rounds every second up to `at`, as the scheduler loop runs them.
    for (let now = start; now <= c.at; now += 1_000) s.look(now);
    s.look(c.at);
    assert.equal(s.lost(c.heartbeat, c.at), c.lost, c.name);
  }
});

test('a control plane that could not look for a while (paused, database down) gives every agent its grace again', () => {
  const t = leaseTimes(10);
  const s = new AgentSilence(t, 0);
  s.look(1_000);
  // Paused for a minute: agents could not reach it either.
  s.look(61_000);
  assert.equal(s.graceSince, 61_000);
  assert.equal(s.lost(0, 61_000 + t.lostAfterMs), false);
  assert.equal(s.lost(0, 61_001 + t.lostAfterMs), true);
  // Rounds a second apart do not.
  s.look(62_000);
  assert.equal(s.graceSince, 61_000);
});

test('the agents found lost: booted and silent past the margin, never one still booting or ending at a Spot notice', () => {
  const t = leaseTimes(30);
  const start = 1_000_000;
  // Looking all along (no stall that would restart the grace).
  const silence = new AgentSilence(t, start, Infinity);
  const now = start + t.lostAfterMs + 10_000;
  silence.look(now);
  const quiet = start;
  const heard = now - 1_000;
  const cases: { name: string; state: string; interrupt_at?: number; heartbeat: number; lost: boolean }[] = [
    { name: 'ACTIVE, silent', state: 'ACTIVE', heartbeat: quiet, lost: true },
    { name: 'LAUNCHING, silent (its agent never came up)', state: 'LAUNCHING', heartbeat: quiet, lost: true },
    { name: 'IMPAIRED, silent', state: 'IMPAIRED', heartbeat: quiet, lost: true },
    { name: 'TERMINATING on its own, silent', state: 'TERMINATING', heartbeat: quiet, lost: true },
    { name: 'TERMINATING at a Spot notice, silent', state: 'TERMINATING', interrupt_at: now + 60_000, heartbeat: quiet, lost: false },
    { name: 'PENDING (booting), silent', state: 'PENDING', heartbeat: quiet, lost: false },
    { name: 'TERMINATED', state: 'TERMINATED', heartbeat: quiet, lost: false },
    { name: 'ACTIVE, heard a second ago', state: 'ACTIVE', heartbeat: heard, lost: false },
  ];
  const instances = cases.map((c) => ({ id: c.name, state: c.state, interrupt_at: c.interrupt_at ?? null, last_heartbeat_at: c.heartbeat }));
  const lost = lostAgents(instances, silence, now, 30);
  assert.deepEqual(lost.map((l) => l.inst.id), cases.filter((c) => c.lost).map((c) => c.name));
  assert.equal(lost[0].reason, `agent lost: no heartbeat for ${Math.round((now - quiet) / 1000)} s (agentTimeoutSeconds 30)`);
});
