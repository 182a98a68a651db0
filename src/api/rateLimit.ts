/**
 * Request rate limits per access key: a token bucket each, refilled at `perSecond` up to
 * `burst`. A request that finds its bucket empty gets AWS's throttling answer (429
 * TooManyRequestsException), which the SDKs retry with backoff on their own.
 *
 * Buckets live in this process: with several control planes each limits what it serves.
 * The key is the verified access key id; without configured credentials it is whatever id
 * the request claims, so the table is bounded (full buckets are forgotten first) against a
 * client that invents a new id per request.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
    private readonly maxKeys = 10_000,
  ) {}

  /** Takes one request's token for `key`; false when the key is over its rate. */
  take(key: string): boolean {
    if (this.perSecond <= 0) return true;
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.forgetFull(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private forgetFull(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(k);
    }
    // Every bucket busy: forget the oldest rather than grow without bound.
    if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
  }
}
