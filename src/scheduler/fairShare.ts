/**
 * Fair-share bookkeeping for the scheduler loop: the weight of each share from its policy,
 * and each share's recent usage as an exponentially decayed average of the vCPUs it had
 * running, with shareDecaySeconds as the time constant.
 *
 * Usage lives in memory: after a control-plane restart every share starts even again. That
 * forgets at most one decay window of history, which AWS's own decay forgets anyway.
 */
import type { FairsharePolicy } from '@aws-sdk/client-batch';

/** AWS: a shareDecaySeconds of 0 means a window of this many seconds. */
const DEFAULT_DECAY_SECONDS = 600;

/** The weightFactor of a share under a policy: exact entries first, then the longest `prefix*`, else 1. */
export function weightOf(policy: FairsharePolicy | undefined, share: string): number {
  let best: { len: number; weight: number } | undefined;
  for (const d of policy?.shareDistribution ?? []) {
    const id = d.shareIdentifier ?? '';
    const weight = d.weightFactor ?? 1;
    if (id === share) return weight;
    if (id.endsWith('*') && share.startsWith(id.slice(0, -1)) && (!best || id.length > best.len)) best = { len: id.length, weight };
  }
  return best?.weight ?? 1;
}

/** vCPUs a fair-share queue keeps free for shares that are not active yet: (computeReservation/100)^activeShares of its capacity. */
export function reservedFraction(policy: FairsharePolicy | undefined, activeShares: number): number {
  const r = policy?.computeReservation ?? 0;
  if (r <= 0 || activeShares <= 0) return 0;
  return Math.pow(r / 100, activeShares);
}

export class ShareUsage {
  /** value: the decayed average; seen: how much of it is history rather than the zero it started from */
  private readonly avg = new Map<string, { value: number; seen: number; at: number }>();

  /**
   * Advances the decayed average of one share to `now` with the vCPUs it runs now, and
   * returns it. `dilation` speeds the decay up as it speeds every other clock.
   */
  observe(queue: string, share: string, running: number, now: number, policy: FairsharePolicy | undefined, dilation: number): number {
    const key = `${queue}\u0000${share}`;
    const tau = ((policy?.shareDecaySeconds || DEFAULT_DECAY_SECONDS) * 1000) / dilation;
    const prev = this.avg.get(key);
    if (!prev) {
      this.avg.set(key, { value: 0, seen: 0, at: now });
      return running;
    }
    const dt = Math.max(now - prev.at, 0);
    const keep = Math.exp(-dt / tau);
    const value = prev.value * keep + running * (1 - keep);
    const seen = prev.seen * keep + (1 - keep);
    this.avg.set(key, { value, seen, at: now });
    // Bias-corrected: early on the average is of the time observed, not diluted by the zero it
    // started from, so it is in vCPUs like the placements it is compared with.
    return seen > 0 ? value / seen : running;
  }
}
